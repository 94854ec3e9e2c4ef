import type { AuditLog } from "../audit/audit-log.js";
import { auditErrorCode, requestEvent } from "../audit/audit-event.js";
import type { Principal } from "../auth/principal.js";
import type { PrismError } from "../errors/prism-error.js";
import type { Session } from "../sessions/session-registry.js";
import type { Tenant } from "../tenancy/tenant-registry.js";
import type { Action } from "./request-scope.js";

/** Returns the key, keys or topic a request names, for the audit record's resource field. */
export function requestResource(request: unknown): string | readonly string[] | null {
  if (typeof request !== "object" || request === null) {
    return null;
  }
  if ("key" in request && typeof request.key === "string") {
    return request.key;
  }
  if ("topic" in request && typeof request.topic === "string") {
    return request.topic;
  }
  if ("keys" in request && Array.isArray(request.keys)) {
    return request.keys.filter((key): key is string => typeof key === "string");
  }
  if ("requests" in request && Array.isArray(request.requests)) {
    return request.requests.flatMap((entry: unknown) =>
      typeof entry === "object" && entry !== null && "key" in entry && typeof entry.key === "string" ? [entry.key] : [],
    );
  }
  return null;
}

/**
 * The audit record of one request, filled in as the pipeline resolves who made it, so a
 * rejected request is still recorded with everything known by then.
 */
export class RequestTrail {
  readonly #arrivedAt = Date.now();
  readonly #startedAt = performance.now();
  #principal: Principal | undefined;
  #tenant: Tenant | undefined;
  #namespace: string | undefined;
  #session: Session | undefined;

  constructor(
    private readonly audit: AuditLog,
    private readonly action: Action,
    private readonly requestId: string,
    private readonly request: unknown,
  ) {}

  authenticated(principal: Principal): void {
    this.#principal = principal;
  }

  resolved(tenant: Tenant, namespace: string): void {
    this.#tenant = tenant;
    this.#namespace = namespace;
  }

  joined(session: Session): void {
    this.#session = session;
  }

  /** Records the request's outcome when audit.log_requests is on. */
  finish(failure: PrismError | undefined): void {
    if (!this.audit.records("request")) {
      return;
    }
    this.audit.record(
      requestEvent(
        {
          tenant_id: this.#tenant?.id ?? this.#principal?.tenantId ?? null,
          namespace: this.#namespace ?? null,
          session_id: this.#session?.id ?? null,
          user_id: this.#principal?.name ?? null,
          action: this.action,
          resource: requestResource(this.request),
          result: failure === undefined ? "success" : "failure",
          ...(failure === undefined ? {} : { error_code: auditErrorCode(failure.code) }),
          duration_ms: performance.now() - this.#startedAt,
          request_id: this.requestId,
        },
        this.#arrivedAt,
      ),
    );
  }
}
