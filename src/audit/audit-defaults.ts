/**
 * Defaults of the audit trail, shared by the configuration schema (proxy.audit) and by
 * the AuditLog and sink options, so both apply the same values.
 */

export type OverflowPolicy = "drop" | "reject";

/**
 * Policy for the file sink's fsync calls. With "batch" the sink calls fsync after every
 * batch it writes (and on the directory after a rotation), so an event counted as
 * written survives a power loss. "never" leaves flushing to the operating system, which
 * is faster and can lose the last seconds of events when the machine fails.
 */
export type FsyncPolicy = "batch" | "never";

export const DEFAULT_AUDIT_LOG_SESSION_LIFECYCLE = true;
export const DEFAULT_AUDIT_LOG_CONNECTION_LIFECYCLE = true;
export const DEFAULT_AUDIT_LOG_REQUESTS = true;

/**
 * Drop rather than reject by default: a stalled sink then costs audit events, each one
 * counted and warned about, but not the availability of every tenant.
 */
export const DEFAULT_OVERFLOW_POLICY: OverflowPolicy = "drop";
/** Capacity of each sink's queue, in events, before the overflow policy applies. */
export const DEFAULT_AUDIT_QUEUE_CAPACITY = 10_000;
/** Maximum number of events passed to one sink write. */
export const DEFAULT_AUDIT_BATCH_SIZE = 500;
/** Time close() waits for the sinks to store what is queued. */
export const DEFAULT_AUDIT_FLUSH_TIMEOUT_MS = 5000;
export const DEFAULT_AUDIT_REDACT_RESOURCES = false;

/** Size at which the file sink rotates the active file: 100 MiB. */
export const DEFAULT_AUDIT_MAX_FILE_BYTES = 100 * 1024 * 1024;
/** Rotated files the file sink keeps next to the active one. */
export const DEFAULT_AUDIT_MAX_FILES = 10;
export const DEFAULT_AUDIT_FSYNC: FsyncPolicy = "batch";

/** Time the PostgreSQL sink waits to open a connection before the batch counts as failed. */
export const DEFAULT_AUDIT_POSTGRES_CONNECT_TIMEOUT_MS = 5000;
/** Server-side limit of each statement of the PostgreSQL sink. */
export const DEFAULT_AUDIT_POSTGRES_STATEMENT_TIMEOUT_MS = 10_000;
