import type { IsolationLevel } from "../config/model.js";
import { Code, PrismError } from "../errors/prism-error.js";
import type { ConnectionFactory } from "../pools/connection-factory.js";
import type { Lease } from "../pools/lease.js";
import type { PooledBackend } from "../pools/pool-settings.js";
import type { DeliveredMessage, PubSubChannel, PubSubDriver, PublishedMessage, Subscription } from "./driver.js";
import { brokeConnection } from "./pooled-keyvalue.js";

/**
 * A PubSub driver whose connections the pool layer owns. The pool policy of the
 * request's isolation level lends the connections, and the driver binds a tenant channel
 * to each one.
 */
export interface PooledPubSubDriver<C> extends PubSubDriver {
  readonly pooledBackend: PooledBackend;
  /** Opens connections for a pool that serves this tenant at this isolation level. */
  connectionFactory(tenantId: string, level: IsolationLevel): ConnectionFactory<C>;
  /** Binds the tenant's channel to one leased connection. */
  channelOn(tenantId: string, connection: C): PubSubChannel;
}

export function isPooledPubSubDriver(driver: PubSubDriver): driver is PooledPubSubDriver<unknown> {
  return "pooledBackend" in driver && "connectionFactory" in driver && "channelOn" in driver;
}

/**
 * A subscription that holds its leased connection until it ends: close() returns the
 * connection to its pool once the backend has removed the subscription.
 */
class LeasedSubscription<C> implements Subscription {
  #closing: Promise<void> | undefined;

  constructor(
    private readonly subscription: Subscription,
    private readonly lease: Lease<C>,
  ) {}

  close(): Promise<void> {
    this.#closing ??= this.#close();
    return this.#closing;
  }

  async #close(): Promise<void> {
    try {
      await this.subscription.close();
    } catch (error: unknown) {
      // The subscription may still be registered on the connection, so it must not be lent again.
      await this.lease.destroy(error);
      throw error;
    }
    this.lease.release();
  }
}

/**
 * A tenant channel whose operations run on leased connections. Publishes lease one
 * connection on the first publish and hold it until finish(), which returns it, or
 * destroys it when a publish failed in a way that may have broken it. Each subscription
 * leases a connection of its own and holds it for its whole life: closing the
 * subscription returns it, and an end that the backend caused (onEnd) destroys it.
 * finish() never touches a subscription's lease.
 */
export class LeasedPubSubChannel<C> implements PubSubChannel {
  #publishLease: Promise<Lease<C>> | undefined;
  #publisher: PubSubChannel | undefined;
  #failure: unknown;
  #finished = false;

  constructor(
    private readonly acquire: () => Promise<Lease<C>>,
    private readonly bind: (connection: C) => PubSubChannel,
  ) {}

  /** Returns the publish connection to its pool, or destroys it after a connection failure. Idempotent. */
  finish(): void {
    if (this.#finished) {
      return;
    }
    this.#finished = true;
    const failure = this.#failure;
    void this.#publishLease?.then(
      (lease) => (failure === undefined ? lease.release() : lease.destroy(failure)),
      () => undefined,
    );
  }

  async publish(topic: string, message: PublishedMessage): Promise<void> {
    this.#checkOpen();
    this.#publishLease ??= this.acquire();
    const lease = await this.#publishLease;
    this.#publisher ??= this.bind(lease.connection);
    try {
      await this.#publisher.publish(topic, message);
    } catch (error: unknown) {
      if (brokeConnection(error)) {
        this.#failure = error;
      }
      throw error;
    }
  }

  async subscribe(
    pattern: string,
    onMessage: (message: DeliveredMessage) => void,
    onEnd?: (error: Error) => void,
  ): Promise<Subscription> {
    this.#checkOpen();
    const lease = await this.acquire();

    let subscription: Subscription;
    try {
      subscription = await this.bind(lease.connection).subscribe(pattern, onMessage, (error) => {
        // The backend ended the subscription on its own, so the connection is not lent again.
        void lease.destroy(error);
        onEnd?.(error);
      });
    } catch (error: unknown) {
      if (brokeConnection(error)) {
        await lease.destroy(error);
      } else {
        lease.release();
      }
      throw error;
    }
    return new LeasedSubscription(subscription, lease);
  }

  #checkOpen(): void {
    if (this.#finished) {
      throw new PrismError(Code.Internal, "INTERNAL", "a PubSub channel was used after its request ended");
    }
  }
}
