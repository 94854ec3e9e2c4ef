import { setMaxListeners } from "node:events";
import type { Writable } from "node:stream";
import { ConnectError } from "@connectrpc/connect";
import { KeyValueBasicInterface } from "./gen/prism/interfaces/keyvalue/keyvalue_basic_pb.js";
import { KeyValueBatchInterface } from "./gen/prism/interfaces/keyvalue/keyvalue_batch_pb.js";
import { KeyValueTTLInterface } from "./gen/prism/interfaces/keyvalue/keyvalue_ttl_pb.js";
import { PubSubBasicInterface } from "./gen/prism/interfaces/pubsub/pubsub_basic_pb.js";
import { ApiKeyAuthenticator, AuthenticatorChain } from "./auth/api-key-authenticator.js";
import { DriverSet } from "./backends/driver-set.js";
import type { IsolationLevel, PrismConfig, RequestLimitsConfig } from "./config/model.js";
import type { NamespaceUsage } from "./limits/namespace-budget.js";
import { resolveIsolationLevel } from "./config/isolation-level.js";
import { Code } from "./errors/prism-error.js";
import type { AuditLog } from "./audit/audit-log.js";
import { createAuditLog } from "./audit/create-audit-log.js";
import { connectionClosedEvent, connectionEstablishedEvent } from "./audit/audit-event.js";
import type { PolicyPoolEvent } from "./pools/pool-policy.js";
import type { Logger } from "./observability/logger.js";
import { Admission } from "./limits/admission.js";
import { LimitsResolver } from "./limits/resolved-limits.js";
import { InFlightTracker } from "./pipeline/in-flight.js";
import { Pipeline } from "./pipeline/pipeline.js";
import { AdminServer } from "./server/admin-server.js";
import { DataServer } from "./server/data-server.js";
import { implementService } from "./server/grpc/service-spec.js";
import { keyValueBasicHandlers, keyValueBatchHandlers, keyValueTtlHandlers } from "./server/handlers/keyvalue.js";
import { ActiveSubscriptions, pubSubHandlers } from "./server/handlers/pubsub.js";
import { SessionRegistry } from "./sessions/session-registry.js";
import { TenantRegistry } from "./tenancy/tenant-registry.js";

/** Protocol overhead allowed on top of the largest payloads a request may carry. */
const MESSAGE_OVERHEAD_BYTES = 64 * 1024;

export type ProxyState = "starting" | "serving" | "draining" | "closed";

/** A namespace's pooled connections on one backend: those its isolation level gives it. */
export interface NamespaceConnections {
  backend: string;
  /** The data interface the pool serves; Redis has one pool policy for each. */
  serves: "keyvalue" | "pubsub";
  /** Connections lent out now. */
  in_use: number;
  /** Connections open now, lent out or idle. */
  open: number;
  /** Maximum connections the namespace can hold: its pool's size, or the shared pool's at level none. */
  limit: number;
}

export interface NamespaceReport {
  namespace: string;
  tenant: string;
  isolation_level: IsolationLevel;
  sessions: number;
  connections: NamespaceConnections[];
  usage: NamespaceUsage;
}

export interface ProxyOptions {
  /** Stream of "stdout" audit sinks; default process.stdout. */
  auditStdout?: Writable;
}

/**
 * Largest request message: one maximal value plus a maximal batch of keys and the
 * metadata. A batch of many large values is bounded by this total as well. The value
 * part is sized for JSON, because base64 makes bytes 4/3 as long. The value limit itself
 * is checked on the decoded bytes, so binary requests gain nothing from it.
 */
export function requestMaxBytes(limits: RequestLimitsConfig): number {
  return (
    Math.ceil((limits.max_value_bytes * 4) / 3) +
    limits.max_batch_size * (limits.max_key_bytes + 16) +
    limits.max_metadata_bytes +
    MESSAGE_OVERHEAD_BYTES
  );
}

/** One running data-plane proxy: its listeners, pipeline, drivers and sessions. */
export class Proxy {
  readonly tenants: TenantRegistry;
  readonly sessions: SessionRegistry;
  readonly subscriptions = new ActiveSubscriptions();
  readonly drivers: DriverSet;
  readonly audit: AuditLog;
  readonly admission: Admission;
  readonly #inFlight = new InFlightTracker();
  readonly #limits: LimitsResolver;
  readonly #shutdownController = new AbortController();
  readonly #data: DataServer;
  readonly #admin: AdminServer;
  #state: ProxyState = "starting";
  #closing: Promise<void> | undefined;
  address = "";
  adminAddress = "";

