import type { BackendKind, PrismConfig, TenantConfig } from "../config/model.js";
import type { Logger } from "../observability/logger.js";
import { createKeyValueDriver, createPubSubDriver } from "./create-drivers.js";
import type { BackendHealth, KeyValueDriver, PubSubDriver } from "./driver.js";

/**
 * The drivers of one proxy: one per backend kind that the deployment-wide interfaces
 * section or any tenant selects. A tenant's own interfaces section overrides the
 * deployment's, so tenants on different backends share one proxy and a backend outage
 * reaches only the tenants that use that backend.
 */
export class DriverSet {
  readonly #keyValue = new Map<BackendKind, KeyValueDriver>();
  readonly #pubSub = new Map<BackendKind, PubSubDriver>();
  #closed: Promise<void> | undefined;

  constructor(
    private readonly config: PrismConfig,
    logger: Logger,
  ) {
    const keyValueKinds = new Set([config.interfaces.keyvalue.backend]);
    const pubSubKinds = new Set([config.interfaces.pubsub.backend]);
    for (const tenant of config.tenants) {
      keyValueKinds.add(tenant.interfaces?.keyvalue?.backend ?? config.interfaces.keyvalue.backend);
      pubSubKinds.add(tenant.interfaces?.pubsub?.backend ?? config.interfaces.pubsub.backend);
    }

    try {
      keyValueKinds.forEach((kind) => this.#keyValue.set(kind, createKeyValueDriver(kind, config, logger)));
      pubSubKinds.forEach((kind) => this.#pubSub.set(kind, createPubSubDriver(kind, config, logger)));
    } catch (error) {
      void this.close();
      throw error;
    }
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

  /** Idempotent. */
  close(): Promise<void> {
    this.#closed ??= Promise.all([
      ...[...this.#keyValue.values()].map((driver) => driver.close()),
      ...[...this.#pubSub.values()].map((driver) => driver.close()),
    ]).then(() => undefined);
    return this.#closed;
  }

  #required<T>(drivers: Map<BackendKind, T>, kind: BackendKind): T {
    const driver = drivers.get(kind);
    if (driver === undefined) {
      throw new TypeError(`no ${kind} driver was created; the configuration changed after start`);
    }
    return driver;
  }
}
