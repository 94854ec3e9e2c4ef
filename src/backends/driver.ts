/**
 * The interface every backend implements. Drivers receive names that the proxy has
 * already validated. They apply their own isolation strategy (prefix rewrite or
 * row-level security) when they bind to a tenant, so every store a handler gets is
 * scoped to one tenant.
 */

export interface KeyValueEntry {
  key: string;
  value: Uint8Array;
}

/** Key-value operations scoped to one tenant. TTL semantics follow Redis. */
export interface KeyValueStore {
  set(key: string, value: Uint8Array): Promise<void>;
  /** Returns undefined for a missing or expired key; an empty value is found. */
  get(key: string): Promise<Uint8Array | undefined>;
  /** Returns whether the key existed. */
  delete(key: string): Promise<boolean>;
  exists(key: string): Promise<boolean>;
  /** Sets the TTL in seconds (0 expires at once); returns whether the key existed. */
  expire(key: string, ttlSeconds: number): Promise<boolean>;
  /** Returns the remaining TTL in whole seconds, -1 without expiry, -2 when missing. */
  getTtl(key: string): Promise<number>;
  /** Removes the expiry; returns whether there was one to remove. */
  persist(key: string): Promise<boolean>;
  batchSet(entries: readonly KeyValueEntry[]): Promise<void>;
  batchGet(keys: readonly string[]): Promise<(Uint8Array | undefined)[]>;
  /** Returns, per key, whether it existed. */
  batchDelete(keys: readonly string[]): Promise<boolean[]>;
}

export interface PublishedMessage {
  payload: Uint8Array;
  metadata: Record<string, string>;
  messageId: string;
  /** Publish time in milliseconds since the Unix epoch. */
  timestampMs: number;
}

export interface DeliveredMessage extends PublishedMessage {
  /** The topic relative to the tenant, as the publisher named it. */
  topic: string;
}

export interface Subscription {
  /** Idempotent; after it resolves no further message is delivered. */
  close(): Promise<void>;
}

/** PubSub operations scoped to one tenant. */
export interface PubSubChannel {
  publish(topic: string, message: PublishedMessage): Promise<void>;
  /**
   * Delivers every message on topics matching the pattern (with * and > wildcards).
   * `onEnd` is called once if the backend ends the subscription on its own (a lost
   * connection that will not come back, a permission revoked), never after close().
   */
  subscribe(
    pattern: string,
    onMessage: (message: DeliveredMessage) => void,
    onEnd?: (error: Error) => void,
  ): Promise<Subscription>;
}

export type BackendState = "connecting" | "ready" | "degraded" | "closed";

export interface BackendHealth {
  backend: string;
  state: BackendState;
  detail?: string;
  /** The data interface the driver serves, set by the driver set. */
  serves?: "keyvalue" | "pubsub";
}

export interface Driver {
  readonly name: string;
  health(): BackendHealth;
  /** Idempotent. */
  close(): Promise<void>;
}

export interface KeyValueDriver extends Driver {
  forTenant(tenantId: string): KeyValueStore;
  /** Longest key, in UTF-8 bytes, the backend can store for this tenant once its isolation is applied. */
  maxKeyBytes(tenantId: string): number;
}

export interface PubSubDriver extends Driver {
  forTenant(tenantId: string): PubSubChannel;
  /** Longest topic, in UTF-8 bytes, the backend can carry for this tenant once its isolation is applied. */
  maxTopicBytes(tenantId: string): number;
  /** Active subscriptions across all tenants, for leak checks and metrics. */
  subscriptionCount(): number;
}
