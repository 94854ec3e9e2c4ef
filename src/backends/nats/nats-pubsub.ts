/**
 * PubSub over core NATS with subject-hierarchy isolation: a tenant's topic "orders.eu"
 * becomes the subject "tenant.<tenant id>.orders.eu" under the default format, and a
 * subscription can only cover the tenant's own subtree.
 *
 * Delivery is at most once, as core NATS is. A publish resolves once the server has
 * processed the message, which the driver learns from a PING/PONG round trip after the
 * PUB: the server then has routed it to the subscriptions it knew of, and accepted it
 * without a permissions violation. It is not retained and not acknowledged by
 * subscribers. A publish that fails with UNAVAILABLE may or may not have been routed.
 */

import type { BackendHealth, DeliveredMessage, PubSubChannel, PublishedMessage, Subscription } from "../driver.js";
import type { IsolationLevel } from "../../config/model.js";
import { resourceExhausted } from "../../errors/prism-error.js";
import { byteLength } from "../../isolation/names.js";
import type { Logger } from "../../observability/logger.js";
import type { ConnectionFactory } from "../../pools/connection-factory.js";
import type { PooledPubSubDriver } from "../pooled-pubsub.js";
import { ManagedNatsConnection } from "./nats-connection.js";
import { natsPermissionDenied, natsUnavailable, toNatsError, type NatsCallContext } from "./nats-errors.js";
import { encodeMessageHeaders, headersWireSize } from "./nats-headers.js";
import { resolveNatsOptions, type NatsDriverOptions, type ResolvedNatsOptions } from "./nats-options.js";
import { checkTenantSubject } from "./nats-subjects.js";
import { NatsSubscription } from "./nats-subscription.js";
import { tenantPassword, tenantUsername } from "./tenant-credentials.js";

/** A pooled NATS connection and the client id the server assigned to it when it opened. */
export interface PooledNatsConnection {
  managed: ManagedNatsConnection;
  /** The server's client id (`cid` in its monitoring output) at open time. A reconnect gets a new one. */
  id: string;
}

export class NatsPubSubDriver implements PooledPubSubDriver<PooledNatsConnection> {
  readonly name = "nats";
  readonly pooledBackend = "nats";
  readonly #options: ResolvedNatsOptions;
  readonly #logger: Logger;
  /** The proxy's own connection: all tenant traffic without tenant credentials, only health with them. */
  readonly #main: ManagedNatsConnection;
  /** One connection per tenant, opened on the tenant's first call, when tenant credentials are on. */
  readonly #tenantConnections = new Map<string, ManagedNatsConnection>();
  readonly #subscriptions = new Set<NatsSubscription>();
  #closing: Promise<void> | undefined;

