import type { AuditRecord } from "./audit-record.js";

/**
 * A destination of the audit trail. The AuditLog calls write() with one batch at a time
 * per sink, never concurrently, and retries the same batch after a rejection, so a sink
 * delivers each record at least once.
 */
export interface AuditSink {
  /** Label in metrics and logs, such as "stdout", "file" or "postgres". */
  readonly name: string;
  /** Destination of the sink for log messages, without credentials. */
  readonly target: string;
  /** Resolves once every record of the batch is stored as the sink's durability policy requires. */
  write(records: readonly AuditRecord[]): Promise<void>;
  /** Releases files, streams or connections. Idempotent. */
  close(): Promise<void>;
}
