import type { BackendKind, IsolationLevel, PrismConfig, TenantConfig } from "../config/model.js";
import type { Logger } from "../observability/logger.js";
import type { Lease } from "../pools/lease.js";
import { PoolPolicy, type PolicyPoolEvent, type PoolPolicyStats } from "../pools/pool-policy.js";
import { checkPoolPolicySettings, resolvePoolPolicySettings } from "../pools/pool-settings.js";
import { createKeyValueDriver, createPubSubDriver } from "./create-drivers.js";
import type { BackendHealth, KeyValueDriver, KeyValueStore, PubSubChannel, PubSubDriver } from "./driver.js";
import { isPooledKeyValueDriver, LeasedKeyValueStore, type PooledKeyValueDriver } from "./pooled-keyvalue.js";
import { isPooledPubSubDriver, LeasedPubSubChannel, type PooledPubSubDriver } from "./pooled-pubsub.js";

export interface DriverSetOptions {
  logger: Logger;
  /** Returns the id of the tenant that owns a namespace, for the connections a new pool opens. */
  tenantOf: (namespace: string) => string;
  /** Receives the lifecycle events of every pooled connection. */
  onPoolEvent?: (event: PolicyPoolEvent) => void;
}

/** Where a request's key-value operations run: its tenant, isolation level, namespace and session. */
export interface KeyValueTarget {
  tenant: TenantConfig;
  level: IsolationLevel;
  namespace: string;
  sessionId: string;
  signal: AbortSignal;
}

/** The fields that select the pool of a request's PubSub operations, the same as for key-value. */
export type PubSubTarget = KeyValueTarget;

/** A tenant store for one request and the call that returns what it holds when the request ends. */
export interface RequestStore {
  store: KeyValueStore;
  finish(): void;
}

/**
 * A tenant channel for one request and the call that returns its publish connection
 * when the request ends. A subscription returns its own connection when it is closed.
 */
export interface RequestChannel {
  channel: PubSubChannel;
  finish(): void;
}

/** The statistics of one pool policy and the data interface whose connections it holds. */
export interface DriverPoolStats extends PoolPolicyStats {
  serves: "keyvalue" | "pubsub";
}

interface PooledEntry {
  driver: PooledKeyValueDriver<unknown>;
  policy: PoolPolicy<unknown>;
}

interface PooledPubSubEntry {
  driver: PooledPubSubDriver<unknown>;
  policy: PoolPolicy<unknown>;
}

/** Leases a connection from the pool that the request's isolation level, namespace and session select. */
function acquireFor(policy: PoolPolicy<unknown>, target: KeyValueTarget): Promise<Lease<unknown>> {
  return policy.acquire({ level: target.level, namespace: target.namespace, sessionId: target.sessionId, signal: target.signal });
}

/**
 * The drivers of one proxy: one per backend kind that the deployment-wide interfaces
 * section or any tenant selects. A tenant's own interfaces section overrides the
 * deployment's, so tenants on different backends share one proxy and a backend outage
 * reaches only the tenants that use that backend.
 */
export class DriverSet {
  readonly #keyValue = new Map<BackendKind, KeyValueDriver>();
  readonly #pubSub = new Map<BackendKind, PubSubDriver>();
  /** Pool policies of the key-value drivers whose connections the pool layer owns. */
  readonly #pooled = new Map<KeyValueDriver, PooledEntry>();
  /**
   * Pool policies of the pooled PubSub drivers. They are separate from the key-value
   * policies even when both read the same connection_pools section (Redis), because a
   * connection that carries a subscription cannot run key-value commands.
   */
  readonly #pooledPubSub = new Map<PubSubDriver, PooledPubSubEntry>();
  #closed: Promise<void> | undefined;