  constructor(options: NatsDriverOptions) {
    this.#options = resolveNatsOptions(options);
    this.#logger = this.#options.logger.child({ backend: "nats" });
    this.#main = new ManagedNatsConnection({
      options: this.#options,
      username: this.#options.username,
      password: this.#options.password,
      clientName: this.#options.clientName,
      logger: this.#logger.child({ connection: "proxy" }),
    });
    this.#logger.info(
      { endpoint: this.#options.endpoint, tenantCredentials: this.#options.tenantCredentials !== undefined },
      "nats pubsub driver created",
    );
  }

  /** Returns the tenant's channel on the driver's own connections: the proxy's, or the tenant's with tenant credentials. */
  forTenant(tenantId: string): PubSubChannel {
    return {
      publish: (topic, message) => this.#publish(tenantId, this.#connectionFor(tenantId), topic, message),
      subscribe: (pattern, onMessage, onEnd) =>
        this.#subscribe(tenantId, this.#connectionFor(tenantId), pattern, onMessage, onEnd),
    };
  }

  /**
   * Opens pooled connections. They authenticate as the tenant's user when tenant
   * credentials are on and the level isolates namespaces or sessions. A shared pool
   * (level none) serves every tenant, so its connections use the proxy's own user.
   * create() resolves once the connection is open, and rejects with UNAVAILABLE when it
   * did not open within the operation timeout.
   */
  connectionFactory(tenantId: string, level: IsolationLevel): ConnectionFactory<PooledNatsConnection> {
    const credentials = this.#options.tenantCredentials;
    const tenantUser = credentials !== undefined && level !== "none";
    const clientName = tenantUser
      ? `${this.#options.clientName} pool=${level} tenant=${tenantId}`
      : `${this.#options.clientName} pool=${level}`;
    const logger = this.#logger.child({ connection: `pool-${level}`, ...(level === "none" ? {} : { tenantId }) });

    return {
      create: async (signal) => {
        const managed = new ManagedNatsConnection({
          options: this.#options,
          username: tenantUser ? tenantUsername(tenantId, credentials.userPrefix) : this.#options.username,
          password: tenantUser ? tenantPassword(credentials.secret, tenantId) : this.#options.password,
          clientName,
          logger,
        });
        // Closing ends the wait for the first connection, so the pool's abort is not held up.
        const abort = (): void => void managed.close();
        signal.addEventListener("abort", abort, { once: true });
        try {
          const connection = await managed.acquire(this.#context("connect"));
          signal.throwIfAborted();
          return { managed, id: String(connection.info?.client_id ?? "unknown") };
        } catch (error) {
          await managed.close();
          throw toNatsError(error, this.#context("connect"));
        } finally {
          signal.removeEventListener("abort", abort);
        }
      },
      destroy: (pooled) => pooled.managed.close(),
      isHealthy: (pooled) => pooled.managed.state === "connected",
      describe: (pooled) => ({ id: pooled.id }),
    };
  }

  channelOn(tenantId: string, pooled: PooledNatsConnection): PubSubChannel {
    return {
      publish: (topic, message) => this.#publish(tenantId, pooled.managed, topic, message),
      subscribe: (pattern, onMessage, onEnd) => this.#subscribe(tenantId, pooled.managed, pattern, onMessage, onEnd),
    };
  }

  maxTopicBytes(tenantId: string): number {
    return this.#options.maxSubjectBytes - byteLength(this.#options.strategy.prefixFor(tenantId));
  }

  subscriptionCount(): number {
    return this.#subscriptions.size;
  }

  /**
   * Reports the state of the proxy's own connection. Tenant connections that cannot
   * connect are listed in the detail but leave the state alone, because such a failure
   * belongs to one tenant (a user missing from the server, for example). That tenant's
   * calls already fail with UNAVAILABLE, and the other tenants must stay in service.
   */
  health(): BackendHealth {
    const main = this.#main.health();
    const failing = [...this.#tenantConnections.values()].filter((connection) => connection.failing).length;
    const detail =
      failing === 0 ? main.detail : `${main.detail}; ${failing} of ${this.#tenantConnections.size} tenant connections are not connected`;
    return { backend: this.name, state: main.state, detail };
  }

  /** Idempotent. Drains every subscription and closes every connection. */
  close(): Promise<void> {
    this.#closing ??= this.#shutdown();
    return this.#closing;
  }

  async [Symbol.asyncDispose](): Promise<void> {
    await this.close();
  }

  async #shutdown(): Promise<void> {
    const connections = [this.#main, ...this.#tenantConnections.values()];
    await Promise.all(connections.map((connection) => connection.close()));

    // Draining ended every subscription, and close() marks any left over as ended too.
    await Promise.all([...this.#subscriptions].map((subscription) => subscription.close()));
    this.#subscriptions.clear();
    this.#logger.info("nats pubsub driver closed");
  }

  async #publish(tenantId: string, managed: ManagedNatsConnection, topic: string, message: PublishedMessage): Promise<void> {
    const subject = this.#physicalSubject(tenantId, topic, "publish");
    const context = this.#context("publish");
    const connection = await managed.acquire(context);

    if (connection.info?.headers === false) {
      throw natsUnavailable(
        { ...context, sent: false },
        "the server does not support message headers, which the driver needs (NATS 2.2 or newer)",
      );
    }

    const headers = encodeMessageHeaders(message);
    const size = headersWireSize(headers) + message.payload.byteLength;
    const maxPayload = connection.info?.max_payload;
    if (maxPayload !== undefined && size > maxPayload) {
      throw resourceExhausted(
        `the message is ${size} bytes with its headers; the NATS server accepts at most ${maxPayload} bytes (its max_payload setting)`,
      );
    }

    const mark = managed.violationMark();
    try {
      connection.publish(subject, message.payload, { headers });
    } catch (error) {
      throw toNatsError(error, { ...context, sent: false });
    }

    await managed.confirm(connection, context);
    if (managed.publishDeniedSince(mark, subject)) {
      throw natsPermissionDenied(context);
    }
  }

  async #subscribe(
    tenantId: string,
    managed: ManagedNatsConnection,
    pattern: string,
    onMessage: (message: DeliveredMessage) => void,
    onEnd: ((error: Error) => void) | undefined,
  ): Promise<Subscription> {
    const subject = this.#physicalSubject(tenantId, pattern, "subscribe");
    const context = this.#context("subscribe");
    const connection = await managed.acquire(context);

    // Ends before the subscription is confirmed are reported by the thrown error instead.
    let confirmed = false;
    const subscription = new NatsSubscription({
      tenantId,
      strategy: this.#options.strategy,
      managed,
      onMessage,
      onEnd: (ended) => {
        this.#subscriptions.delete(ended);
        if (!ended.closedByCaller && this.#subscriptions.has(ended) === false && confirmed) {
          onEnd?.(
            ended.failure === undefined
              ? natsUnavailable(context, "the subscription ended because the connection closed")
              : toNatsError(ended.failure, context),
          );
        }
      },
      unsubscribeContext: this.#context("unsubscribe"),
      logger: this.#logger.child({ tenantId }),
    });

    try {
      subscription.start(connection, subject);
      await managed.confirm(connection, context);
    } catch (error) {
      await subscription.close();
      throw toNatsError(error, context);
    }

    // The server sends -ERR for a rejected SUB before the PONG, and the client ends the
    // subscription when it reads that line.
    if (subscription.failure !== undefined || subscription.ended) {
      const failure = subscription.failure;
      await subscription.close();
      throw failure === undefined
        ? natsUnavailable(context, "the server ended the subscription before confirming it")
        : toNatsError(failure, context);
    }

    this.#subscriptions.add(subscription);
    confirmed = true;
    return subscription;
  }

  /** Rewrites a topic and checks the result again, so nothing outside the tenant's subtree is sent. */
  #physicalSubject(tenantId: string, topic: string, use: "publish" | "subscribe"): string {
    const subject = this.#options.strategy.toPhysical(tenantId, topic);
    checkTenantSubject(subject, this.#options.strategy.prefixFor(tenantId), use, this.#options.maxSubjectBytes);
    return subject;
  }

  #connectionFor(tenantId: string): ManagedNatsConnection {
    const credentials = this.#options.tenantCredentials;
    if (credentials === undefined || this.#closing !== undefined) {
      // After close() the main connection is closed too, so the call fails with UNAVAILABLE.
      return this.#main;
    }

    let connection = this.#tenantConnections.get(tenantId);
    if (connection === undefined) {
      connection = new ManagedNatsConnection({
        options: this.#options,
        username: tenantUsername(tenantId, credentials.userPrefix),
        password: tenantPassword(credentials.secret, tenantId),
        clientName: `${this.#options.clientName} tenant=${tenantId}`,
        logger: this.#logger.child({ connection: "tenant", tenantId }),
      });
      this.#tenantConnections.set(tenantId, connection);
    }
    return connection;
  }

  #context(operation: NatsCallContext["operation"]): NatsCallContext {
    return { endpoint: this.#options.endpoint, operation, timeoutMs: this.#options.operationTimeoutMs };
  }
}
