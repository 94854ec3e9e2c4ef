/**
 * Real connection factories and server-side inspection for the pool tests. Each test
 * gives its connections a client name (Redis CLIENT SETNAME) or application_name
 * (PostgreSQL) that no other run uses, so it can find exactly its own connections in
 * CLIENT LIST or pg_stat_activity.
 */

import { randomBytes } from "node:crypto";
import { once } from "node:events";
import { createServer, type Server, type Socket } from "node:net";
import { Redis } from "ioredis";
import pg from "pg";
import type { ConnectionFactory } from "../../src/pools/connection-factory.js";
export { ParsedLog as CapturedLog, captureLogger, silentLogger } from "../support/test-logs.js";

const redisUrl = new URL(process.env["PRISM_TEST_REDIS_URL"] ?? "redis://127.0.0.1:6379");
/** The shared Redis the tests use; override with PRISM_TEST_REDIS_URL. */
export const TEST_REDIS = { host: redisUrl.hostname, port: redisUrl.port === "" ? 6379 : Number(redisUrl.port) };

/** The shared PostgreSQL the tests use, as its superuser; override with PRISM_TEST_POSTGRES_URL. */
export const TEST_POSTGRES_URL = process.env["PRISM_TEST_POSTGRES_URL"] ?? "postgres://postgres@127.0.0.1:5432/test";

/** Returns a name that no other run uses, valid as a Redis client name and a PostgreSQL application_name. */
export function uniqueName(prefix: string): string {
  return `${prefix}-${randomBytes(5).toString("hex")}`;
}



/** One ioredis client and the id the server gave it (CLIENT ID). */
export interface TestRedisConnection {
  readonly client: Redis;
  readonly id: string;
}

/** Opens real Redis connections, each named with CLIENT SETNAME so CLIENT LIST can find them. */
export class RedisTestFactory implements ConnectionFactory<TestRedisConnection> {
  readonly clientName: string;
  /** Ids that isHealthy reports as unhealthy, to simulate a failed health check. */
  readonly unhealthy = new Set<string>();
  readonly #target: { host: string; port: number };

  constructor(clientName = uniqueName("pool-test"), target = TEST_REDIS) {
    this.clientName = clientName;
    this.#target = target;
  }

  async create(signal: AbortSignal): Promise<TestRedisConnection> {
    const client = new Redis({
      host: this.#target.host,
      port: this.#target.port,
      connectionName: this.clientName,
      lazyConnect: true,
      enableOfflineQueue: false,
      maxRetriesPerRequest: 0,
      connectTimeout: 10_000,
      retryStrategy: () => null,
      // An abort during the ready check makes ioredis disconnect twice, which leaves a 2s
      // timer behind. The CLIENT ID call below checks the connection instead.
      enableReadyCheck: false,
    });
    // Failures surface through the rejected calls below.
    client.on("error", () => undefined);
    const abort = (): void => client.disconnect();
    signal.addEventListener("abort", abort, { once: true });

    try {
      await client.connect();
      const id = await client.client("ID");
      return { client, id: String(id) };
    } catch (error: unknown) {
      // disconnect() on an ended client arms a 2s ioredis timer that keeps the process alive.
      if (client.status !== "end") {
        client.disconnect();
      }
      throw error;
    } finally {
      signal.removeEventListener("abort", abort);
    }
  }

  async destroy(connection: TestRedisConnection): Promise<void> {
    if (connection.client.status === "end") {
      return;
    }
    try {
      await connection.client.quit();
    } catch {
      connection.client.disconnect();
    }
  }

  isHealthy(connection: TestRedisConnection): boolean {
    return connection.client.status === "ready" && !this.unhealthy.has(connection.id);
  }

  describe(connection: TestRedisConnection): { id: string } {
    return { id: connection.id };
  }
}

/** An operator's view of the Redis server: lists and kills clients by name and id. */
export class RedisInspector {
  readonly #client: Redis;

  private constructor(client: Redis) {
    this.#client = client;
  }

  /** Connects and waits for the ready check, so a quick close() cannot cut it short. */
  static async connect(): Promise<RedisInspector> {
    const client = new Redis({ host: TEST_REDIS.host, port: TEST_REDIS.port, maxRetriesPerRequest: 1, lazyConnect: true });
    await client.connect();
    return new RedisInspector(client);
  }

  /** Ids of the clients named `name`, from CLIENT LIST. */
  async idsNamed(name: string): Promise<string[]> {
    const listing = String(await this.#client.client("LIST"));
    const ids: string[] = [];
    for (const line of listing.split("\n")) {
      const fields = new Map(line.trim().split(" ").map((field) => field.split("=", 2) as [string, string]));
      const id = fields.get("id");
      if (fields.get("name") === name && id !== undefined) {
        ids.push(id);
      }
    }
    return ids.sort();
  }

  async kill(id: string): Promise<void> {
    await this.#client.client("KILL", "ID", id);
  }

  async close(): Promise<void> {
    await this.#client.quit();
  }
}

/** One pg client and its server process id (pg_backend_pid()). */
export interface TestPgConnection {
  readonly client: pg.Client;
  readonly id: string;
  ended: boolean;
}

/** Opens real PostgreSQL connections under one application_name, so pg_stat_activity can find them. */
export class PgTestFactory implements ConnectionFactory<TestPgConnection> {
  readonly applicationName = uniqueName("pool-test");

