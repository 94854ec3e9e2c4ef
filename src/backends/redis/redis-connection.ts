import type { Socket } from "node:net";
import { Redis, type RedisOptions } from "ioredis";
import type { BackendState } from "../driver.js";
import { backoffDelayMs } from "../backoff.js";
import type { Logger } from "../../observability/logger.js";
import { driverClosedError, notConnectedError, replyCode, toRedisError, type RedisCallContext } from "./redis-errors.js";
import type { ResolvedRedisOptions } from "./redis-options.js";

/** Credentials of a connection that authenticates as someone other than the main user. */
export interface RedisCredentials {
  username: string;
  password: string;
}

export interface RedisConnectionSettings {
  options: ResolvedRedisOptions;
  /** Purpose of the connection, shown in logs and CLIENT LIST, such as "keyvalue" or "subscriber". */
  role: string;
  /** The tenant whose ACL user the connection authenticates as, if any. */
  tenantId?: string;
  /** Overrides the main user's credentials, for tenant ACL connections. */
  credentials?: RedisCredentials;
  /**
   * Runs before the first connect and again after a failed attempt, for example to
   * create the tenant's ACL user. The connection stays "connecting" until it resolves.
   */
  prepare?: () => Promise<void>;
  /** Called when the server rejects the credentials, for example after a restart lost the ACL user. */
  onAuthenticationFailure?: () => void;
}

/**
 * One ioredis client with Prism's lifecycle around it. ioredis reconnects on its own,
 * with the backoff of src/backends/backoff.ts. This class derives the health state from
 * the client's events in one place and logs every change as `from -> to`. It also makes
 * calls fail fast with UNAVAILABLE while the connection is down, and maps every failure.
 *
 * ioredis is configured so that no command waits for a connection: the offline queue
 * is off, a command in flight when the connection drops is rejected at once
 * (maxRetriesPerRequest 0) and never resent, and every command has a reply timeout.
 */
export class RedisConnection {
  readonly client: Redis;
  readonly role: string;
  readonly tenantId: string | undefined;
  readonly #options: ResolvedRedisOptions;
  readonly #log: Logger;
  readonly #prepare: (() => Promise<void>) | undefined;
  readonly #onAuthenticationFailure: (() => void) | undefined;

  #state: BackendState = "connecting";
  #detail: string | undefined;
  #everReady = false;
  /** Set when the last command timed out on a connection ioredis still calls ready. */
  #stalled = false;
  #lastError: Error | undefined;
  #starting: Promise<void> | undefined;
  #startRequested = false;
  #closing: Promise<void> | undefined;
  readonly #readyWaiters = new Set<() => void>();

