import type {
  BackendHealth,
  DeliveredMessage,
  PubSubChannel,
  PubSubDriver,
  PublishedMessage,
  Subscription,
} from "../driver.js";
import type { PrefixStrategy } from "../../isolation/prefix-strategy.js";
import { subjectMatches } from "../../isolation/subject-match.js";

interface Subscriber {
  pattern: string[];
  deliver: (subject: string, message: PublishedMessage) => void;
}

/**
 * In-process publish/subscribe. Subjects are rewritten into one shared hierarchy by the
 * prefix strategy, as they are on NATS, and matched with NATS wildcard semantics.
 * Delivery is synchronous and at most once; there is no retention.
 */
export class MemoryPubSubDriver implements PubSubDriver {
  readonly name = "memory";
  readonly #subscribers = new Set<Subscriber>();
  #closed = false;

  constructor(readonly strategy: PrefixStrategy) {}

  forTenant(tenantId: string): PubSubChannel {
    return {
      publish: (topic, message) => this.#publish(tenantId, topic, message),
      subscribe: (pattern, onMessage) => this.#subscribe(tenantId, pattern, onMessage),
    };
  }

  maxTopicBytes(_tenantId: string): number {
    // In-process subjects have no length limit; the request limits bound them.
    return Number.MAX_SAFE_INTEGER;
  }

  subscriptionCount(): number {
    return this.#subscribers.size;
  }

  health(): BackendHealth {
    return { backend: this.name, state: this.#closed ? "closed" : "ready" };
  }

  close(): Promise<void> {
    this.#closed = true;
    this.#subscribers.clear();
    return Promise.resolve();
  }

  #publish(tenantId: string, topic: string, message: PublishedMessage): Promise<void> {
    const subject = this.strategy.toPhysical(tenantId, topic).split(".");
    for (const subscriber of this.#subscribers) {
      if (!subjectMatches(subscriber.pattern, subject)) {
        continue;
      }

      subscriber.deliver(subject.join("."), message);
    }
    return Promise.resolve();
  }

  #subscribe(tenantId: string, pattern: string, onMessage: (message: DeliveredMessage) => void): Promise<Subscription> {
    const subscriber: Subscriber = {
      pattern: this.strategy.toPhysical(tenantId, pattern).split("."),
      deliver: (subject, message) => {
        // The physical subject matched a pattern inside this tenant's prefix, so it is the tenant's.
        const topic = this.strategy.toLogical(tenantId, subject);
        if (topic !== undefined) {
          onMessage({ ...message, topic });
        }
      },
    };
    return Promise.resolve({ close: this.#add(subscriber) });
  }

  /**
   * Subscribes to physical subjects with no tenant binding, as a raw NATS client would;
   * for tests and diagnostics only, never reachable from a request.
   */
  rawSubscribe(pattern: string, onMessage: (subject: string, payload: Uint8Array) => void): Promise<() => Promise<void>> {
    return Promise.resolve(
      this.#add({ pattern: pattern.split("."), deliver: (subject, message) => onMessage(subject, message.payload) }),
    );
  }

  #add(subscriber: Subscriber): () => Promise<void> {
    this.#subscribers.add(subscriber);
    return () => {
      this.#subscribers.delete(subscriber);
      return Promise.resolve();
    };
  }
}
