/**
 * Lifecycle events of pooled connections, for the audit trail. Field names are
 * snake_case and match the audit records that carry them.
 */

/** The cause of a connection close. */
export type ConnectionCloseReason =
  /** The lease holder destroyed it after a failure. */
  | "backend_error"
  /** The factory reported it unhealthy when it was taken from or returned to the idle list. */
  | "unhealthy"
  /** It stayed idle longer than the pool's idle timeout. */
  | "idle_timeout"
  /** It was idle while another pool of the same capacity budget waited for a slot. */
  | "reclaimed"
  /** Its namespace or session pool was closed after staying unused for the idle pool timeout. */
  | "pool_idle"
  /** Its session ended. */
  | "session_destroyed"
  /** The pool was closed. */
  | "shutdown";

export interface ConnectionEstablishedEvent {
  event: "connection_established";
  pool: string;
  connection_id: string;
}

export interface ConnectionClosedEvent {
  event: "connection_closed";
  pool: string;
  connection_id: string;
  /** Time from the end of create() to the end of destroy(). */
  duration_ms: number;
  reason: ConnectionCloseReason;
}

export type PoolEvent = ConnectionEstablishedEvent | ConnectionClosedEvent;

export type PoolEventListener = (event: PoolEvent) => void;
