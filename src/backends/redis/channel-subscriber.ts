import type { DeliveredMessage, PublishedMessage } from "../driver.js";
import type { PrefixStrategy } from "../../isolation/prefix-strategy.js";
import { subjectMatches } from "../../isolation/subject-match.js";
import type { Logger } from "../../observability/logger.js";
import type { ChannelTarget } from "./channel-pattern.js";
import { decodeEnvelope } from "./message-envelope.js";
import type { RedisConnection } from "./redis-connection.js";

/** One subscriber of the driver's API: a tenant, its topic pattern and its callbacks. */
export interface ChannelListener {
  tenantId: string;
  /** The tenant-relative topic pattern, split into tokens. */
  pattern: readonly string[];
  onMessage: (message: DeliveredMessage) => void;
  /** Called once when Redis ends the subscription on its own, for example after a revoked permission. */
  onEnd?: (error: Error) => void;
}

/** A channel or pattern subscribed on Redis, shared by every listener that maps to it. */
interface Registration {
  key: string;
  target: ChannelTarget;
  listeners: Set<ChannelListener>;
  /** Settles when Redis confirmed the first SUBSCRIBE or PSUBSCRIBE. */
  subscribed: Promise<void>;
  /** Set once Redis confirmed the subscription, so a new connection must subscribe again. */
  active: boolean;
}

/** Log one malformed message in this many, so a flood cannot flood the log. */
const MALFORMED_LOG_EVERY = 1000;

/**
 * The subscriptions of one subscriber connection. Listeners that map to the same Redis
 * channel or pattern share one Redis subscription, made for the first listener and
 * removed after the last one closes. Each message is matched against each listener's
 * topic pattern with NATS semantics, because Redis globs match more than the pattern.
 *
 * After a reconnect this class subscribes again itself, because ioredis's own
 * resubscription leaves a failure as an unhandled promise rejection. A subscription
 * that Redis then rejects ends its listeners through `onEnd`.
 */
export class ChannelSubscriber {
  readonly #connection: RedisConnection;
  readonly #strategy: PrefixStrategy;
  readonly #log: Logger;
  readonly #registrations = new Map<string, Registration>();
  /** Removals in flight, which a new subscription to the same target waits for. */
  readonly #unsubscribing = new Map<string, Promise<void>>();
  #listenerCount = 0;
  #malformedCount = 0;
  /** Set when Redis did not confirm an UNSUBSCRIBE, so the connection may still be subscribed. A new connection clears it. */
  #unsubscribeFailed = false;