  constructor(
    private readonly config: PrismConfig,
    options: DriverSetOptions,
  ) {
    const logger = options.logger;
    const keyValueKinds = new Set([config.interfaces.keyvalue.backend]);
    const pubSubKinds = new Set([config.interfaces.pubsub.backend]);
    for (const tenant of config.tenants) {
      keyValueKinds.add(tenant.interfaces?.keyvalue?.backend ?? config.interfaces.keyvalue.backend);
      pubSubKinds.add(tenant.interfaces?.pubsub?.backend ?? config.interfaces.pubsub.backend);
    }

    try {
      keyValueKinds.forEach((kind) => this.#keyValue.set(kind, createKeyValueDriver(kind, config, logger)));
      pubSubKinds.forEach((kind) => this.#pubSub.set(kind, createPubSubDriver(kind, config, logger)));
      this.#keyValue.forEach((driver) => this.#addPolicy(driver, options));
      this.#pubSub.forEach((driver) => this.#addPubSubPolicy(driver, options));
    } catch (error) {
      void this.close();
      throw error;
    }
  }

  /**
   * Returns the request's tenant store. On a pooled backend, the first operation leases a
   * connection from the pool that the isolation level selects, and finish() returns it.
   * On the other backends finish() does nothing.
   */
  keyValueStore(target: KeyValueTarget): RequestStore {
    const driver = this.keyValueFor(target.tenant);
    const pooled = this.#pooled.get(driver);
    if (pooled === undefined) {
      return { store: driver.forTenant(target.tenant.id), finish: () => undefined };
    }

    const tenantId = target.tenant.id;
    const store = new LeasedKeyValueStore(
      () => acquireFor(pooled.policy, target),
      (connection) => pooled.driver.storeOn(tenantId, connection),
    );
    return { store, finish: () => store.finish() };
  }

  /**
   * Returns the request's tenant channel. On a pooled backend, the first publish leases
   * a connection from the pool that the isolation level selects, and finish() returns
   * it. Each subscription leases a connection of its own and returns it when it is
   * closed. On the other backends finish() does nothing.
   */
  pubSubChannel(target: PubSubTarget): RequestChannel {
    const driver = this.pubSubFor(target.tenant);
    const pooled = this.#pooledPubSub.get(driver);
    if (pooled === undefined) {
      return { channel: driver.forTenant(target.tenant.id), finish: () => undefined };
    }

    const tenantId = target.tenant.id;
    const channel = new LeasedPubSubChannel(
      () => acquireFor(pooled.policy, target),
      (connection) => pooled.driver.channelOn(tenantId, connection),
    );
    return { channel, finish: () => channel.finish() };
  }

  /** Closes the session's dedicated connections on every pooled backend. */
  async closeSession(sessionId: string): Promise<void> {
    await Promise.all(this.#policies().map((policy) => policy.closeSession(sessionId)));
  }

  /** Pool statistics per pool policy: the key-value policies first, then the PubSub ones. */
  poolStats(): DriverPoolStats[] {
    return [
      ...[...this.#pooled.values()].map((entry): DriverPoolStats => ({ ...entry.policy.stats(), serves: "keyvalue" })),
      ...[...this.#pooledPubSub.values()].map((entry): DriverPoolStats => ({ ...entry.policy.stats(), serves: "pubsub" })),
    ];
  }

  keyValueFor(tenant: TenantConfig): KeyValueDriver {
    return this.#required(this.#keyValue, tenant.interfaces?.keyvalue?.backend ?? this.config.interfaces.keyvalue.backend);
  }

  pubSubFor(tenant: TenantConfig): PubSubDriver {
    return this.#required(this.#pubSub, tenant.interfaces?.pubsub?.backend ?? this.config.interfaces.pubsub.backend);
  }

  /** The deployment-wide key-value driver. */
  get keyValue(): KeyValueDriver {
    return this.#required(this.#keyValue, this.config.interfaces.keyvalue.backend);
  }

  /** The deployment-wide PubSub driver. */
  get pubSub(): PubSubDriver {
    return this.#required(this.#pubSub, this.config.interfaces.pubsub.backend);
  }

  /** Active subscriptions across every PubSub driver. */
  subscriptionCount(): number {
    let count = 0;
    this.#pubSub.forEach((driver) => (count += driver.subscriptionCount()));
    return count;
  }

  health(): BackendHealth[] {
    return [
      ...[...this.#keyValue.values()].map((driver): BackendHealth => ({ ...driver.health(), serves: "keyvalue" })),
      ...[...this.#pubSub.values()].map((driver): BackendHealth => ({ ...driver.health(), serves: "pubsub" })),
    ];
  }

  /** Closes the pools, then the drivers. Idempotent. */
  close(): Promise<void> {
    this.#closed ??= this.#close();
    return this.#closed;
  }

  async #close(): Promise<void> {
    await Promise.all(this.#policies().map((policy) => policy.close()));
    await Promise.all([
      ...[...this.#keyValue.values()].map((driver) => driver.close()),
      ...[...this.#pubSub.values()].map((driver) => driver.close()),
    ]);
  }

  #addPolicy(driver: KeyValueDriver, options: DriverSetOptions): void {
    if (!isPooledKeyValueDriver(driver)) {
      return;
    }
    this.#pooled.set(driver, { driver, policy: this.#createPolicy(driver, options.logger, options) });
  }

  /**
   * Gives a pooled PubSub driver its own policy. It reads the same connection_pools
   * section as a key-value driver of the same backend, so each limit applies to the
   * key-value and the PubSub connections separately.
   */
  #addPubSubPolicy(driver: PubSubDriver, options: DriverSetOptions): void {
    if (!isPooledPubSubDriver(driver)) {
      return;
    }
    const logger = options.logger.child({ serves: "pubsub" });
    this.#pooledPubSub.set(driver, { driver, policy: this.#createPolicy(driver, logger, options) });
  }

  #createPolicy(
    driver: PooledKeyValueDriver<unknown> | PooledPubSubDriver<unknown>,
    logger: Logger,
    options: DriverSetOptions,
  ): PoolPolicy<unknown> {
    const pools = this.config.proxy.connection_pools;
    const settings = resolvePoolPolicySettings(driver.pooledBackend, pools, this.config.proxy.session_management, {
      ...(pools?.idle_pool_timeout === undefined ? {} : { idlePoolTimeoutMs: pools.idle_pool_timeout }),
      ...(pools?.acquire_timeout === undefined ? {} : { acquireTimeoutMs: pools.acquire_timeout }),
      ...(pools?.idle_connection_timeout === undefined ? {} : { idleTimeoutMs: pools.idle_connection_timeout }),
    });
    checkPoolPolicySettings(settings);
    return new PoolPolicy<unknown>({
      backend: driver.pooledBackend,
      settings,
      factoryFor: (target) => driver.connectionFactory(options.tenantOf(target.namespace), target.level),
      logger,
      ...(options.onPoolEvent === undefined ? {} : { onEvent: options.onPoolEvent }),
    });
  }

  #policies(): PoolPolicy<unknown>[] {
    return [...[...this.#pooled.values()].map((entry) => entry.policy), ...[...this.#pooledPubSub.values()].map((entry) => entry.policy)];
  }

  #required<T>(drivers: Map<BackendKind, T>, kind: BackendKind): T {
    const driver = drivers.get(kind);
    if (driver === undefined) {
      throw new TypeError(`no ${kind} driver was created; the configuration changed after start`);
    }
    return driver;
  }
}