  constructor(settings: RedisConnectionSettings) {
    const options = settings.options;
    this.#options = options;
    this.role = settings.role;
    this.tenantId = settings.tenantId;
    this.#prepare = settings.prepare;
    this.#onAuthenticationFailure = settings.onAuthenticationFailure;
    this.#log = options.logger.child({
      component: "redis",
      role: settings.role,
      endpoint: options.endpoint,
      ...(settings.tenantId === undefined ? {} : { tenantId: settings.tenantId }),
    });

    this.client = new Redis(clientOptions(options, settings));
    this.client.on("ready", () => this.#onReady());
    this.client.on("error", (error: Error) => this.#onError(error));
    this.client.on("close", () => this.#onDisconnected());
    this.client.on("reconnecting", () => this.#onDisconnected());

    if (settings.prepare === undefined) {
      void this.#start().catch(() => undefined);
    }
  }

  get state(): BackendState {
    return this.#state;
  }

  /** Whether a command sent now is written to a live connection. */
  get usable(): boolean {
    return this.#usableNow();
  }

  /** Whether close() was called. */
  get closed(): boolean {
    return this.#closing !== undefined;
  }

  /** Whether the connection has never been asked to connect (a tenant connection before its first call). */
  get idle(): boolean {
    return !this.#startRequested && this.#closing === undefined;
  }

  /** Reason the connection is not ready, for health output; undefined while it is ready. */
  get detail(): string | undefined {
    return this.#detail;
  }

  /** Returns the context that error messages need for a call on this connection. */
  callContext(write: boolean): RedisCallContext {
    return { endpoint: this.#options.endpoint, write, commandTimeoutMs: this.#options.commandTimeoutMs };
  }

  /**
   * Runs one call on the client and maps any failure to a PrismError. While the first
   * connection is being made, the call waits for it up to the command timeout. After
   * that, the call fails at once whenever the connection is down.
   */
  async run<T>(write: boolean, call: (client: Redis) => Promise<T>): Promise<T> {
    const context = this.callContext(write);
    await this.whenUsable(context);

    try {
      const result = await call(this.client);
      this.noteReply();
      return result;
    } catch (error: unknown) {
      this.noteFailure(error);
      throw toRedisError(error, context);
    }
  }

  /** Resolves once a command can be sent, or throws UNAVAILABLE saying why it cannot. */
  async whenUsable(context: RedisCallContext): Promise<void> {
    if (this.#closing !== undefined) {
      throw driverClosedError(this.#options.endpoint);
    }
    if (this.#usableNow()) {
      return;
    }
    if (this.#everReady) {
      throw notConnectedError(context, this.#detail, this.#lastError);
    }

    await this.#start();
    await this.#waitForReady(context);
  }

  /** Records a reply from the server, which ends a stall. */
  noteReply(): void {
    if (this.#stalled) {
      this.#stalled = false;
      this.#update();
    }
  }

  /** Records a failed command. A timeout on a live connection marks it degraded. */
  noteFailure(error: unknown): void {
    if (error instanceof Error && error.message === "Command timed out") {
      this.#stalled = true;
      this.#update();
      return;
    }
    if (replyCode(error) !== undefined) {
      // An error reply is still a reply: the server is responsive.
      this.noteReply();
    }
  }

  /** Disconnects, stops reconnecting and rejects every pending command. Idempotent. */
  close(): Promise<void> {
    this.#closing ??= this.#close();
    return this.#closing;
  }

  async #close(): Promise<void> {
    this.#wakeWaiters();
    this.#update();

    const status = this.client.status;
    if (status === "end") {
      return;
    }

    const ended = new Promise<void>((resolve) => this.client.once("end", () => resolve()));
    this.client.disconnect();
    // Without a live socket (waiting to reconnect, or never started) disconnect() only
    // cancels the reconnect timer and no "end" event follows.
    if (status === "connect" || status === "ready" || status === "connecting") {
      await ended;
    }
    this.client.removeAllListeners();
    // ioredis warns on the console about an "error" event without a listener.
    this.client.on("error", () => undefined);
  }

  #start(): Promise<void> {
    this.#startRequested = true;
    this.#starting ??= this.#connect().catch((error: unknown) => {
      // A failed preparation is retried by the next call.
      this.#starting = undefined;
      this.#lastError = error instanceof Error ? error : new Error(String(error));
      this.#update();
      throw error;
    });
    return this.#starting;
  }

  async #connect(): Promise<void> {
    if (this.#prepare !== undefined) {
      await this.#prepare();
    }
    if (this.#closing !== undefined) {
      return;
    }
    // Failures arrive as events and reconnects follow on their own.
    this.client.connect().catch(() => undefined);
  }

  #waitForReady(context: RedisCallContext): Promise<void> {
    if (this.#usableNow()) {
      return Promise.resolve();
    }

    return new Promise((resolve, reject) => {
      const finish = (): void => {
        clearTimeout(timer);
        this.#readyWaiters.delete(finish);
        if (this.#usableNow() && this.#closing === undefined) {
          resolve();
        } else if (this.#closing !== undefined) {
          reject(driverClosedError(this.#options.endpoint));
        } else {
          reject(notConnectedError(context, this.#detail ?? "connecting", this.#lastError));
        }
      };
      const timer = setTimeout(finish, this.#options.commandTimeoutMs);
      this.#readyWaiters.add(finish);
    });
  }

  #wakeWaiters(): void {
    for (const waiter of [...this.#readyWaiters]) {
      waiter();
    }
  }

  /**
   * Whether a command sent now is written. ioredis can report "ready" for a moment after
   * a rejected AUTH when the reply to its ready check arrived in the same read. It has
   * ended the socket by then, so the socket's state decides.
   */
  #usableNow(): boolean {
    const stream = this.client.stream as Socket | undefined;
    return this.client.status === "ready" && stream?.writable === true;
  }

  #onReady(): void {
    if (!this.#usableNow()) {
      return;
    }
    this.#everReady = true;
    this.#stalled = false;
    this.#lastError = undefined;
    this.#update();
    this.#wakeWaiters();
  }

  #onError(error: Error): void {
    this.#lastError = error;
    const code = replyCode(error);
    if ((code === "WRONGPASS" || code === "NOAUTH") && this.#closing === undefined) {
      this.#onAuthenticationFailure?.();
    }
    this.#update();
  }

  #onDisconnected(): void {
    this.#update();
  }

  /** The only place that changes the state. */
  #update(): void {
    const [next, detail] = this.#derive();
    this.#detail = detail;
    if (next === this.#state) {
      return;
    }

    const previous = this.#state;
    this.#state = next;
    const fields = { from: previous, to: next, ...(detail === undefined ? {} : { detail }) };
    if (next === "degraded") {
      this.#log.warn(fields, `redis connection ${previous} -> ${next}`);
    } else {
      this.#log.info(fields, `redis connection ${previous} -> ${next}`);
    }
  }

  #derive(): [BackendState, string | undefined] {
    if (this.#closing !== undefined) {
      return ["closed", "closed by the proxy"];
    }
    if (this.#usableNow()) {
      return this.#stalled ? ["degraded", "commands time out"] : ["ready", undefined];
    }

    const lastError = this.#lastError?.message;
    if (!this.#everReady && lastError === undefined) {
      return ["connecting", "connecting"];
    }
    return ["degraded", lastError ?? "connection lost; reconnecting"];
  }
}

function clientOptions(options: ResolvedRedisOptions, settings: RedisConnectionSettings): RedisOptions {
  const credentials = settings.credentials;
  const tenantConnection = credentials !== undefined;
  return {
    host: options.host,
    port: options.port,
    username: credentials?.username ?? options.username,
    password: credentials?.password ?? options.password,
    db: options.db,
    lazyConnect: true,
    enableOfflineQueue: false,
    maxRetriesPerRequest: 0,
    autoResendUnfulfilledCommands: false,
    // ChannelSubscriber subscribes again itself: a failed ioredis resubscription is an
    // unhandled promise rejection, which ends a Node.js process.
    autoResubscribe: false,
    commandTimeout: options.commandTimeoutMs,
    connectTimeout: options.connectTimeoutMs,
    retryStrategy: (attempt: number) => backoffDelayMs(attempt, options.reconnect),
    // Redis replies to the ready check (INFO) only after AUTH, and ioredis sends no
    // command before that reply, so no command runs as the server's default user after a
    // failed AUTH. The check also waits while the server loads its dataset.
    enableReadyCheck: true,
    // CLIENT SETNAME and SETINFO are not granted to tenant ACL users, whose connections
    // show up in CLIENT LIST under the user name instead.
    disableClientInfo: tenantConnection,
    ...(tenantConnection ? {} : { connectionName: `prism-${settings.role}` }),
  };
}
