import type { KeyValueDriver, PubSubDriver } from "../../src/backends/driver.js";

/** A stored item as the backend itself holds it, attributed to the tenant whose prefix or row owns it. */
export interface RawEntry {
  tenantId: string;
  /** The tenant-relative key recovered from the physical name or row. */
  key: string;
  value: Uint8Array;
}

/** A message as a raw backend subscriber saw it, outside the proxy. */
export interface RawMessage {
  /** The physical subject or channel. */
  subject: string;
  payload: Uint8Array;
}

/**
 * One backend under the isolation conformance suite. Each target creates its drivers
 * for the given tenants and offers a raw view of the backend that bypasses every
 * driver: raw Redis keys, rows read as a superuser, a raw NATS subscriber.
 */
export interface ConformanceTarget {
  readonly name: string;
  /** Creates the drivers for these tenant ids (unique per run). */
  setup(tenantIds: readonly string[]): Promise<{ keyValue?: KeyValueDriver; pubSub?: PubSubDriver }>;
  /** Every stored entry belonging to any of these tenants, read directly from the backend. */
  rawEntries?(tenantIds: readonly string[]): Promise<RawEntry[]>;
  /** Subscribes outside the proxy to everything of these tenants; resolves once the subscription is active. */
  rawSubscribe?(tenantIds: readonly string[], onMessage: (message: RawMessage) => void): Promise<() => Promise<void>>;
  /** Removes everything the target created and closes its drivers and raw clients. */
  teardown(tenantIds: readonly string[]): Promise<void>;
}