  constructor(connection: RedisConnection, strategy: PrefixStrategy, log: Logger) {
    this.#connection = connection;
    this.#strategy = strategy;
    this.#log = log;

    const client = connection.client;
    client.on("message", (channel: string, text: string) => this.#dispatch(keyOf("channel", channel), channel, text));
    client.on("pmessage", (pattern: string, channel: string, text: string) =>
      this.#dispatch(keyOf("pattern", pattern), channel, text),
    );
    client.on("ready", () => {
      // A new connection starts without subscriptions.
      this.#unsubscribeFailed = false;
      this.#resubscribeAll();
    });
  }

  get connection(): RedisConnection {
    return this.#connection;
  }

  /** Listeners currently attached. */
  get size(): number {
    return this.#listenerCount;
  }

  /**
   * Whether the connection may still be subscribed on Redis: a listener is attached, a
   * removal is in flight, or a removal failed since the connection was made. While it
   * is, Redis rejects every command outside the subscribe family on it.
   */
  get mayHoldSubscriptions(): boolean {
    return this.#registrations.size > 0 || this.#unsubscribing.size > 0 || this.#unsubscribeFailed;
  }

  /** Detaches every listener without calling `onEnd`, and closes the connection. Idempotent. */
  async close(): Promise<void> {
    for (const registration of this.#registrations.values()) {
      registration.listeners.clear();
    }
    this.#registrations.clear();
    this.#listenerCount = 0;
    await this.#connection.close();
  }

  /**
   * Attaches a listener, subscribing on Redis when it is the first for its target.
   * Resolves once Redis has confirmed the subscription, with the function that detaches it.
   */
  async add(target: ChannelTarget, listener: ChannelListener): Promise<() => Promise<void>> {
    const key = keyOf(target.kind, target.name);
    const registration = this.#registrations.get(key) ?? this.#register(key, target);
    registration.listeners.add(listener);
    this.#listenerCount++;

    try {
      await registration.subscribed;
    } catch (error: unknown) {
      await this.#detach(registration, listener);
      throw error;
    }

    let detached: Promise<void> | undefined;
    return () => {
      detached ??= this.#detach(registration, listener);
      return detached;
    };
  }

  #register(key: string, target: ChannelTarget): Registration {
    const registration: Registration = { key, target, listeners: new Set(), subscribed: Promise.resolve(), active: false };

    // A removal of the same target still in flight goes first, or it would undo this subscription.
    const previous = this.#unsubscribing.get(key) ?? Promise.resolve();
    registration.subscribed = previous
      .then(() => this.#subscribeOnRedis(target))
      .then(() => {
        registration.active = true;
      });
    // Listeners await the promise, and this handler only keeps a failure from going unhandled.
    registration.subscribed.catch(() => undefined);

    this.#registrations.set(key, registration);
    return registration;
  }

  #subscribeOnRedis(target: ChannelTarget): Promise<void> {
    return this.#connection.run(false, async (client) => {
      if (target.kind === "channel") {
        await client.subscribe(target.name);
      } else {
        await client.psubscribe(target.name);
      }
    });
  }

  /** Subscribes a new connection to everything the previous one had confirmed. */
  #resubscribeAll(): void {
    for (const registration of this.#registrations.values()) {
      if (registration.active) {
        void this.#resubscribe(registration);
      }
    }
  }

  async #resubscribe(registration: Registration): Promise<void> {
    try {
      await this.#subscribeOnRedis(registration.target);
    } catch (error: unknown) {
      if (!this.#connection.usable || this.#registrations.get(registration.key) !== registration) {
        // Either the connection dropped again and the next one subscribes again, or no listener remains.
        return;
      }
      this.#log.warn({ err: error, kind: registration.target.kind }, "redis rejected a subscription after a reconnect; ending it");
      this.#end(registration, error instanceof Error ? error : new Error(String(error)));
    }
  }

  /** Ends every listener of a registration that Redis no longer serves. */
  #end(registration: Registration, error: Error): void {
    const listeners = [...registration.listeners];
    registration.listeners.clear();
    this.#listenerCount -= listeners.length;
    void this.#remove(registration);

    for (const listener of listeners) {
      try {
        listener.onEnd?.(error);
      } catch (callbackError: unknown) {
        this.#log.error({ err: callbackError, tenantId: listener.tenantId }, "a subscription end callback threw");
      }
    }
  }

  async #detach(registration: Registration, listener: ChannelListener): Promise<void> {
    if (!registration.listeners.delete(listener)) {
      return;
    }
    this.#listenerCount--;
    if (registration.listeners.size > 0) {
      return;
    }
    await this.#remove(registration);
  }

  /** Forgets the registration and removes its Redis subscription, once. */
  async #remove(registration: Registration): Promise<void> {
    const key = registration.key;
    if (this.#registrations.get(key) !== registration) {
      return;
    }
    this.#registrations.delete(key);

    // Removing before Redis confirmed the subscription would let the subscription win.
    const unsubscribed = registration.subscribed
      .catch(() => undefined)
      .then(() => this.#unsubscribe(registration.target));
    this.#unsubscribing.set(key, unsubscribed);
    try {
      await unsubscribed;
    } finally {
      if (this.#unsubscribing.get(key) === unsubscribed) {
        this.#unsubscribing.delete(key);
      }
    }
  }

  async #unsubscribe(target: ChannelTarget): Promise<void> {
    // A connection that is down has no subscriptions left: the next one starts empty.
    if (!this.#connection.usable) {
      return;
    }

    try {
      await this.#connection.run(false, async (client) => {
        if (target.kind === "channel") {
          await client.unsubscribe(target.name);
        } else {
          await client.punsubscribe(target.name);
        }
      });
    } catch (error: unknown) {
      if (this.#connection.closed) {
        return;
      }
      this.#unsubscribeFailed = true;
      this.#log.warn(
        { err: error, kind: target.kind },
        "redis unsubscribe failed; the subscription stays on the server until the connection is replaced",
      );
    }
  }

  #dispatch(key: string, channel: string, text: string): void {
    const registration = this.#registrations.get(key);
    if (registration === undefined || registration.listeners.size === 0) {
      return;
    }

    let message: PublishedMessage | undefined;
    let decoded = false;
    for (const listener of registration.listeners) {
      const topic = this.#strategy.toLogical(listener.tenantId, channel);
      if (topic === undefined || !subjectMatches(listener.pattern, topic.split("."))) {
        continue;
      }

      if (!decoded) {
        message = decodeEnvelope(text);
        decoded = true;
      }
      if (message === undefined) {
        this.#reportMalformed(listener.tenantId);
        return;
      }
      this.#deliver(listener, { ...message, topic });
    }
  }

  #deliver(listener: ChannelListener, message: DeliveredMessage): void {
    try {
      listener.onMessage(message);
    } catch (error: unknown) {
      this.#log.error({ err: error, tenantId: listener.tenantId }, "a subscriber callback threw; the message was dropped for it");
    }
  }

  #reportMalformed(tenantId: string): void {
    this.#malformedCount++;
    if (this.#malformedCount % MALFORMED_LOG_EVERY === 1) {
      this.#log.warn(
        { tenantId, malformedCount: this.#malformedCount },
        "dropped a message on a tenant channel that is not a Prism envelope (published outside the proxy?)",
      );
    }
  }
}

function keyOf(kind: ChannelTarget["kind"], name: string): string {
  return `${kind}\n${name}`;
}
