import type { Writable } from "node:stream";

import type { AuditConfig, AuditSinkConfig } from "../config/model.js";
import { Code, PrismError } from "../errors/prism-error.js";
import type { Logger } from "../observability/logger.js";
import { parseAuditDestination } from "./audit-destination.js";
import { AuditLog } from "./audit-log.js";
import type { AuditSink } from "./audit-sink.js";
import { FileSink } from "./file-sink.js";
import { PostgresSink } from "./postgres-sink.js";
import { ResourceRedaction } from "./resource-redaction.js";
import { StreamSink } from "./stream-sink.js";

export interface AuditLogEnvironment {
  logger: Logger;
  /** Stream of "stdout" sinks; default process.stdout. Tests pass their own. */
  stdout?: Writable;
}

/**
 * Builds the proxy's audit log from proxy.audit. Without an audit section the log has
 * no sinks: record() ignores every event and accepting() stays true. Throws a
 * PrismError when the configuration names a destination this build cannot write to,
 * so the proxy refuses to start rather than run without its audit trail.
 */
export function createAuditLog(config: AuditConfig | undefined, environment: AuditLogEnvironment): AuditLog {
  if (config === undefined) {
    return new AuditLog({ sinks: [], logger: environment.logger });
  }

  const redaction = config.redact_resources ? createRedaction(config.redaction_key) : undefined;
  const sinks: AuditSink[] = [];
  try {
    for (const sinkConfig of config.sinks) {
      sinks.push(createSink(sinkConfig, environment));
    }
  } catch (error) {
    // Sinks built before the failure hold connections or listeners.
    void Promise.all(sinks.map((sink) => sink.close().catch(() => undefined)));
    throw error;
  }

  return new AuditLog({
    sinks,
    logger: environment.logger,
    overflowPolicy: config.overflow_policy,
    queueCapacity: config.queue_capacity,
    batchSize: config.batch_size,
    closeTimeoutMs: config.flush_timeout,
    ...(redaction === undefined ? {} : { redaction }),
    events: {
      session: config.log_session_lifecycle,
      connection: config.log_connection_lifecycle,
      request: config.log_requests,
    },
  });
}

function createRedaction(key: string | undefined): ResourceRedaction {
  if (key === undefined) {
    throw startupError(
      "proxy.audit.redact_resources is true but proxy.audit.redaction_key is not set. Set redaction_key to a ${VAR} reference to a secret of at least 16 bytes",
    );
  }
  try {
    return new ResourceRedaction(key);
  } catch (error) {
    throw startupError(`proxy.audit.redaction_key is unusable: ${error instanceof Error ? error.message : String(error)}`);
  }
}

function createSink(config: AuditSinkConfig, environment: AuditLogEnvironment): AuditSink {
  const parsed = parseAuditDestination(config.url);
  if (!parsed.ok) {
    throw startupError(`audit sink ${JSON.stringify(config.name)}: ${parsed.error}`);
  }

  const destination = parsed.destination;
  switch (destination.kind) {
    case "stdout":
      return new StreamSink({ name: config.name, ...(environment.stdout === undefined ? {} : { stream: environment.stdout }) });
    case "file":
      return new FileSink({
        path: destination.path,
        name: config.name,
        ...(config.max_file_bytes === undefined ? {} : { maxFileBytes: config.max_file_bytes }),
        ...(config.max_files === undefined ? {} : { maxFiles: config.max_files }),
        ...(config.fsync === undefined ? {} : { fsync: config.fsync }),
      });
    case "postgres":
      return new PostgresSink({
        url: destination.url,
        name: config.name,
        logger: environment.logger.child({ component: "audit", sink: config.name }),
        ...(config.schema === undefined ? {} : { schema: config.schema }),
        ...(config.password === undefined ? {} : { password: config.password }),
      });
    case "object_store":
      throw startupError(objectStoreMessage(config.name, destination.scheme));
  }
}

/** Returns the startup error message for s3:// and gs:// destinations, with the two setups that work instead. */
export function objectStoreMessage(sinkName: string, scheme: "s3" | "gs"): string {
  return (
    `audit sink ${JSON.stringify(sinkName)} uses a ${scheme}:// URL, but this build of Prism has no object-store sink ` +
    `and does not upload audit events. Write the audit trail to a file instead ` +
    `(audit_backend: file:///var/log/prism/audit.jsonl) and ship the file and its rotated copies to ${scheme === "s3" ? "S3" : "Google Cloud Storage"} ` +
    `with a log shipping agent such as Fluent Bit or Vector, or write it to PostgreSQL (audit_backend: postgres://…)`
  );
}

function startupError(message: string): PrismError {
  return new PrismError(Code.FailedPrecondition, "INVALID_ARGUMENT", message);
}
