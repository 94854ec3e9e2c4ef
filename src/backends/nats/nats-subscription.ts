/**
 * One tenant subscription on a NATS connection. Messages reach the caller with the
 * tenant-relative topic. close() sends UNSUB and waits for the server to confirm it, so
 * the server has no interest left for the subject once close() resolves.
 */

import type { Msg, NatsConnection, Subscription as NatsClientSubscription } from "@nats-io/transport-node";

import type { Logger } from "../../observability/logger.js";
import type { PrefixStrategy } from "../../isolation/prefix-strategy.js";
import type { DeliveredMessage, Subscription } from "../driver.js";
import type { ManagedNatsConnection } from "./nats-connection.js";
import type { NatsCallContext } from "./nats-errors.js";
import { decodeMessage } from "./nats-headers.js";

export interface NatsSubscriptionSettings {
  tenantId: string;
  strategy: PrefixStrategy;
  managed: ManagedNatsConnection;
  onMessage: (message: DeliveredMessage) => void;
  /** Called once when the subscription ends, whether by close() or by the server. */
  onEnd: (subscription: NatsSubscription) => void;
  /** Context of the UNSUB confirmation. */
  unsubscribeContext: NatsCallContext;
  logger: Logger;
}

export class NatsSubscription implements Subscription {
  readonly #settings: NatsSubscriptionSettings;
  #connection: NatsConnection | undefined;
  #subscription: NatsClientSubscription | undefined;
  #ended = false;
  #closedByCaller = false;
  #closing: Promise<void> | undefined;
  /** Set when the server ended the subscription, typically for a permissions violation. */
  failure: Error | undefined;

  constructor(settings: NatsSubscriptionSettings) {
    this.#settings = settings;
  }

  /** Sends SUB for `subject`; the caller confirms it with the connection's flush. */
  start(connection: NatsConnection, subject: string): void {
    this.#connection = connection;
    const subscription = connection.subscribe(subject, { callback: (error, message) => this.#receive(error, message) });
    this.#subscription = subscription;
    void subscription.closed.then(() => this.#end());
  }

  get ended(): boolean {
    return this.#ended;
  }

  /** Whether close() was called, as opposed to the server or the connection ending it. */
  get closedByCaller(): boolean {
    return this.#closedByCaller;
  }

  /** Idempotent. No message is delivered once it is called. */
  close(): Promise<void> {
    // Set before #unsubscribe() runs, because its first step calls onEnd, which reads it.
    this.#closedByCaller = true;
    this.#closing ??= this.#unsubscribe();
    return this.#closing;
  }

  async [Symbol.asyncDispose](): Promise<void> {
    await this.close();
  }

  async #unsubscribe(): Promise<void> {
    this.#end();
    const subscription = this.#subscription;
    const connection = this.#connection;
    if (subscription === undefined || connection === undefined || subscription.isClosed()) {
      return;
    }

    subscription.unsubscribe();
    if (this.#settings.managed.state !== "connected") {
      // A lost connection already dropped the interest, and the client will not send
      // this SUB again when it reconnects.
      return;
    }

    try {
      await this.#settings.managed.confirm(connection, this.#settings.unsubscribeContext);
    } catch (error) {
      this.#settings.logger.debug({ err: error }, "nats UNSUB was not confirmed; the subscription is removed locally");
    }
  }

  #end(): void {
    if (this.#ended) {
      return;
    }
    this.#ended = true;
    this.#settings.onEnd(this);
  }

  #receive(error: Error | null, message: Msg): void {
    if (error !== null) {
      this.failure = error;
      this.#settings.logger.warn({ error: error.name }, "nats server ended a subscription");
      this.#end();
      return;
    }
    if (this.#ended) {
      return;
    }

    const topic = this.#settings.strategy.toLogical(this.#settings.tenantId, message.subject);
    if (topic === undefined) {
      // The server only routes subjects that match the tenant's pattern, so this is a bug.
      this.#settings.logger.error("nats delivered a subject outside the tenant's subtree; message dropped");
      return;
    }

    try {
      this.#settings.onMessage(decodeMessage(topic, message.data, message.headers, Date.now()));
    } catch (callbackError) {
      this.#settings.logger.error({ err: callbackError }, "subscriber callback failed; message dropped");
    }
  }
}
