import { randomUUID } from "node:crypto";
import type { HandlerContext } from "@connectrpc/connect";
import type { AuthenticatorChain } from "../auth/api-key-authenticator.js";
import type { Principal } from "../auth/principal.js";
import type { DriverSet } from "../backends/driver-set.js";
import type { RequestLimitsConfig } from "../config/model.js";
import { Code, PrismError, isClientFault, toPrismError } from "../errors/prism-error.js";
import type { Logger } from "../observability/logger.js";
import type { SessionRegistry } from "../sessions/session-registry.js";
import { NamespacePattern, matchesAny } from "../tenancy/namespace-pattern.js";
import { NAMESPACE_HEADER, type Tenant, type TenantRegistry } from "../tenancy/tenant-registry.js";
import type { NameLimit } from "../isolation/names.js";
import type { InFlightTracker } from "./in-flight.js";
import { CONNECTION, type Action, type RequestScope } from "./request-scope.js";

function tighterLimit(configured: number, setting: string, backendMax: number, backend: string): NameLimit {
  return backendMax < configured
    ? { maxBytes: backendMax, source: `the ${backend} backend's limit for this tenant` }
    : { maxBytes: configured, source: setting };
}

export const REQUEST_ID_HEADER = "x-request-id";
const CLIENT_REQUEST_ID = /^[A-Za-z0-9._:-]{1,64}$/;

export interface PipelineDependencies {
  authenticator: AuthenticatorChain;
  tenants: TenantRegistry;
  sessions: SessionRegistry;
  drivers: DriverSet;
  limits: RequestLimitsConfig;
  inFlight: InFlightTracker;
  logger: Logger;
}

/**
 * The stages every data request passes before a handler touches a backend:
 * authenticate, resolve the namespace, authorize, admit the session, and bind the
 * backend drivers to the tenant. Handlers only wire a request to the scope it returns.
 */
export class Pipeline {
  readonly #narrowing = new WeakMap<Principal, NamespacePattern[]>();

  constructor(private readonly deps: PipelineDependencies) {}

  /** Runs a unary request through the pipeline and logs its outcome. */
  async run<T>(context: HandlerContext, action: Action, work: (scope: RequestScope) => Promise<T>): Promise<T> {
    const requestId = this.#requestId(context);
    const startedAt = performance.now();
    const release = this.deps.inFlight.enter("unary");
    let scope: RequestScope | undefined;
    try {
      scope = this.#admit(context, action, requestId);
      const result = await work(scope);
      this.#logSuccess(scope, startedAt);
      return result;
    } catch (error) {
      throw this.#logFailure(error, action, requestId, scope, context);
    } finally {
      release();
    }
  }

  /** Runs a server-streaming request; the stream counts as in flight until it ends. */
  async *stream<T>(
    context: HandlerContext,
    action: Action,
    work: (scope: RequestScope) => AsyncIterable<T>,
  ): AsyncGenerator<T> {
    const requestId = this.#requestId(context);
    const startedAt = performance.now();
    const release = this.deps.inFlight.enter("stream");
    let scope: RequestScope | undefined;
    try {
      scope = this.#admit(context, action, requestId);
      yield* work(scope);
      this.#logSuccess(scope, startedAt);
    } catch (error) {
      throw this.#logFailure(error, action, requestId, scope, context);
    } finally {
      release();
    }
  }

  #requestId(context: HandlerContext): string {
    const offered = context.requestHeader.get(REQUEST_ID_HEADER);
    const requestId = offered !== null && CLIENT_REQUEST_ID.test(offered) ? offered : randomUUID();
    context.responseHeader.set(REQUEST_ID_HEADER, requestId);
    return requestId;
  }

  #admit(context: HandlerContext, action: Action, requestId: string): RequestScope {
    const principal = this.deps.authenticator.authenticate(context.requestHeader);
    const namespace = context.requestHeader.get(NAMESPACE_HEADER);
    const tenant = this.deps.tenants.resolve(namespace);
    this.#authorize(principal, tenant, namespace ?? "");

    const connection = context.values.get(CONNECTION);
    if (connection === undefined) {
      throw new PrismError(Code.Internal, "INTERNAL", "request arrived without a client connection");
    }
    const session = this.deps.sessions.acquire(connection, principal);
    session.recordRequest();

    return this.#scope({ requestId, action, principal, tenant, namespace: namespace ?? "", session, signal: context.signal });
  }

  #authorize(principal: Principal, tenant: Tenant, namespace: string): void {
    if (principal.tenantId !== tenant.id) {
      throw new PrismError(
        Code.PermissionDenied,
        "PERMISSION_DENIED",
        `principal ${principal.name} may not use namespace "${namespace}"; it belongs to another tenant`,
      );
    }

    if (principal.namespaces === undefined) {
      return;
    }

    let patterns = this.#narrowing.get(principal);
    if (patterns === undefined) {
      patterns = principal.namespaces.map((source) => new NamespacePattern(source));
      this.#narrowing.set(principal, patterns);
    }
    if (!matchesAny(patterns, namespace)) {
      throw new PrismError(
        Code.PermissionDenied,
        "PERMISSION_DENIED",
        `principal ${principal.name} may not use namespace "${namespace}"; its API key is limited to ${principal.namespaces.join(", ")}`,
      );
    }
  }

  #scope(
    fields: Omit<RequestScope, "log" | "limits" | "keyValue" | "pubSub" | "keyLimit" | "topicLimit">,
  ): RequestScope {
    const { drivers, limits, logger } = this.deps;
    const keyValue = drivers.keyValueFor(fields.tenant.config);
    const pubSub = drivers.pubSubFor(fields.tenant.config);
    let log: Logger | undefined;
    return {
      ...fields,
      limits,
      get log(): Logger {
        log ??= logger.child({
          requestId: fields.requestId,
          tenant: fields.tenant.id,
          namespace: fields.namespace,
          session: fields.session.id,
          principal: fields.principal.name,
          action: fields.action,
        });
        return log;
      },
      keyValue: () => keyValue.forTenant(fields.tenant.id),
      pubSub: () => pubSub.forTenant(fields.tenant.id),
      keyLimit: () =>
        tighterLimit(limits.max_key_bytes, "request_limits.max_key_bytes", keyValue.maxKeyBytes(fields.tenant.id), keyValue.name),
      topicLimit: () =>
        tighterLimit(limits.max_topic_bytes, "request_limits.max_topic_bytes", pubSub.maxTopicBytes(fields.tenant.id), pubSub.name),
    };
  }

  #logSuccess(scope: RequestScope, startedAt: number): void {
    if (scope.log.isLevelEnabled("debug")) {
      scope.log.debug({ durationMs: performance.now() - startedAt }, "request completed");
    }
  }

  #logFailure(
    error: unknown,
    action: Action,
    requestId: string,
    scope: RequestScope | undefined,
    context: HandlerContext,
  ): PrismError {
    const failure = toPrismError(error);
    const log =
      scope?.log ??
      this.deps.logger.child({
        requestId,
        action,
        namespace: context.requestHeader.get(NAMESPACE_HEADER) ?? undefined,
      });

    // Messages about names quote the client's key or topic, which is tenant data.
    const message = failure.reason === "INVALID_NAME" ? "invalid name (value not logged)" : failure.rawMessage;
    const fields = { code: Code[failure.code], reason: failure.reason, detail: message };
    if (isClientFault(failure.code)) {
      log.info(fields, "request rejected");
    } else {
      log.error({ ...fields, err: failure.cause ?? failure }, "request failed");
    }
    return failure;
  }
}
