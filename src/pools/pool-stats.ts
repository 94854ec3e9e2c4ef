/** The counters a pool reports for metrics and health output. */

export type PoolState = "open" | "draining" | "closed";

export interface PoolStats {
  name: string;
  state: PoolState;
  /** Open connections: in use plus idle. */
  size: number;
  inUse: number;
  idle: number;
  /** Connections being opened. */
  opening: number;
  /** Connections being closed; they still count against maxSize and the budget. */
  closing: number;
  /** Acquires in the wait queue. */
  waiting: number;
  max: number;
  /** Connections opened since the pool was created. */
  created: number;
  /** Connections closed since the pool was created. */
  destroyed: number;
  /** Acquires that failed because the wait passed the acquire timeout. */
  timeouts: number;
  /** create() calls that failed. */
  failedOpens: number;
}
