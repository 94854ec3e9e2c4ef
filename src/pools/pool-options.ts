/** Options of ConnectionPool, of its acquire and of its close. */

import type { Logger } from "../observability/logger.js";
import type { CapacityBudget } from "./capacity-budget.js";
import type { ConnectionFactory } from "./connection-factory.js";
import type { ConnectionCloseReason, PoolEventListener } from "./pool-events.js";

export interface ConnectionPoolOptions<C> {
  /** Names the pool in logs, errors, events and stats, such as "redis/namespace/acme". */
  name: string;
  factory: ConnectionFactory<C>;
  /** Maximum connections at once, counting those being opened or closed. */
  maxSize: number;
  /** Configuration key that sets maxSize, named in RESOURCE_EXHAUSTED errors. */
  limitKey: string;
  /** Limit shared with other pools. Each connection of the pool takes one slot of it. */
  budget?: CapacityBudget;
  /** Time an acquire waits in the queue, in milliseconds; default DEFAULT_ACQUIRE_TIMEOUT_MS. */
  acquireTimeoutMs?: number;
  /** Time a connection stays idle before it is closed, in milliseconds; default DEFAULT_IDLE_CONNECTION_TIMEOUT_MS. */
  idleTimeoutMs?: number;
  /** Time close() waits for leased connections, in milliseconds; default DEFAULT_CLOSE_TIMEOUT_MS. */
  closeTimeoutMs?: number;
  logger: Logger;
  /** Receives connection_established and connection_closed. A listener that throws is logged and ignored. */
  onEvent?: PoolEventListener;
  /** Called when the pool becomes unused: no connection leased or being opened, and no request waiting. */
  onUnused?: () => void;
}

export interface AcquireOptions {
  /** Aborting it removes the request from the wait queue. */
  signal?: AbortSignal;
}

export interface PoolCloseOptions {
  /** Reason reported in the connection_closed events; default "shutdown". */
  reason?: ConnectionCloseReason;
  /** Overrides the pool's closeTimeoutMs for this close. */
  timeoutMs?: number;
}
