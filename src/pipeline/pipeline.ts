import { randomUUID } from "node:crypto";
import type { HandlerContext } from "@connectrpc/connect";
import type { AuthenticatorChain } from "../auth/api-key-authenticator.js";
import type { Principal } from "../auth/principal.js";
import type { KeyValueDriver, KeyValueStore, PubSubChannel, PubSubDriver } from "../backends/driver.js";
import type { DriverSet, KeyValueTarget, RequestChannel, RequestStore } from "../backends/driver-set.js";
import type { IsolationLevel, RequestLimitsConfig, TenantConfig } from "../config/model.js";
import { Code, PrismError, isClientFault, toPrismError } from "../errors/prism-error.js";
import type { Logger } from "../observability/logger.js";
import type { Session, SessionRegistry } from "../sessions/session-registry.js";
import { NamespacePattern, matchesAny } from "../tenancy/namespace-pattern.js";
import { NAMESPACE_HEADER, type Tenant, type TenantRegistry } from "../tenancy/tenant-registry.js";
import type { NameLimit } from "../isolation/names.js";
import type { Admission, AdmissionTicket } from "../limits/admission.js";
import { measurePayloadBytes } from "../limits/payload-bytes.js";
import type { LimitsResolver } from "../limits/resolved-limits.js";
import type { AuditLog } from "../audit/audit-log.js";
import type { InFlightTracker } from "./in-flight.js";
import { RequestTrail } from "./request-trail.js";
import { CONNECTION, type Action, type RequestScope } from "./request-scope.js";

function tighterLimit(configured: number, setting: string, backendMax: number, backend: string): NameLimit {
  return backendMax < configured
    ? { maxBytes: backendMax, source: `the ${backend} backend's limit for this tenant` }
    : { maxBytes: configured, source: setting };
}

export const REQUEST_ID_HEADER = "x-request-id";
const CLIENT_REQUEST_ID = /^[A-Za-z0-9._:-]{1,64}$/;

/** The fields #admit has resolved when it builds the request's scope. */
type ScopeFields = Omit<RequestScope, "log" | "signal" | "limits" | "keyValue" | "pubSub" | "keyLimit" | "topicLimit">;

/**
 * The backend target of one request: the tenant, isolation level, namespace and session
 * that select a pool. The signal is a getter, so only a request that leases a pooled
 * connection reads it.
 */
class BackendTarget implements KeyValueTarget {
  readonly tenant: TenantConfig;
  readonly level: IsolationLevel;
  readonly namespace: string;
  readonly sessionId: string;
  readonly #context: HandlerContext;

  constructor(fields: ScopeFields, context: HandlerContext) {
    this.tenant = fields.tenant.config;
    this.level = fields.tenant.isolationLevel;
    this.namespace = fields.namespace;
    this.sessionId = fields.session.id;
    this.#context = context;
  }

  get signal(): AbortSignal {
    return this.#context.signal;
  }
}

/**
 * The RequestScope of one admitted request. It is a class with prototype getters because
 * V8 (Node.js 20) builds an object literal with a spread and getters through runtime
 * calls, which cost about 10 µs per request in a loop that builds only such objects.
 */
class AdmittedScope implements RequestScope {
  readonly requestId: string;
  readonly action: Action;
  readonly principal: Principal;
  readonly tenant: Tenant;
  readonly namespace: string;
  readonly session: Session;
  readonly admission: AdmissionTicket;
  readonly limits: RequestLimitsConfig;
  readonly #fields: ScopeFields;
  readonly #context: HandlerContext;
  readonly #deps: PipelineDependencies;
  readonly #keyValueDriver: KeyValueDriver;
  readonly #pubSubDriver: PubSubDriver;
  #log: Logger | undefined;
  #requestStore: RequestStore | undefined;
  #requestChannel: RequestChannel | undefined;

  constructor(fields: ScopeFields, context: HandlerContext, deps: PipelineDependencies) {
    this.requestId = fields.requestId;
    this.action = fields.action;
    this.principal = fields.principal;
    this.tenant = fields.tenant;
    this.namespace = fields.namespace;
    this.session = fields.session;
    this.admission = fields.admission;
    this.limits = deps.limits;
    this.#fields = fields;
    this.#context = context;
    this.#deps = deps;
    this.#keyValueDriver = deps.drivers.keyValueFor(fields.tenant.config);
    this.#pubSubDriver = deps.drivers.pubSubFor(fields.tenant.config);
  }

  // Read on use: the gRPC path creates a call's AbortController only when its signal is read.
  get signal(): AbortSignal {
    return this.#context.signal;
  }

  get log(): Logger {
    this.#log ??= this.#deps.logger.child({
      requestId: this.requestId,
      tenant: this.tenant.id,
      namespace: this.namespace,
      session: this.session.id,
      principal: this.principal.name,
      action: this.action,
    });
    return this.#log;
  }

  finish(): void {
    // The pooled connections go back before the admission slot, so a waiting request finds them.
    // A subscription's connection is not among them: closing the subscription returns it.
    this.#requestStore?.finish();
    this.#requestChannel?.finish();
    this.#fields.finish();
  }

  keyValue(): KeyValueStore {
    this.#requestStore ??= this.#deps.drivers.keyValueStore(new BackendTarget(this.#fields, this.#context));
    return this.#requestStore.store;
  }

  pubSub(): PubSubChannel {
    this.#requestChannel ??= this.#deps.drivers.pubSubChannel(new BackendTarget(this.#fields, this.#context));
    return this.#requestChannel.channel;
  }

  keyLimit(): NameLimit {
    const driver = this.#keyValueDriver;
    return tighterLimit(this.limits.max_key_bytes, "request_limits.max_key_bytes", driver.maxKeyBytes(this.tenant.id), driver.name);
  }

  topicLimit(): NameLimit {
    const driver = this.#pubSubDriver;
    return tighterLimit(this.limits.max_topic_bytes, "request_limits.max_topic_bytes", driver.maxTopicBytes(this.tenant.id), driver.name);
  }
}

