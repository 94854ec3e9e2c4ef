import type { BackendHealth, DeliveredMessage, PubSubChannel, PublishedMessage, Subscription } from "../driver.js";
import type { IsolationLevel } from "../../config/model.js";
import { byteLength } from "../../isolation/names.js";
import type { Logger } from "../../observability/logger.js";
import type { ConnectionFactory } from "../../pools/connection-factory.js";
import type { PooledPubSubDriver } from "../pooled-pubsub.js";
import { channelTargetFor } from "./channel-pattern.js";
import { ChannelSubscriber } from "./channel-subscriber.js";
import { encodeEnvelope } from "./message-envelope.js";
import { RedisConnection } from "./redis-connection.js";
import { combinedHealth } from "./redis-health.js";
import { REDIS_MAX_KEY_BYTES } from "./redis-keyvalue.js";
import { resolveRedisOptions, type RedisDriverOptions, type ResolvedRedisOptions } from "./redis-options.js";
import { driverClosedError } from "./redis-errors.js";
import { createTenantConnection } from "./tenant-connection.js";

/** The connections that serve one tenant in ACL mode. */
interface TenantChannels {
  publisher: RedisConnection;
  subscriber: ChannelSubscriber;
}

/**
 * A pooled Redis connection of the PubSub driver. It publishes while it carries no
 * subscription, because Redis accepts only the subscribe family of commands on a
 * connection that has one.
 */
export interface PooledRedisPubSubConnection {
  /** The subscriptions of the connection; `subscriber.connection` is the connection. */
  subscriber: ChannelSubscriber;
  /** The server's CLIENT ID for the connection. */
  id: string;
  /** Whether it authenticates as the tenant's ACL user, which may PSUBSCRIBE only the tenant's whole channel glob. */
  tenantUser: boolean;
}

/**
 * Publish/subscribe over Redis channels. Topics map to channels through the keyspace
 * prefix format. Wildcard subscriptions become PSUBSCRIBE globs, and each delivered
 * channel is matched again with NATS semantics. Redis Pub/Sub keeps no messages, so
 * messages published while the subscriber connection is down never reach it.
 *
 * forTenant() runs on the driver's own connections. Without tenant ACLs that is one
 * publisher and one subscriber connection for every tenant. With them each tenant gets
 * both, authenticated as its ACL user. The proxy leases pooled connections instead
 * (connectionFactory and channelOn), and each subscription holds one of them. On a
 * connection of a tenant's ACL user, a wildcard subscription becomes a PSUBSCRIBE of
 * the tenant's whole channel prefix (the only pattern the user may subscribe to),
 * filtered in the proxy.
 */
export class RedisPubSubDriver implements PooledPubSubDriver<PooledRedisPubSubConnection> {
  readonly name = "redis";
  /** The key-value driver's pools read the same section of connection_pools, and the proxy gives PubSub a PoolPolicy of its own. */
  readonly pooledBackend = "redis";
  readonly #options: ResolvedRedisOptions;
  readonly #main: RedisConnection;
  readonly #shared: ChannelSubscriber | undefined;
  readonly #tenants = new Map<string, TenantChannels>();
  /** Open connections of the factories below, for subscriptionCount(); the pools own them. */
  readonly #pooled = new Set<PooledRedisPubSubConnection>();
  #closing: Promise<void> | undefined;

