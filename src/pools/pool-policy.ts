/**
 * The pools of one backend kind, arranged by isolation level:
 *
 * - none: one shared pool of max_connections, used by every namespace.
 * - namespace: one pool of connections_per_namespace per namespace, created on the
 *   namespace's first acquire and closed once it has stayed unused for the idle pool
 *   timeout. Together these pools hold at most max_total_connections.
 * - session: one pool of per_session_limit per session, so a connection serves one
 *   session only and is closed by closeSession(). The shared pool and all session pools
 *   together hold at most max_connections.
 *
 * Totals are enforced by capacity budgets, so a pool waits for a slot rather than take a
 * connection that another pool opened.
 */

import type { IsolationLevel } from "../config/model.js";
import { toPrismError } from "../errors/prism-error.js";
import type { Logger } from "../observability/logger.js";
import { CapacityBudget, type CapacityBudgetStats } from "./capacity-budget.js";
import type { ConnectionFactory } from "./connection-factory.js";
import { ConnectionPool } from "./connection-pool.js";
import type { Lease } from "./lease.js";
import { levelDisabledError, poolClosedError, sessionIdMissingError } from "./pool-errors.js";
import type { PoolEvent } from "./pool-events.js";
import type { PoolCloseOptions } from "./pool-options.js";
import { checkPoolPolicySettings, type PooledBackend, type PoolPolicySettings } from "./pool-settings.js";
import type { PoolStats } from "./pool-stats.js";

/** The request fields that select a pool: isolation level, namespace and session. */
export interface PoolTarget {
  level: IsolationLevel;
  namespace: string;
  /** Required at level session. */
  sessionId?: string;
}

export interface PoolRequest extends PoolTarget {
  /** Aborting it removes the request from the pool's wait queue. */
  signal?: AbortSignal;
}

/** A pool event with the labels of the pool that emitted it. */
export type PolicyPoolEvent = PoolEvent & {
  backend: PooledBackend;
  level: IsolationLevel;
  /** The namespace of a namespace pool, or of the request that created a session pool. */
  namespace?: string;
  session_id?: string;
};

export interface PoolPolicyOptions<C> {
  backend: PooledBackend;
  settings: PoolPolicySettings;
  /** Returns the factory for a new pool, given the request that makes the policy create it. */
  factoryFor: (target: PoolTarget) => ConnectionFactory<C>;
  logger: Logger;
  /** Receives the lifecycle events of every pool. A listener that throws is logged and ignored. */
  onEvent?: (event: PolicyPoolEvent) => void;
}

export interface PolicyPoolStats extends PoolStats {
  level: IsolationLevel;
  namespace?: string;
  sessionId?: string;
}

export interface PoolPolicyStats {
  backend: PooledBackend;
  /** Every pool, including those still closing. */
  pools: PolicyPoolStats[];
  /** The max_connections budget (shared pool and sessions), then the max_total_connections budget (namespaces). */
  budgets: CapacityBudgetStats[];
}

interface PoolLabels {
  level: IsolationLevel;
  namespace: string | undefined;
  sessionId: string | undefined;
}

/** One pool of the policy, with the timer that closes it once it stays unused. */
class PolicyPool<C> {
  idleTimer: NodeJS.Timeout | undefined;

  constructor(
    readonly pool: ConnectionPool<C>,
    readonly labels: PoolLabels,
  ) {}
}

export class PoolPolicy<C> implements AsyncDisposable {
  readonly backend: PooledBackend;
  readonly #settings: PoolPolicySettings;
  readonly #factoryFor: (target: PoolTarget) => ConnectionFactory<C>;
  readonly #log: Logger;
  readonly #onEvent: ((event: PolicyPoolEvent) => void) | undefined;
  /** max_connections: the shared pool and every session pool. */
  readonly #connectionBudget: CapacityBudget;
  /** max_total_connections: every namespace pool. */
  readonly #namespaceBudget: CapacityBudget;

  #shared: PolicyPool<C> | undefined;
  readonly #namespaces = new Map<string, PolicyPool<C>>();
  readonly #sessions = new Map<string, PolicyPool<C>>();
  /** Pools removed from the maps and still closing. */
  readonly #retiring = new Map<PolicyPool<C>, Promise<void>>();
  #reuseWarned = false;
  #closing: Promise<void> | undefined;

