/**
 * One NATS connection with an explicit lifecycle. It opens in the background, retries
 * with exponential backoff and full jitter until it succeeds, and follows the client's
 * status events. Every state change happens in #setState and is logged `from -> to`.
 *
 * Calls never queue while the connection is down. The NATS client would buffer publishes
 * in memory while it reconnects, but here a call made while reconnecting fails at once
 * with UNAVAILABLE. A call waiting for the server's confirmation fails when the connection
 * drops. Memory use therefore stays bounded, and clients learn of the outage right away.
 */

import { setTimeout as sleep } from "node:timers/promises";

import { connect, PermissionViolationError, type NatsConnection, type Status } from "@nats-io/transport-node";

import type { Logger } from "../../observability/logger.js";
import { backoffDelayMs } from "../backoff.js";
import type { BackendState } from "../driver.js";
import {
  describeNatsFailure,
  natsClosed,
  natsTimeout,
  natsUnavailable,
  toNatsError,
  type NatsCallContext,
} from "./nats-errors.js";
import type { ResolvedNatsOptions } from "./nats-options.js";

export type NatsConnectionState = "connecting" | "connected" | "reconnecting" | "closed";

/** Publish permission violations kept for matching against in-flight publishes. */
const MAX_RECORDED_VIOLATIONS = 256;

interface PublishViolation {
  sequence: number;
  subject: string;
}

export interface NatsConnectionSettings {
  options: ResolvedNatsOptions;
  username: string | undefined;
  password: string | undefined;
  /** Client name reported to the server. */
  clientName: string;
  /** Bound to whatever identifies this connection (the proxy's own, or a tenant's). */
  logger: Logger;
}

export class ManagedNatsConnection {
  readonly #settings: NatsConnectionSettings;
  readonly #options: ResolvedNatsOptions;
  readonly #logger: Logger;
  #state: NatsConnectionState = "connecting";
  #stateSinceMs = Date.now();
  #connection: NatsConnection | undefined;
  #lastFailure: string | undefined;
  #reconnectAttempt = 0;
  #reconnectDelayMs = 0;
  readonly #stateWaiters = new Set<() => void>();
  /** Rejects each call that waits for a confirmation, with the reason the connection dropped. */
  readonly #pending = new Set<(detail: string) => void>();
  readonly #violations: PublishViolation[] = [];
  #violationSequence = 0;
  readonly #stop = new AbortController();
  readonly #running: Promise<void>;
  #closing: Promise<void> | undefined;

  constructor(settings: NatsConnectionSettings) {
    this.#settings = settings;
    this.#options = settings.options;
    this.#logger = settings.logger;
    this.#running = this.#run();
  }

  get state(): NatsConnectionState {
    return this.#state;
  }

  /** Whether the connection is down, or has not opened yet and at least one attempt failed. */
  get failing(): boolean {
    return this.#state === "reconnecting" || (this.#state === "connecting" && this.#lastFailure !== undefined);
  }

  /** Returns the state as the driver's health reports it, with a short explanation. */
  health(): { state: BackendState; detail: string } {
    const since = new Date(this.#stateSinceMs).toISOString();
    const failure = this.#lastFailure === undefined ? "" : `; last error: ${this.#lastFailure}`;
    switch (this.#state) {
      case "connecting":
        return { state: "connecting", detail: `connecting to ${this.#options.endpoint} since ${since}${failure}` };
      case "connected":
        return { state: "ready", detail: `connected to ${this.#options.endpoint} since ${since}` };
      case "reconnecting":
        return { state: "degraded", detail: `reconnecting to ${this.#options.endpoint} since ${since}${failure}` };
      case "closed":
        return { state: "closed", detail: "closed" };
    }
  }

  /**
   * Returns the open connection. While the first connection is still being opened the
   * call waits for it up to context.timeoutMs; while reconnecting it fails at once.
   */
  async acquire(context: NatsCallContext): Promise<NatsConnection> {
    const notSent = { ...context, sent: false };
    if (this.#state === "connecting") {
      await this.#waitWhileConnecting(context.timeoutMs);
    }

    const connection = this.#connection;
    switch (this.#state) {
      case "connected":
        if (connection !== undefined) {
          return connection;
        }
        throw natsUnavailable(notSent, "the connection is not open");
      case "connecting":
        throw natsUnavailable(
          notSent,
          `no connection could be opened within ${context.timeoutMs} ms${this.#failureSuffix()}`,
        );
      case "reconnecting":
        throw natsUnavailable(notSent, `the connection is lost and the proxy is reconnecting${this.#failureSuffix()}`);
      case "closed":
        throw natsClosed(context);
    }
  }

  /**
   * Resolves once the server has processed everything sent on `connection` so far: a PING
   * is sent and its PONG awaited. Rejects with UNAVAILABLE on timeout or when the
   * connection drops first. After it resolves, every -ERR the server sent before the PONG
   * has been seen by the status handler.
   */
  async confirm(connection: NatsConnection, context: NatsCallContext): Promise<void> {
    await this.#guard(connection.flush(), context);
    // Status events reach #onStatus through promise callbacks only (the status iterator of
    // @nats-io/nats-core 3.x), and those all run before the next macrotask.
    await new Promise<void>((resolve) => setImmediate(resolve));
  }

  /** Returns the current position in the publish violation record; take it before a publish. */
  violationMark(): number {
    return this.#violationSequence;
  }

  /** Returns whether the server rejected a publish to `subject` after `mark` was taken. */
  publishDeniedSince(mark: number, subject: string): boolean {
    return this.#violations.some((violation) => violation.sequence > mark && violation.subject === subject);
  }

  /** Idempotent. Drains the subscriptions and closes the connection; later calls fail with UNAVAILABLE. */
  close(): Promise<void> {
    this.#closing ??= this.#shutdown();
    return this.#closing;
  }

  async [Symbol.asyncDispose](): Promise<void> {
    await this.close();
  }

  async #shutdown(): Promise<void> {
    const wasConnected = this.#state === "connected";
    this.#setState("closed", "close requested");
    this.#stop.abort();
    this.#failPending("the proxy is shutting down");

    const connection = this.#connection;
    if (connection !== undefined && !connection.isClosed()) {
      await this.#closeConnection(connection, wasConnected);
    }
    await this.#running;
  }