  constructor(options: RedisDriverOptions) {
    this.#options = resolveRedisOptions(options);
    this.#main = new RedisConnection({ options: this.#options, role: "publisher" });
    if (this.#options.tenantAcl === undefined) {
      const subscriberConnection = new RedisConnection({ options: this.#options, role: "subscriber" });
      this.#shared = new ChannelSubscriber(subscriberConnection, this.#options.strategy, this.#subscriberLog());
    }
  }

  /** Returns the tenant's channel on the driver's own connections: the shared ones, or the tenant's with tenant ACLs. */
  forTenant(tenantId: string): PubSubChannel {
    return {
      publish: (topic, message) => this.#publish(this.#publisherFor(tenantId), tenantId, topic, message),
      subscribe: (pattern, onMessage, onEnd) => this.#subscribe(tenantId, pattern, onMessage, onEnd),
    };
  }

  /**
   * Opens pooled connections. They authenticate as the tenant's ACL user when tenant
   * ACLs are on and the level isolates namespaces or sessions. A shared pool (level none)
   * serves every tenant, so its connections use the main user. CLIENT LIST shows the
   * main user's ones as `prism-pubsub-pool-<level>`.
   */
  connectionFactory(tenantId: string, level: IsolationLevel): ConnectionFactory<PooledRedisPubSubConnection> {
    const role = `pubsub-pool-${level}`;
    return {
      create: async (signal) => {
        const acl = this.#options.tenantAcl;
        const tenantUser = acl !== undefined && level !== "none";
        const connection = tenantUser
          ? createTenantConnection(this.#options, acl, this.#main, tenantId, role)
          : new RedisConnection({ options: this.#options, role });
        try {
          const id = await connection.run(false, (client) => client.client("ID"));
          signal.throwIfAborted();
          const subscriber = new ChannelSubscriber(connection, this.#options.strategy, this.#subscriberLog());
          const pooled: PooledRedisPubSubConnection = { subscriber, id: String(id), tenantUser };
          this.#pooled.add(pooled);
          return pooled;
        } catch (error) {
          await connection.close();
          throw error;
        }
      },
      destroy: async (pooled) => {
        this.#pooled.delete(pooled);
        await pooled.subscriber.close();
      },
      isHealthy: (pooled) => pooled.subscriber.connection.usable && !pooled.subscriber.mayHoldSubscriptions,
      describe: (pooled) => ({ id: pooled.id }),
    };
  }

  channelOn(tenantId: string, pooled: PooledRedisPubSubConnection): PubSubChannel {
    return {
      publish: (topic, message) => this.#publish(pooled.subscriber.connection, tenantId, topic, message),
      subscribe: (pattern, onMessage, onEnd) =>
        this.#subscribeOn(pooled.subscriber, pooled.tenantUser, tenantId, pattern, onMessage, onEnd),
    };
  }

  maxTopicBytes(tenantId: string): number {
    // Channel names are bulk strings with the same 512 MiB limit as keys.
    return REDIS_MAX_KEY_BYTES - byteLength(this.#options.strategy.toPhysical(tenantId, ""));
  }

  subscriptionCount(): number {
    let count = this.#shared?.size ?? 0;
    for (const channels of this.#tenants.values()) {
      count += channels.subscriber.size;
    }
    for (const pooled of this.#pooled) {
      count += pooled.subscriber.size;
    }
    return count;
  }

  health(): BackendHealth {
    const connections = [this.#main];
    if (this.#shared !== undefined) {
      connections.push(this.#shared.connection);
    }
    for (const channels of this.#tenants.values()) {
      connections.push(channels.publisher, channels.subscriber.connection);
    }
    return combinedHealth(this.name, this.#closing !== undefined, connections);
  }

  /** Closes every connection, after which no subscription receives a message. Idempotent. */
  close(): Promise<void> {
    this.#closing ??= this.#close();
    return this.#closing;
  }

  async [Symbol.asyncDispose](): Promise<void> {
    await this.close();
  }

  async #close(): Promise<void> {
    const closing = [this.#main.close()];
    if (this.#shared !== undefined) {
      closing.push(this.#shared.close());
    }
    for (const channels of this.#tenants.values()) {
      closing.push(channels.publisher.close(), channels.subscriber.close());
    }
    await Promise.all(closing);
  }

  async #publish(publisher: RedisConnection, tenantId: string, topic: string, message: PublishedMessage): Promise<void> {
    const channel = this.#options.strategy.toPhysical(tenantId, topic);
    const envelope = encodeEnvelope(message);
    await publisher.run(true, (client) => client.publish(channel, envelope));
  }

  async #subscribe(
    tenantId: string,
    pattern: string,
    onMessage: (message: DeliveredMessage) => void,
    onEnd: ((error: Error) => void) | undefined,
  ): Promise<Subscription> {
    const subscriber = this.#subscriberFor(tenantId);
    const tenantWide = this.#options.tenantAcl !== undefined;
    return this.#subscribeOn(subscriber, tenantWide, tenantId, pattern, onMessage, onEnd);
  }

  async #subscribeOn(
    subscriber: ChannelSubscriber,
    tenantWide: boolean,
    tenantId: string,
    pattern: string,
    onMessage: (message: DeliveredMessage) => void,
    onEnd: ((error: Error) => void) | undefined,
  ): Promise<Subscription> {
    const target = channelTargetFor(this.#options.strategy, tenantId, pattern, tenantWide);

    const detach = await subscriber.add(target, { tenantId, pattern: pattern.split("."), onMessage, onEnd });
    return { close: detach };
  }

  #publisherFor(tenantId: string): RedisConnection {
    return this.#tenantChannels(tenantId)?.publisher ?? this.#main;
  }

  #subscriberFor(tenantId: string): ChannelSubscriber {
    const subscriber = this.#tenantChannels(tenantId)?.subscriber ?? this.#shared;
    if (subscriber === undefined || this.#closing !== undefined) {
      throw driverClosedError(this.#options.endpoint);
    }
    return subscriber;
  }

  /** The tenant's own connections in ACL mode, made on first use; undefined otherwise. */
  #tenantChannels(tenantId: string): TenantChannels | undefined {
    const acl = this.#options.tenantAcl;
    if (acl === undefined || this.#closing !== undefined) {
      return undefined;
    }

    let channels = this.#tenants.get(tenantId);
    if (channels === undefined) {
      const publisher = createTenantConnection(this.#options, acl, this.#main, tenantId, "publisher-tenant");
      const subscriberConnection = createTenantConnection(this.#options, acl, this.#main, tenantId, "subscriber-tenant");
      const subscriber = new ChannelSubscriber(subscriberConnection, this.#options.strategy, this.#subscriberLog());
      channels = { publisher, subscriber };
      this.#tenants.set(tenantId, channels);
    }
    return channels;
  }

  #subscriberLog(): Logger {
    return this.#options.logger.child({ component: "redis", role: "subscriber", endpoint: this.#options.endpoint });
  }
}