  constructor(options: PoolPolicyOptions<C>) {
    this.backend = options.backend;
    this.#settings = options.settings;
    this.#factoryFor = options.factoryFor;
    this.#log = options.logger.child({ component: "pool-policy", backend: options.backend });
    this.#onEvent = options.onEvent;
    checkPoolPolicySettings(options.settings);
    this.#connectionBudget = new CapacityBudget({
      limit: options.settings.maxConnections,
      limitKey: this.#key("max_connections"),
      logger: this.#log,
    });
    this.#namespaceBudget = new CapacityBudget({
      limit: options.settings.maxTotalConnections,
      limitKey: this.#key("max_total_connections"),
      logger: this.#log,
    });
  }

  /**
   * Lends a connection from the pool that the request's isolation level selects,
   * creating that pool on first use. Rejects as ConnectionPool.acquire does, and with
   * FAILED_PRECONDITION when the configuration switched the level's pools off.
   */
  acquire(request: PoolRequest): Promise<Lease<C>> {
    if (this.#closing !== undefined) {
      return Promise.reject(poolClosedError(`${this.backend}/${request.level}`));
    }

    let entry: PolicyPool<C>;
    try {
      entry = this.#poolFor(request);
    } catch (error: unknown) {
      return Promise.reject(toPrismError(error));
    }

    return entry.pool.acquire(request.signal === undefined ? {} : { signal: request.signal });
  }

  /**
   * Closes every connection of the session, waiting at most the session close grace for
   * leased ones, and resolves once all are closed. Does nothing for an unknown session.
   * A later acquire for the same session id opens new connections in a new pool.
   */
  closeSession(sessionId: string): Promise<void> {
    const entry = this.#sessions.get(sessionId);
    if (entry === undefined) {
      return this.#retiringSession(sessionId) ?? Promise.resolve();
    }

    this.#sessions.delete(sessionId);
    return this.#retire(entry, { reason: "session_destroyed", timeoutMs: this.#settings.sessionCloseGraceMs });
  }

  stats(): PoolPolicyStats {
    const entries = [...this.#entries(), ...this.#retiring.keys()];
    return {
      backend: this.backend,
      pools: entries.map((entry) => ({
        ...entry.pool.stats(),
        level: entry.labels.level,
        ...(entry.labels.namespace === undefined ? {} : { namespace: entry.labels.namespace }),
        ...(entry.labels.sessionId === undefined ? {} : { sessionId: entry.labels.sessionId }),
      })),
      budgets: [this.#connectionBudget.stats(), this.#namespaceBudget.stats()],
    };
  }

  /** Closes every pool and resolves once every connection is closed. Idempotent. */
  close(): Promise<void> {
    this.#closing ??= this.#close();
    return this.#closing;
  }

  [Symbol.asyncDispose](): Promise<void> {
    return this.close();
  }

  #poolFor(request: PoolRequest): PolicyPool<C> {
    switch (request.level) {
      case "none":
        if (!this.#settings.shared) {
          throw levelDisabledError(`${this.#key("shared")} (or connection_pools.shared)`, request.level, request.namespace);
        }
        this.#shared ??= this.#createPool(request, { level: "none", namespace: undefined, sessionId: undefined });
        return this.#shared;

      case "namespace":
        if (!this.#settings.perNamespace) {
          throw levelDisabledError("connection_pools.per_namespace", request.level, request.namespace);
        }
        return this.#existingOrNew(this.#namespaces, request.namespace, request, {
          level: "namespace",
          namespace: request.namespace,
          sessionId: undefined,
        });

      case "session":
        if (request.sessionId === undefined) {
          throw sessionIdMissingError(this.backend);
        }
        this.#warnAboutReuseOnce();
        return this.#existingOrNew(this.#sessions, request.sessionId, request, {
          level: "session",
          namespace: request.namespace,
          sessionId: request.sessionId,
        });
    }
  }

  #existingOrNew(pools: Map<string, PolicyPool<C>>, key: string, target: PoolTarget, labels: PoolLabels): PolicyPool<C> {
    const existing = pools.get(key);
    if (existing !== undefined) {
      return existing;
    }
    const created = this.#createPool(target, labels);
    pools.set(key, created);
    return created;
  }

  #createPool(target: PoolTarget, labels: PoolLabels): PolicyPool<C> {
    const settings = this.#settings;
    const shape = this.#shapeOf(labels);
    const holder: { entry?: PolicyPool<C> } = {};

    const pool = new ConnectionPool<C>({
      name: shape.name,
      factory: this.#factoryFor(target),
      maxSize: shape.maxSize,
      limitKey: shape.limitKey,
      budget: shape.budget,
      acquireTimeoutMs: settings.acquireTimeoutMs,
      idleTimeoutMs: settings.idleTimeoutMs,
      closeTimeoutMs: settings.closeTimeoutMs,
      logger: this.#log.child(loggerBindings(labels)),
      onEvent: (event) => this.#emit(event, labels),
      // The shared pool stays open for the life of the policy.
      ...(labels.level === "none" ? {} : { onUnused: () => this.#scheduleIdleClose(holder.entry) }),
    });

    holder.entry = new PolicyPool(pool, labels);
    return holder.entry;
  }

  #shapeOf(labels: PoolLabels): { name: string; maxSize: number; limitKey: string; budget: CapacityBudget } {
    const settings = this.#settings;
    switch (labels.level) {
      case "none":
        return {
          name: `${this.backend}/shared`,
          maxSize: settings.maxConnections,
          limitKey: this.#key("max_connections"),
          budget: this.#connectionBudget,
        };
      case "namespace":
        return {
          name: `${this.backend}/namespace/${labels.namespace}`,
          maxSize: settings.connectionsPerNamespace,
          limitKey: this.#key("connections_per_namespace"),
          budget: this.#namespaceBudget,
        };
      case "session":
        return {
          name: `${this.backend}/session/${labels.sessionId}`,
          maxSize: settings.perSessionLimit,
          limitKey: this.#key("per_session_limit"),
          budget: this.#connectionBudget,
        };
    }
  }

  /**
   * Starts, or restarts, the countdown to closing an unused pool. A pool that is in use
   * when the countdown ends stays open, and its next unused moment starts a new one.
   */
  #scheduleIdleClose(entry: PolicyPool<C> | undefined): void {
    if (entry === undefined || this.#closing !== undefined) {
      return;
    }
    if (entry.idleTimer !== undefined) {
      entry.idleTimer.refresh();
      return;
    }
    // Unref'd: an unused pool alone must not keep the process alive.
    entry.idleTimer = setTimeout(() => this.#closeIfStillUnused(entry), this.#settings.idlePoolTimeoutMs).unref();
  }

  #closeIfStillUnused(entry: PolicyPool<C>): void {
    entry.idleTimer = undefined;
    const { labels, pool } = entry;
    const pools = labels.level === "session" ? this.#sessions : this.#namespaces;
    const key = labels.level === "session" ? labels.sessionId : labels.namespace;
    if (!pool.unused || key === undefined || pools.get(key) !== entry) {
      return;
    }

    pools.delete(key);
    this.#log.info({ pool: pool.name, idlePoolTimeoutMs: this.#settings.idlePoolTimeoutMs }, "closing a pool that stayed unused");
    void this.#retire(entry, { reason: "pool_idle" });
  }

  /** Closes a pool that was already removed from the maps; close() waits for it too. */
  #retire(entry: PolicyPool<C>, options: PoolCloseOptions): Promise<void> {
    clearTimeout(entry.idleTimer);
    entry.idleTimer = undefined;
    const closed = entry.pool.close(options).finally(() => this.#retiring.delete(entry));
    this.#retiring.set(entry, closed);
    return closed;
  }

  #retiringSession(sessionId: string): Promise<void> | undefined {
    for (const [entry, closed] of this.#retiring) {
      if (entry.labels.sessionId === sessionId) {
        return closed;
      }
    }
    return undefined;
  }

  async #close(): Promise<void> {
    const entries = this.#entries();
    this.#shared = undefined;
    this.#namespaces.clear();
    this.#sessions.clear();

    for (const entry of entries) {
      void this.#retire(entry, { reason: "shutdown" });
    }
    await Promise.all(this.#retiring.values());
    this.#log.info({ pools: entries.length }, "closed every connection pool");
  }

  #entries(): PolicyPool<C>[] {
    return [...(this.#shared === undefined ? [] : [this.#shared]), ...this.#namespaces.values(), ...this.#sessions.values()];
  }

  #warnAboutReuseOnce(): void {
    if (!this.#settings.connectionReuse || this.#reuseWarned) {
      return;
    }
    this.#reuseWarned = true;
    this.#log.warn(
      "session_management.connection_reuse is true, but isolation level session never lets two sessions share a connection; set it to false to match",
    );
  }

  #emit(event: PoolEvent, labels: PoolLabels): void {
    this.#onEvent?.({
      ...event,
      backend: this.backend,
      level: labels.level,
      ...(labels.namespace === undefined ? {} : { namespace: labels.namespace }),
      ...(labels.sessionId === undefined ? {} : { session_id: labels.sessionId }),
    });
  }

  #key(name: string): string {
    return `connection_pools.${this.backend}.${name}`;
  }
}

function loggerBindings(labels: PoolLabels): Record<string, string> {
  // "level" is pino's own field, so the isolation level goes under another name.
  return {
    isolationLevel: labels.level,
    ...(labels.namespace === undefined ? {} : { namespace: labels.namespace }),
    ...(labels.sessionId === undefined ? {} : { session: labels.sessionId }),
  };
}
