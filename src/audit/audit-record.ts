/**
 * Turns an event as recorded into the record every sink writes: names redacted or
 * truncated, text made safe for every sink, and serialized once. It runs on the drain,
 * off the request path, and once per event however many sinks there are.
 */

import type { AuditEvent, RequestEvent } from "./audit-event.js";
import type { ResourceRedaction } from "./resource-redaction.js";

/** Maximum length of a resource name written in full. Longer names were rejected by the request limits anyway. */
export const MAX_AUDIT_RESOURCE_CHARS = 4096;
/** Maximum number of names written for one batch request. The record counts the rest in resources_omitted. */
export const MAX_AUDIT_RESOURCES = 1000;

/** An event ready for the sinks. */
export interface AuditRecord {
  readonly event: AuditEvent;
  /** The event as one line of JSON, without the newline. */
  readonly json: string;
}

export interface RecordPreparation {
  /** Set when audit.redact_resources is on. */
  redaction: ResourceRedaction | undefined;
}

/** A written request record. When the resource list was cut, resources_omitted counts the names left out. */
export type WrittenRequestEvent = RequestEvent & { resources_omitted?: number };

const LONE_SURROGATE = /[\uD800-\uDBFF](?![\uDC00-\uDFFF])|(?<![\uD800-\uDBFF])[\uDC00-\uDFFF]/g;

/**
 * Replaces NUL and unpaired UTF-16 surrogates with U+FFFD. PostgreSQL text and jsonb
 * reject both, and a JSON-encoded request can carry them in a key it names, so every
 * sink gets the same text that PostgreSQL can store.
 */
export function sanitizeText(text: string): string {
  return text.replaceAll("\u0000", "\uFFFD").replace(LONE_SURROGATE, "\uFFFD");
}

export function prepareRecord(event: AuditEvent, preparation: RecordPreparation): AuditRecord {
  const prepared = event.event === "request" ? prepareRequest(event, preparation) : sanitizeFields(event);
  return { event: prepared, json: JSON.stringify(prepared) };
}

function prepareRequest(event: RequestEvent, preparation: RecordPreparation): WrittenRequestEvent {
  const written: WrittenRequestEvent = sanitizeFields(event);
  const resource = event.resource;
  if (resource === null) {
    return written;
  }

  if (typeof resource === "string") {
    written.resource = prepareResource(resource, preparation);
    return written;
  }

  const kept = resource.slice(0, MAX_AUDIT_RESOURCES);
  written.resource = kept.map((name) => prepareResource(name, preparation));
  if (resource.length > kept.length) {
    written.resources_omitted = resource.length - kept.length;
  }
  return written;
}

function prepareResource(name: string, preparation: RecordPreparation): string {
  if (preparation.redaction !== undefined) {
    return preparation.redaction.redact(name);
  }
  if (name.length <= MAX_AUDIT_RESOURCE_CHARS) {
    return sanitizeText(name);
  }
  return `${sanitizeText(name.slice(0, MAX_AUDIT_RESOURCE_CHARS))}…[truncated from ${name.length} characters]`;
}

/** Copies the event with every string field sanitized; the resource is handled by the caller. */
function sanitizeFields<E extends AuditEvent>(event: E): E {
  const entries = Object.entries(event).map(([field, value]: [string, unknown]) =>
    typeof value === "string" && field !== "resource" ? [field, sanitizeText(value)] : [field, value],
  );
  return Object.fromEntries(entries) as E;
}
