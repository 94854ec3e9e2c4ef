/**
 * The settings of one backend's pools, resolved once from connection_pools and
 * session_management, with the defaults of pool-defaults.ts for absent keys.
 */

import { DEFAULT_CONNECTION_REUSE } from "../config/defaults.js";
import { MAX_DURATION_MS } from "../config/quantities.js";
import type { BackendPoolConfig, ConnectionPoolsConfig, SessionManagementConfig } from "../config/model.js";
import {
  DEFAULT_ACQUIRE_TIMEOUT_MS,
  DEFAULT_CLOSE_TIMEOUT_MS,
  DEFAULT_CONNECTIONS_PER_NAMESPACE,
  DEFAULT_IDLE_CONNECTION_TIMEOUT_MS,
  DEFAULT_IDLE_POOL_TIMEOUT_MS,
  DEFAULT_MAX_CONNECTIONS,
  DEFAULT_MAX_TOTAL_CONNECTIONS,
  DEFAULT_PER_NAMESPACE,
  DEFAULT_PER_SESSION_LIMIT,
  DEFAULT_SESSION_CLOSE_GRACE_MS,
  DEFAULT_SHARED,
} from "./pool-defaults.js";

/** A backend kind that has a section under connection_pools. */
export type PooledBackend = "redis" | "nats" | "postgres" | "kafka";

export interface PoolPolicySettings {
  /** connection_pools.<backend>.max_connections: the shared pool's size, and the total of all session connections. */
  maxConnections: number;
  /** connection_pools.<backend>.shared, else connection_pools.shared: false rejects isolation level none. */
  shared: boolean;
  /** connection_pools.<backend>.connections_per_namespace: each namespace pool's size. */
  connectionsPerNamespace: number;
  /** connection_pools.<backend>.max_total_connections: the total of all namespace pools. */
  maxTotalConnections: number;
  /** connection_pools.per_namespace: false rejects isolation level namespace. */
  perNamespace: boolean;
  /** connection_pools.<backend>.per_session_limit: the maximum connections of one session. */
  perSessionLimit: number;
  /** session_management.connection_reuse; session isolation never shares a connection between sessions either way. */
  connectionReuse: boolean;
  /** idle_pool_timeout: time an unused namespace or session pool stays open, in milliseconds. */
  idlePoolTimeoutMs: number;
  /** Time an acquire waits in a pool's queue, in milliseconds. */
  acquireTimeoutMs: number;
  /** Time an idle connection stays open, in milliseconds. */
  idleTimeoutMs: number;
  /** Time close() waits for leased connections, in milliseconds. */
  closeTimeoutMs: number;
  /** Time closeSession() waits for the session's leased connections, in milliseconds. */
  sessionCloseGraceMs: number;
}

/**
 * Durations that a caller passes in: the proxy maps connection_pools.idle_pool_timeout,
 * acquire_timeout and idle_connection_timeout here; the close timeouts have no YAML key.
 */
export type PoolTimingSettings = Partial<
  Pick<PoolPolicySettings, "idlePoolTimeoutMs" | "acquireTimeoutMs" | "idleTimeoutMs" | "closeTimeoutMs" | "sessionCloseGraceMs">
>;

/** Resolves the pool settings of one backend kind; absent keys take their DEFAULT_* value. */
export function resolvePoolPolicySettings(
  backend: PooledBackend,
  pools: ConnectionPoolsConfig | undefined,
  sessions: Pick<SessionManagementConfig, "connection_reuse"> | undefined,
  timing: PoolTimingSettings = {},
): PoolPolicySettings {
  const section: BackendPoolConfig = pools?.[backend] ?? {};

  return {
    maxConnections: section.max_connections ?? DEFAULT_MAX_CONNECTIONS,
    shared: section.shared ?? pools?.shared ?? DEFAULT_SHARED,
    connectionsPerNamespace: section.connections_per_namespace ?? DEFAULT_CONNECTIONS_PER_NAMESPACE,
    maxTotalConnections: section.max_total_connections ?? DEFAULT_MAX_TOTAL_CONNECTIONS,
    perNamespace: pools?.per_namespace ?? DEFAULT_PER_NAMESPACE,
    perSessionLimit: section.per_session_limit ?? DEFAULT_PER_SESSION_LIMIT,
    connectionReuse: sessions?.connection_reuse ?? DEFAULT_CONNECTION_REUSE,
    idlePoolTimeoutMs: timing.idlePoolTimeoutMs ?? DEFAULT_IDLE_POOL_TIMEOUT_MS,
    acquireTimeoutMs: timing.acquireTimeoutMs ?? DEFAULT_ACQUIRE_TIMEOUT_MS,
    idleTimeoutMs: timing.idleTimeoutMs ?? DEFAULT_IDLE_CONNECTION_TIMEOUT_MS,
    closeTimeoutMs: timing.closeTimeoutMs ?? DEFAULT_CLOSE_TIMEOUT_MS,
    sessionCloseGraceMs: timing.sessionCloseGraceMs ?? DEFAULT_SESSION_CLOSE_GRACE_MS,
  };
}

/**
 * Throws a RangeError naming the first setting that no pool could run with: a count
 * below 1, a duration below 0 (or an acquire timeout of 0), or a duration longer than
 * Node.js timers support.
 */
export function checkPoolPolicySettings(settings: PoolPolicySettings): void {
  const counts = {
    maxConnections: settings.maxConnections,
    connectionsPerNamespace: settings.connectionsPerNamespace,
    maxTotalConnections: settings.maxTotalConnections,
    perSessionLimit: settings.perSessionLimit,
    acquireTimeoutMs: settings.acquireTimeoutMs,
  };
  for (const [name, value] of Object.entries(counts)) {
    if (!Number.isInteger(value) || value < 1) {
      throw new RangeError(`pool setting ${name} must be an integer of at least 1, got ${value}`);
    }
  }

  const durations = {
    acquireTimeoutMs: settings.acquireTimeoutMs,
    idlePoolTimeoutMs: settings.idlePoolTimeoutMs,
    idleTimeoutMs: settings.idleTimeoutMs,
    closeTimeoutMs: settings.closeTimeoutMs,
    sessionCloseGraceMs: settings.sessionCloseGraceMs,
  };
  for (const [name, value] of Object.entries(durations)) {
    if (!Number.isInteger(value) || value < 0 || value > MAX_DURATION_MS) {
      throw new RangeError(`pool setting ${name} must be a whole number of milliseconds from 0 to ${MAX_DURATION_MS}, got ${value}`);
    }
  }
}