  async create(signal: AbortSignal): Promise<TestPgConnection> {
    const client = new pg.Client({ connectionString: TEST_POSTGRES_URL, application_name: this.applicationName });
    client.on("error", () => undefined);
    const abort = (): void => void client.end().catch(() => undefined);
    signal.addEventListener("abort", abort, { once: true });

    try {
      await client.connect();
      const result = await client.query<{ pid: number }>("SELECT pg_backend_pid() AS pid");
      const connection: TestPgConnection = { client, id: String(result.rows[0]?.pid), ended: false };
      client.on("end", () => {
        connection.ended = true;
      });
      return connection;
    } catch (error: unknown) {
      await client.end().catch(() => undefined);
      throw error;
    } finally {
      signal.removeEventListener("abort", abort);
    }
  }

  async destroy(connection: TestPgConnection): Promise<void> {
    if (!connection.ended) {
      await connection.client.end();
    }
  }

  isHealthy(connection: TestPgConnection): boolean {
    return !connection.ended;
  }

  describe(connection: TestPgConnection): { id: string } {
    return { id: connection.id };
  }
}

/** Process ids of the server backends whose application_name is `name`, from pg_stat_activity. */
export async function pgBackendPids(inspector: pg.Client, name: string): Promise<string[]> {
  const result = await inspector.query<{ pid: number }>("SELECT pid FROM pg_stat_activity WHERE application_name = $1", [name]);
  return result.rows.map((row) => String(row.pid)).sort();
}

/**
 * Polls a condition on server state, which sends no event when it changes, such as a
 * client leaving CLIENT LIST. Throws when it does not hold by the deadline.
 */
export async function waitFor(condition: () => Promise<boolean>, what: string, deadline: number): Promise<void> {
  while (!(await condition())) {
    if (Date.now() > deadline) {
      throw new Error(`${what} did not happen by the deadline`);
    }
    await new Promise((resolve) => setTimeout(resolve, 10));
  }
}

/** Records events and resolves promises when enough matching ones have arrived. */
export class EventRecorder<E> {
  readonly events: E[] = [];
  readonly #pending: { predicate: (event: E) => boolean; count: number; resolve: (events: E[]) => void }[] = [];

  readonly listener = (event: E): void => {
    this.events.push(event);
    for (const pending of [...this.#pending]) {
      this.#check(pending);
    }
  };

  /** Resolves with the matching events once `count` of them have been recorded, counting earlier ones. */
  next(predicate: (event: E) => boolean, count = 1, timeoutMs = 5_000): Promise<E[]> {
    return new Promise<E[]>((resolve, reject) => {
      const timer = setTimeout(() => {
        reject(new Error(`expected ${count} matching events within ${timeoutMs}ms, got ${this.events.filter(predicate).length}`));
      }, timeoutMs);
      const pending = {
        predicate,
        count,
        resolve: (events: E[]) => {
          clearTimeout(timer);
          resolve(events);
        },
      };
      this.#pending.push(pending);
      this.#check(pending);
    });
  }

  #check(pending: { predicate: (event: E) => boolean; count: number; resolve: (events: E[]) => void }): void {
    const matching = this.events.filter(pending.predicate);
    if (matching.length >= pending.count) {
      this.#pending.splice(this.#pending.indexOf(pending), 1);
      pending.resolve(matching);
    }
  }
}

/** Checks whether the promise is still pending once the current microtasks and I/O callbacks have run. */
export async function isPending(promise: Promise<unknown>): Promise<boolean> {
  const marker = Symbol("pending");
  const settled = promise.then(
    () => "settled",
    () => "settled",
  );
  const result = await Promise.race([settled, new Promise((resolve) => setImmediate(() => resolve(marker)))]);
  return result === marker;
}

/** A TCP server on loopback that accepts connections and never replies, so a client's handshake hangs. */
export class SilentServer {
  readonly #server: Server;
  readonly #sockets = new Set<Socket>();

  private constructor(server: Server) {
    this.#server = server;
    server.on("connection", (socket: Socket) => {
      this.#sockets.add(socket);
      // Reading and discarding lets the socket see the client's FIN.
      socket.resume();
      socket.on("error", () => undefined);
      socket.on("close", () => this.#sockets.delete(socket));
    });
  }

  static async start(): Promise<SilentServer> {
    const server = createServer();
    server.listen(0, "127.0.0.1");
    await once(server, "listening");
    return new SilentServer(server);
  }

  get target(): { host: string; port: number } {
    const address = this.#server.address();
    if (address === null || typeof address === "string") {
      throw new Error("the silent server has no TCP address");
    }
    return { host: "127.0.0.1", port: address.port };
  }

  /** Connections that reached the server and are still open. */
  get openSockets(): number {
    return this.#sockets.size;
  }

  async close(): Promise<void> {
    for (const socket of this.#sockets) {
      socket.destroy();
    }
    this.#server.close();
    await once(this.#server, "close");
  }
}
