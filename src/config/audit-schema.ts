/**
 * The schema of proxy.audit. A file lists several destinations under `sinks`, or one
 * under the `audit_backend` shorthand. Without either, the audit trail goes to standard
 * output. The output always has a non-empty, resolved `sinks` list.
 */

import * as z from "zod";

import {
  DEFAULT_AUDIT_BATCH_SIZE,
  DEFAULT_AUDIT_FLUSH_TIMEOUT_MS,
  DEFAULT_AUDIT_LOG_CONNECTION_LIFECYCLE,
  DEFAULT_AUDIT_LOG_REQUESTS,
  DEFAULT_AUDIT_LOG_SESSION_LIFECYCLE,
  DEFAULT_AUDIT_QUEUE_CAPACITY,
  DEFAULT_AUDIT_REDACT_RESOURCES,
  DEFAULT_OVERFLOW_POLICY,
} from "../audit/audit-defaults.js";
import { defaultSinkName, parseAuditDestination, type AuditDestinationKind } from "../audit/audit-destination.js";
import { MIN_REDACTION_KEY_BYTES } from "../audit/resource-redaction.js";
import type { AuditConfig, AuditSinkConfig } from "./model.js";
import { validateAuditBackend } from "./names.js";
import { checkedString, durationMs, positiveByteSize, positiveInteger, strictObject } from "./schema-helpers.js";

const SINK_NAME = /^[a-z0-9][a-z0-9_-]{0,62}$/;
const SCHEMA_NAME = /^[a-z_][a-z0-9_]{0,62}$/;

function validateSinkName(name: string): string | undefined {
  if (SINK_NAME.test(name)) {
    return undefined;
  }
  return `invalid audit sink name ${JSON.stringify(name)}. A sink name is 1 to 63 characters of lowercase letters, digits, '-' and '_', starting with a letter or digit`;
}

function validateSchemaName(name: string): string | undefined {
  if (SCHEMA_NAME.test(name)) {
    return undefined;
  }
  return `invalid schema name ${JSON.stringify(name)}. Use a plain SQL identifier: 1 to 63 characters of lowercase letters, digits and '_', not starting with a digit`;
}

/** Keys that only one kind of sink takes. */
const KIND_KEYS: readonly { key: "max_file_bytes" | "max_files" | "fsync" | "schema" | "password"; kind: AuditDestinationKind }[] = [
  { key: "max_file_bytes", kind: "file" },
  { key: "max_files", kind: "file" },
  { key: "fsync", kind: "file" },
  { key: "schema", kind: "postgres" },
  { key: "password", kind: "postgres" },
];

const KIND_LABELS: Readonly<Record<AuditDestinationKind, string>> = {
  stdout: "stdout",
  file: "file://",
  postgres: "postgres://",
  object_store: "object-store",
};

const auditSinkSchema = strictObject({
  url: checkedString(validateAuditBackend),
  name: checkedString(validateSinkName).optional(),
  max_file_bytes: positiveByteSize().optional(),
  max_files: positiveInteger().optional(),
  fsync: z.enum(["batch", "never"]).optional(),
  schema: checkedString(validateSchemaName).optional(),
  password: z.string().optional(),
}).superRefine((sink, context) => {
  const parsed = parseAuditDestination(sink.url);
  if (!parsed.ok) {
    context.addIssue({ code: "custom", path: ["url"], message: parsed.error });
    return;
  }

  const kind = parsed.destination.kind;
  for (const { key, kind: owner } of KIND_KEYS) {
    if (sink[key] !== undefined && kind !== owner) {
      context.addIssue({
        code: "custom",
        path: [key],
        message: `${key} applies only to ${KIND_LABELS[owner]} sinks, and this sink is ${KIND_LABELS[kind]}. Remove ${key} or change url`,
      });
    }
  }
});

type ParsedSink = z.output<typeof auditSinkSchema>;

export const auditSchema = strictObject({
  log_connection_lifecycle: z.boolean().default(DEFAULT_AUDIT_LOG_CONNECTION_LIFECYCLE),
  log_session_lifecycle: z.boolean().default(DEFAULT_AUDIT_LOG_SESSION_LIFECYCLE),
  log_requests: z.boolean().default(DEFAULT_AUDIT_LOG_REQUESTS),
  audit_backend: checkedString(validateAuditBackend).optional(),
  sinks: z.array(auditSinkSchema).min(1).optional(),
  overflow_policy: z.enum(["drop", "reject"]).default(DEFAULT_OVERFLOW_POLICY),
  queue_capacity: positiveInteger().default(DEFAULT_AUDIT_QUEUE_CAPACITY),
  batch_size: positiveInteger().default(DEFAULT_AUDIT_BATCH_SIZE),
  flush_timeout: durationMs().default(DEFAULT_AUDIT_FLUSH_TIMEOUT_MS),
  redact_resources: z.boolean().default(DEFAULT_AUDIT_REDACT_RESOURCES),
  redaction_key: z.string().optional(),
})
  .superRefine((audit, context) => {
    if (audit.audit_backend !== undefined && audit.sinks !== undefined) {
      context.addIssue({
        code: "custom",
        path: ["audit_backend"],
        message: "audit_backend and sinks are both set. audit_backend is the shorthand for one sink, so move it into the sinks list as { url: ... }",
      });
    }

    if (audit.audit_backend !== undefined) {
      const parsed = parseAuditDestination(audit.audit_backend);
      if (!parsed.ok) {
        context.addIssue({ code: "custom", path: ["audit_backend"], message: parsed.error });
      }
    }

    const names = new Set<string>();
    (audit.sinks ?? []).forEach((sink, index) => {
      const name = resolvedSinkName(sink);
      if (names.has(name)) {
        context.addIssue({
          code: "custom",
          path: ["sinks", index, "name"],
          message: `another sink is already named ${JSON.stringify(name)}. Give each sink its own name, because the name labels its metrics`,
        });
      }
      names.add(name);
    });

    if (audit.redact_resources && audit.redaction_key === undefined) {
      context.addIssue({
        code: "custom",
        path: ["redaction_key"],
        message: "redact_resources is true, so redaction_key is required: a ${VAR} reference to a secret of at least 16 bytes, such as the output of \"openssl rand -hex 32\"",
      });
    }
    if (audit.redaction_key !== undefined && Buffer.byteLength(audit.redaction_key, "utf8") < MIN_REDACTION_KEY_BYTES) {
      // The key itself is never repeated, because it is a secret.
      context.addIssue({
        code: "custom",
        path: ["redaction_key"],
        message: `the redaction key is shorter than ${MIN_REDACTION_KEY_BYTES} bytes. Use a random secret of at least ${MIN_REDACTION_KEY_BYTES} bytes, such as the output of "openssl rand -hex 32"`,
      });
    }
  })
  .transform((audit): AuditConfig => {
    const { sinks, ...rest } = audit;
    const written: ParsedSink[] = sinks ?? [{ url: audit.audit_backend ?? "stdout" }];
    return { ...rest, sinks: written.map(resolveSink) };
  });

function resolvedSinkName(sink: ParsedSink): string {
  if (sink.name !== undefined) {
    return sink.name;
  }
  const parsed = parseAuditDestination(sink.url);
  return parsed.ok ? defaultSinkName(parsed.destination) : sink.url;
}

function resolveSink(sink: ParsedSink): AuditSinkConfig {
  return { ...sink, name: resolvedSinkName(sink) };
}