  private constructor(
    readonly config: PrismConfig,
    private readonly logger: Logger,
    options: ProxyOptions,
  ) {
    // Every in-flight request links its own signal to the shutdown signal, one listener each.
    setMaxListeners(0, this.#shutdownController.signal);
    const limits = config.proxy.request_limits;
    this.tenants = new TenantRegistry(config.tenants, (tenant) => resolveIsolationLevel(config, tenant));
    // Created before any driver, because an unusable audit sink stops the start.
    this.audit = createAuditLog(config.proxy.audit, { logger, stdout: options.auditStdout });
    this.sessions = new SessionRegistry({
      maxSessions: config.proxy.session_management.max_sessions,
      maxSessionsPerPrincipal: config.proxy.session_management.max_sessions_per_principal,
      maxSubscriptionsPerSession: limits.max_subscriptions_per_session,
      sessionTimeoutMs: config.proxy.session_management.session_timeout,
      audit: this.audit,
      logger,
    });
    this.drivers = new DriverSet(config, {
      logger,
      tenantOf: (namespace) => this.tenants.resolve(namespace).id,
      onPoolEvent: (event) => this.#auditConnection(event),
    });
    this.sessions.onSessionEnd((session) => {
      this.drivers.closeSession(session.id).catch((error: unknown) => {
        logger.error({ err: error, session: session.id }, "closing a session's backend connections failed");
      });
    });
    this.#limits = new LimitsResolver(config.proxy.resource_limits?.per_namespace);
    this.admission = new Admission({ logger });

    const pipeline = new Pipeline({
      authenticator: new AuthenticatorChain([new ApiKeyAuthenticator(config.tenants)]),
      tenants: this.tenants,
      sessions: this.sessions,
      drivers: this.drivers,
      limits,
      inFlight: this.#inFlight,
      admission: this.admission,
      namespaceLimits: this.#limits,
      audit: this.audit,
      logger,
    });

    this.#data = new DataServer({
      services: [
        implementService(KeyValueBasicInterface, keyValueBasicHandlers(pipeline)),
        implementService(KeyValueTTLInterface, keyValueTtlHandlers(pipeline)),
        implementService(KeyValueBatchInterface, keyValueBatchHandlers(pipeline)),
        implementService(PubSubBasicInterface, pubSubHandlers(pipeline, this.subscriptions)),
      ],
      readMaxBytes: requestMaxBytes(limits),
      shutdownSignal: this.#shutdownController.signal,
      logger,
    });

    this.#admin = new AdminServer({
      accepting: () => this.#state === "serving",
      backends: () => this.drivers.health(),
      sessions: () => this.sessions.activeCount,
      namespace: (name) => this.namespaceReport(name),
    });
  }

  /** Starts the listeners of a proxy for this configuration. */
  static async start(config: PrismConfig, logger: Logger, options: ProxyOptions = {}): Promise<Proxy> {
    const proxy = new Proxy(config, logger, options);
    try {
      proxy.address = await proxy.#data.listen(config.proxy.listen);
      proxy.adminAddress = await proxy.#admin.listen(config.proxy.admin_listen);
    } catch (error) {
      await proxy.close();
      throw error;
    }
    proxy.#setState("serving");
    return proxy;
  }

  /** Returns a namespace's tenant, isolation level, sessions, connections and use of its limits, for the admin API. */
  namespaceReport(namespace: string): NamespaceReport {
    const tenant = this.tenants.resolve(namespace);
    return {
      namespace,
      tenant: tenant.id,
      isolation_level: tenant.isolationLevel,
      sessions: this.sessions.sessionsIn(namespace),
      connections: this.drivers.poolStats().map((stats) => {
        // Level none: the shared pool. Namespace: its own pool. Session: its sessions' pools.
        const pools = stats.pools.filter((pool) =>
          tenant.isolationLevel === "none" ? pool.level === "none" : pool.level === tenant.isolationLevel && pool.namespace === namespace,
        );
        const inUse = pools.reduce((sum, pool) => sum + pool.inUse, 0);
        const open = pools.reduce((sum, pool) => sum + pool.size, 0);
        const limit = pools.reduce((sum, pool) => sum + pool.max, 0);
        return { backend: stats.backend, serves: stats.serves, in_use: inUse, open, limit };
      }),
      usage: this.admission.usageOf(namespace, this.#limits.forTenant(tenant.config)),
    };
  }

  /** Records the connection events of session pools, which the audit trail tracks per session. */
  #auditConnection(event: PolicyPoolEvent): void {
    if (event.session_id === undefined || !this.audit.records(event.event)) {
      return;
    }
    const common = { session_id: event.session_id, backend: event.backend, connection_id: event.connection_id };
    this.audit.record(
      event.event === "connection_established"
        ? connectionEstablishedEvent(common)
        : connectionClosedEvent({ ...common, duration_ms: event.duration_ms, reason: event.reason }),
    );
  }

  get state(): ProxyState {
    return this.#state;
  }

  get inFlight(): InFlightTracker {
    return this.#inFlight;
  }

  /**
   * Shuts down gracefully: refuses new requests and connections, ends subscription
   * streams with UNAVAILABLE, waits up to the grace period for in-flight requests and
   * for connections to close, then cuts what is left and closes the drivers. Idempotent.
   */
  close(graceMs = this.config.proxy.shutdown_grace): Promise<void> {
    this.#closing ??= this.#shutdown(graceMs);
    return this.#closing;
  }

  async [Symbol.asyncDispose](): Promise<void> {
    await this.close();
  }

  async #shutdown(graceMs: number): Promise<void> {
    const deadline = Date.now() + graceMs;
    this.#setState("draining");
    this.#inFlight.startDraining();
    this.#data.stopAccepting();

    const unavailable = new ConnectError("the proxy is shutting down; reconnect to another instance", Code.Unavailable);
    this.subscriptions.failEverything(unavailable);

    const drained = await this.#inFlight.waitForIdle(graceMs);
    if (!drained) {
      this.logger.warn(
        { unary: this.#inFlight.unary, streams: this.#inFlight.streams, graceMs },
        "shutdown grace period ended with requests in flight",
      );
    }
    this.#shutdownController.abort(unavailable);

    // Connections close by themselves once their last response is written; the rest are cut at the deadline.
    await this.#data.closeConnections(Math.max(0, deadline - Date.now()));
    this.sessions.close();
    await this.#admin.close();
    await this.drivers.close();
    this.admission.close();
    // Last, so the session_destroyed events of the connections closed above are written.
    await this.audit.close();
    this.#setState("closed");
  }

  #setState(next: ProxyState): void {
    this.logger.info({ from: this.#state, to: next, address: this.address || undefined }, `proxy ${this.#state} -> ${next}`);
    this.#state = next;
  }
}