export interface PipelineDependencies {
  authenticator: AuthenticatorChain;
  tenants: TenantRegistry;
  sessions: SessionRegistry;
  drivers: DriverSet;
  limits: RequestLimitsConfig;
  inFlight: InFlightTracker;
  admission: Admission;
  namespaceLimits: LimitsResolver;
  audit: AuditLog;
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
  async run<T>(
    context: HandlerContext,
    action: Action,
    request: unknown,
    work: (scope: RequestScope) => Promise<T>,
  ): Promise<T> {
    const cpuStart = this.deps.admission.readCpuMicros();
    const requestId = this.#requestId(context);
    const startedAt = performance.now();
    let release: (() => void) | undefined;
    let trail: RequestTrail | undefined;
    let scope: RequestScope | undefined;
    let failure: PrismError | undefined;
    try {
      trail = this.#beginTrail(action, requestId, request);
      release = this.deps.inFlight.enter("unary");
      scope = this.#admit(context, action, requestId, request, trail);
      const admitted = scope;
      // Charges authentication through the handler's synchronous part with two clock reads.
      const result = await admitted.admission.measureCpu(() => work(admitted), cpuStart);
      this.#logSuccess(scope, startedAt);
      return result;
    } catch (error) {
      failure = this.#logFailure(error, action, requestId, scope, context);
      throw failure;
    } finally {
      scope?.finish();
      release?.();
      trail?.finish(failure);
    }
  }

  /** Runs a server-streaming request; the stream counts as in flight until it ends. */
  async *stream<T>(
    context: HandlerContext,
    action: Action,
    request: unknown,
    work: (scope: RequestScope) => AsyncIterable<T>,
  ): AsyncGenerator<T> {
    const cpuStart = this.deps.admission.readCpuMicros();
    const requestId = this.#requestId(context);
    const startedAt = performance.now();
    let release: (() => void) | undefined;
    let trail: RequestTrail | undefined;
    let scope: RequestScope | undefined;
    let failure: PrismError | undefined;
    try {
      trail = this.#beginTrail(action, requestId, request);
      release = this.deps.inFlight.enter("stream");
      scope = this.#admit(context, action, requestId, request, trail);
      yield* this.#measured(scope, work, cpuStart);
      this.#logSuccess(scope, startedAt);
    } catch (error) {
      failure = this.#logFailure(error, action, requestId, scope, context);
      throw failure;
    } finally {
      scope?.finish();
      release?.();
      trail?.finish(failure);
    }
  }

  /**
   * Starts the request's audit record. Under audit.overflow_policy=reject it throws
   * UNAVAILABLE while the audit trail is behind, so no request runs unrecorded.
   */
  #beginTrail(action: Action, requestId: string, request: unknown): RequestTrail {
    this.deps.audit.admit();
    return new RequestTrail(this.deps.audit, action, requestId, request);
  }

  /** Iterates a stream, charging each step's synchronous work to the namespace's CPU budget. */
  async *#measured<T>(
    scope: RequestScope,
    work: (scope: RequestScope) => AsyncIterable<T>,
    cpuStart: number,
  ): AsyncGenerator<T> {
    const ticket = scope.admission;
    const iterator = ticket.measureCpu(() => work(scope)[Symbol.asyncIterator](), cpuStart);
    try {
      for (;;) {
        const step = await ticket.measureCpu(() => iterator.next());
        if (step.done === true) {
          return;
        }
        yield step.value;
      }
    } finally {
      await iterator.return?.();
    }
  }

  #requestId(context: HandlerContext): string {
    const offered = context.requestHeader.get(REQUEST_ID_HEADER);
    const requestId = offered !== null && CLIENT_REQUEST_ID.test(offered) ? offered : randomUUID();
    context.responseHeader.set(REQUEST_ID_HEADER, requestId);
    return requestId;
  }

  #admit(context: HandlerContext, action: Action, requestId: string, request: unknown, trail: RequestTrail): RequestScope {
    const principal = this.deps.authenticator.authenticate(context.requestHeader);
    trail.authenticated(principal);
    const namespace = context.requestHeader.get(NAMESPACE_HEADER) ?? "";
    const tenant = this.deps.tenants.resolve(namespace);
    trail.resolved(tenant, namespace);
    this.#authorize(principal, tenant, namespace);

    const limits = this.deps.namespaceLimits.forTenant(tenant.config);
    const admission = this.deps.admission.admit(namespace, limits, measurePayloadBytes(request));
    try {
      const connection = context.values.get(CONNECTION);
      if (connection === undefined) {
        throw new PrismError(Code.Internal, "INTERNAL", "request arrived without a client connection");
      }
      const session = this.deps.sessions.acquire(connection, principal, namespace);
      trail.joined(session);

      const endSessionRequest = session.beginRequest();
      const finish = (): void => {
        admission.release();
        endSessionRequest();
      };
      try {
        return this.#scope({ requestId, action, principal, tenant, namespace, session, admission, finish }, context);
      } catch (error) {
        endSessionRequest();
        throw error;
      }
    } catch (error) {
      admission.release();
      throw error;
    }
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

  #scope(fields: ScopeFields, context: HandlerContext): RequestScope {
    return new AdmittedScope(fields, context, this.deps);
  }

  #logSuccess(scope: RequestScope, startedAt: number): void {
    // scope.log creates a child logger, which inherits its level, so the root logger is asked first.
    if (this.deps.logger.isLevelEnabled("debug")) {
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
