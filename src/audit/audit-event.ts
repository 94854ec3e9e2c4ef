/**
 * The records of the audit trail. Field names are snake_case because each event is
 * written as one JSON object, and operators query these names in files and in
 * PostgreSQL. Timestamps are ISO-8601 in UTC with milliseconds, as Date#toISOString
 * produces them ("2025-10-13T22:45:00.123Z").
 */

import { Code } from "../errors/prism-error.js";

/** Outcome of one request. */
export type AuditResult = "success" | "failure";

/** A session began: the first authenticated request of a principal on a client connection. */
export interface SessionCreatedEvent {
  event: "session_created";
  session_id: string;
  /** The authenticated principal's name; never a credential. */
  client_id: string;
  /** Namespace of the session's first request; later requests may use other namespaces. */
  namespace: string;
  tenant_id: string;
  timestamp: string;
}

/** A backend connection was opened for a session. */
export interface ConnectionEstablishedEvent {
  event: "connection_established";
  session_id: string;
  /** Backend kind, such as "redis", "nats" or "postgres". */
  backend: string;
  connection_id: string;
  timestamp: string;
}

/** A session's backend connection was closed. */
export interface ConnectionClosedEvent {
  event: "connection_closed";
  session_id: string;
  backend: string;
  connection_id: string;
  /** Time from connection_established to close. */
  duration_ms: number;
  /** Cause of the close, such as "session_destroyed", "backend_error" or "shutdown". */
  reason: string;
  timestamp: string;
}

/** A session ended because its client connection closed or idled out. */
export interface SessionDestroyedEvent {
  event: "session_destroyed";
  session_id: string;
  /** Time from session_created to the end of the session. */
  duration_ms: number;
  requests_handled: number;
  timestamp: string;
}

/**
 * One data request and its outcome. Fields that a failed request never reached are
 * null: a request rejected before authentication has no user_id, tenant_id or
 * session_id.
 */
export interface RequestEvent {
  event: "request";
  /** When the request arrived. */
  timestamp: string;
  tenant_id: string | null;
  /** The namespace the request named, once it resolved to a tenant; null before that. */
  namespace: string | null;
  session_id: string | null;
  /** The authenticated principal's name. */
  user_id: string | null;
  /** The operation, such as "kv.get" or "pubsub.publish". */
  action: string;
  /**
   * The key or topic the request named, or the list of keys of a batch operation. With
   * audit.redact_resources each name is replaced by its HMAC-SHA256 when written.
   */
  resource: string | readonly string[] | null;
  result: AuditResult;
  /** The failure's canonical gRPC code name (such as "PERMISSION_DENIED", see auditErrorCode), present only on failure. */
  error_code?: string;
  duration_ms: number;
  request_id: string;
}

export type AuditEvent =
  | SessionCreatedEvent
  | ConnectionEstablishedEvent
  | ConnectionClosedEvent
  | SessionDestroyedEvent
  | RequestEvent;

export type AuditEventType = AuditEvent["event"];

/** Every event type, in the order of a session's life. */
export const AUDIT_EVENT_TYPES: readonly AuditEventType[] = [
  "session_created",
  "connection_established",
  "request",
  "connection_closed",
  "session_destroyed",
];

/** Formats an instant as the audit trail's timestamp: ISO-8601, UTC, milliseconds. */
export function auditTimestamp(at: Date | number = Date.now()): string {
  return (typeof at === "number" ? new Date(at) : at).toISOString();
}

type Fields<E extends AuditEvent> = Omit<E, "event" | "timestamp">;

export function sessionCreatedEvent(fields: Fields<SessionCreatedEvent>, at?: Date | number): SessionCreatedEvent {
  return { event: "session_created", ...fields, timestamp: auditTimestamp(at) };
}

export function connectionEstablishedEvent(
  fields: Fields<ConnectionEstablishedEvent>,
  at?: Date | number,
): ConnectionEstablishedEvent {
  return { event: "connection_established", ...fields, timestamp: auditTimestamp(at) };
}

export function connectionClosedEvent(fields: Fields<ConnectionClosedEvent>, at?: Date | number): ConnectionClosedEvent {
  return { event: "connection_closed", ...fields, timestamp: auditTimestamp(at) };
}

export function sessionDestroyedEvent(fields: Fields<SessionDestroyedEvent>, at?: Date | number): SessionDestroyedEvent {
  return { event: "session_destroyed", ...fields, timestamp: auditTimestamp(at) };
}

/** Builds a request record; `at` is when the request arrived, so its timestamp orders it among session events. */
export function requestEvent(fields: Fields<RequestEvent>, at?: Date | number): RequestEvent {
  return { event: "request", timestamp: auditTimestamp(at), ...fields };
}

/** Tenant of an event, for sinks that index by tenant; undefined for events that do not carry one. */
export function tenantOf(event: AuditEvent): string | undefined {
  if (event.event === "session_created" || event.event === "request") {
    return event.tenant_id ?? undefined;
  }
  return undefined;
}

/** Namespace of an event, for sinks that index by namespace. */
export function namespaceOf(event: AuditEvent): string | undefined {
  if (event.event === "session_created" || event.event === "request") {
    return event.namespace ?? undefined;
  }
  return undefined;
}

/** Session of an event; undefined only for a request rejected before it had a session. */
export function sessionOf(event: AuditEvent): string | undefined {
  return event.session_id ?? undefined;
}

/** Canonical gRPC status names, as the gRPC specification spells them (CANCELLED with two Ls). */
const GRPC_CODE_NAMES: Readonly<Record<Code, string>> = {
  [Code.Canceled]: "CANCELLED",
  [Code.Unknown]: "UNKNOWN",
  [Code.InvalidArgument]: "INVALID_ARGUMENT",
  [Code.DeadlineExceeded]: "DEADLINE_EXCEEDED",
  [Code.NotFound]: "NOT_FOUND",
  [Code.AlreadyExists]: "ALREADY_EXISTS",
  [Code.PermissionDenied]: "PERMISSION_DENIED",
  [Code.ResourceExhausted]: "RESOURCE_EXHAUSTED",
  [Code.FailedPrecondition]: "FAILED_PRECONDITION",
  [Code.Aborted]: "ABORTED",
  [Code.OutOfRange]: "OUT_OF_RANGE",
  [Code.Unimplemented]: "UNIMPLEMENTED",
  [Code.Internal]: "INTERNAL",
  [Code.Unavailable]: "UNAVAILABLE",
  [Code.DataLoss]: "DATA_LOSS",
  [Code.Unauthenticated]: "UNAUTHENTICATED",
};

/** Returns the error_code of a failed request: the canonical gRPC name of its status code. */
export function auditErrorCode(code: Code): string {
  return GRPC_CODE_NAMES[code];
}