  /** Drains a connected connection within the operation timeout, and closes it otherwise. */
  async #closeConnection(connection: NatsConnection, drain: boolean): Promise<void> {
    if (drain) {
      try {
        await this.#withTimeout(connection.drain(), this.#options.operationTimeoutMs);
        return;
      } catch (error) {
        this.#logger.warn({ err: error }, "nats drain did not finish; closing the connection");
      }
    }

    try {
      await connection.close();
    } catch (error) {
      this.#logger.warn({ err: error }, "nats connection close failed");
    }
  }

  /** Opens the connection, retrying with backoff, and follows it until it closes. */
  async #run(): Promise<void> {
    let failedAttempts = 0;
    while (!this.#stop.signal.aborted) {
      const connection = await this.#connectOnce(failedAttempts + 1);
      if (connection === undefined) {
        failedAttempts++;
        await this.#pause(backoffDelayMs(failedAttempts, this.#options.reconnect));
        continue;
      }

      failedAttempts = 0;
      if (this.#stop.signal.aborted) {
        await connection.close();
        return;
      }

      this.#connection = connection;
      this.#lastFailure = undefined;
      this.#setState("connected", `connected to ${connection.getServer()}`);
      await this.#follow(connection);
      this.#connection = undefined;

      if (!this.#stop.signal.aborted) {
        // The client closes on its own only when it gives up reconnecting, which the
        // unlimited reconnect policy should prevent; open a fresh connection regardless.
        this.#lastFailure = "the NATS client closed the connection";
        this.#logger.error({ endpoint: this.#options.endpoint }, "nats connection closed unexpectedly; opening a new one");
        this.#setState("reconnecting", this.#lastFailure);
        this.#failPending(this.#lastFailure);
      }
    }
  }

  async #connectOnce(attempt: number): Promise<NatsConnection | undefined> {
    try {
      return await connect({
        servers: this.#options.servers,
        name: this.#settings.clientName,
        user: this.#settings.username,
        pass: this.#settings.password,
        timeout: this.#options.connectTimeoutMs,
        pingInterval: this.#options.pingIntervalMs,
        maxPingOut: this.#options.maxPingsOut,
        reconnect: true,
        maxReconnectAttempts: -1,
        reconnectDelayHandler: () => this.#reconnectDelayMs,
        // Credentials may be fixed on the server while the proxy keeps running, so an
        // authorization failure is retried like any other.
        ignoreAuthErrorAbort: true,
      });
    } catch (error) {
      this.#recordConnectFailure(error, attempt);
      return undefined;
    }
  }

  /** Logs the first failure and every change of reason at warn, identical repeats at debug. */
  #recordConnectFailure(error: unknown, attempt: number): void {
    const failure = describeNatsFailure(error);
    const repeated = failure === this.#lastFailure;
    this.#lastFailure = failure;
    const record = { endpoint: this.#options.endpoint, attempt, reason: failure };
    if (repeated) {
      this.#logger.debug(record, "nats connection attempt failed");
    } else {
      this.#logger.warn(record, "nats connection attempt failed; retrying with backoff");
    }
  }

  async #follow(connection: NatsConnection): Promise<void> {
    try {
      for await (const status of connection.status()) {
        this.#onStatus(status);
      }
    } catch (error) {
      this.#logger.error({ err: error }, "nats status stream failed");
    }
    await connection.closed();
  }

  #onStatus(status: Status): void {
    switch (status.type) {
      case "disconnect":
        this.#lastFailure = "the connection to the server was lost";
        this.#setState("reconnecting", `disconnected from ${status.server}`);
        this.#failPending("the connection to the server was lost");
        return;
      case "reconnecting":
        this.#reconnectAttempt++;
        this.#reconnectDelayMs = backoffDelayMs(this.#reconnectAttempt, this.#options.reconnect);
        this.#logger.debug({ attempt: this.#reconnectAttempt }, "nats reconnect attempt");
        return;
      case "reconnect":
        this.#reconnectAttempt = 0;
        this.#reconnectDelayMs = 0;
        this.#lastFailure = undefined;
        this.#setState("connected", `reconnected to ${status.server}`);
        return;
      case "error":
        this.#onServerError(status.error);
        return;
      case "ldm":
        this.#logger.warn({ server: status.server }, "nats server entered lame duck mode; the client will move to another server");
        return;
      case "staleConnection":
        this.#logger.warn({ endpoint: this.#options.endpoint }, "nats connection is stale (PINGs unanswered); reconnecting");
        return;
      case "slowConsumer":
        this.#logger.warn({ pending: status.pending }, "nats subscription is a slow consumer");
        return;
      case "update":
      case "ping":
      case "forceReconnect":
      case "close":
        return;
    }
  }

  #onServerError(error: Error): void {
    if (error instanceof PermissionViolationError) {
      // The subject is tenant data, so only the operation is logged.
      this.#logger.warn({ operation: error.operation }, "nats server denied an operation (permissions violation)");
      if (error.operation === "publish") {
        this.#violations.push({ sequence: ++this.#violationSequence, subject: error.subject });
        if (this.#violations.length > MAX_RECORDED_VIOLATIONS) {
          this.#violations.shift();
        }
      }
      return;
    }

    this.#lastFailure = describeNatsFailure(error);
    this.#logger.warn({ reason: this.#lastFailure }, "nats server reported an error");
  }

  /** The one place where the state changes. Nothing leaves "closed". */
  #setState(to: NatsConnectionState, reason: string): void {
    const from = this.#state;
    if (from === to || from === "closed") {
      return;
    }

    this.#state = to;
    this.#stateSinceMs = Date.now();
    const record = { from, to, endpoint: this.#options.endpoint, reason };
    if (to === "reconnecting") {
      this.#logger.warn(record, `nats connection ${from} -> ${to}`);
    } else {
      this.#logger.info(record, `nats connection ${from} -> ${to}`);
    }

    const waiters = [...this.#stateWaiters];
    this.#stateWaiters.clear();
    waiters.forEach((wake) => wake());
  }

  async #waitWhileConnecting(timeoutMs: number): Promise<void> {
    const deadline = Date.now() + timeoutMs;
    while (this.#state === "connecting") {
      const remainingMs = deadline - Date.now();
      if (remainingMs <= 0) {
        return;
      }
      await new Promise<void>((resolve) => {
        const wake = (): void => {
          clearTimeout(timer);
          this.#stateWaiters.delete(wake);
          resolve();
        };
        const timer = setTimeout(wake, remainingMs);
        this.#stateWaiters.add(wake);
      });
    }
  }

  /** Settles with `operation`, or rejects on timeout or when the connection drops first. */
  #guard<T>(operation: Promise<T>, context: NatsCallContext): Promise<T> {
    return new Promise<T>((resolve, reject) => {
      const settle = (): void => {
        clearTimeout(timer);
        this.#pending.delete(onDrop);
      };
      const onDrop = (detail: string): void => {
        settle();
        reject(natsUnavailable(context, detail));
      };
      const timer = setTimeout(() => {
        settle();
        reject(natsTimeout(context));
      }, context.timeoutMs);

      this.#pending.add(onDrop);
      operation.then(
        (value) => {
          settle();
          resolve(value);
        },
        (error: unknown) => {
          settle();
          reject(toNatsError(error, context));
        },
      );
    });
  }

  #withTimeout<T>(operation: Promise<T>, timeoutMs: number): Promise<T> {
    const context: NatsCallContext = { endpoint: this.#options.endpoint, operation: "connect", timeoutMs };
    return new Promise<T>((resolve, reject) => {
      const timer = setTimeout(() => reject(natsTimeout(context)), timeoutMs);
      operation.then(
        (value) => {
          clearTimeout(timer);
          resolve(value);
        },
        (error: unknown) => {
          clearTimeout(timer);
          reject(error instanceof Error ? error : new Error(String(error)));
        },
      );
    });
  }

  #failPending(detail: string): void {
    const pending = [...this.#pending];
    this.#pending.clear();
    pending.forEach((fail) => fail(detail));
  }

  /** Waits between connection attempts; close() ends the wait early. */
  async #pause(delayMs: number): Promise<void> {
    try {
      await sleep(delayMs, undefined, { signal: this.#stop.signal });
    } catch {
      // Aborted by close(); the loop condition ends the run.
    }
  }

  #failureSuffix(): string {
    return this.#lastFailure === undefined ? "" : ` (last error: ${this.#lastFailure})`;
  }
}
