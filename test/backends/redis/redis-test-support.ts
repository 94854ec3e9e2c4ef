import { spawn, type ChildProcess } from "node:child_process";
import { randomUUID } from "node:crypto";
import { once } from "node:events";
import { createServer } from "node:net";
import { Redis } from "ioredis";
import { escapeGlob } from "../../../src/backends/redis/channel-pattern.js";
import { parseRedisEndpoint } from "../../../src/backends/redis/redis-options.js";
import { DEFAULT_KEY_FORMAT, PrefixStrategy } from "../../../src/isolation/prefix-strategy.js";
export { ParsedLog as CapturedLog, captureLogger, silentLogger } from "../../support/test-logs.js";

/** The shared Redis the tests use; override with PRISM_TEST_REDIS_URL. */
export const TEST_REDIS = parseRedisEndpoint(process.env["PRISM_TEST_REDIS_URL"] ?? "redis://127.0.0.1:6379");

export const KEYS = new PrefixStrategy(DEFAULT_KEY_FORMAT, "key");

/** Returns a tenant id that no other run uses. */
export function uniqueTenant(): string {
  return `t${randomUUID().slice(0, 8)}`;
}



/** Creates a plain client outside every driver, like an operator's redis-cli. */
export function rawClient(target: { host: string; port: number } = TEST_REDIS): Redis {
  return new Redis({ host: target.host, port: target.port, maxRetriesPerRequest: 1 });
}

/** Lists every physical key under the tenant's prefix with SCAN MATCH. */
export async function scanTenantKeys(raw: Redis, tenantId: string, strategy = KEYS): Promise<string[]> {
  const match = `${escapeGlob(strategy.prefixFor(tenantId))}*`;
  const keys: string[] = [];
  let cursor = "0";
  do {
    const [next, batch] = await raw.scan(cursor, "MATCH", match, "COUNT", 1000);
    keys.push(...batch);
    cursor = next;
  } while (cursor !== "0");
  return keys.sort();
}

/** Deletes every key under the tenant's prefix. */
export async function deleteTenantKeys(raw: Redis, tenantId: string, strategy = KEYS): Promise<void> {
  const keys = await scanTenantKeys(raw, tenantId, strategy);
  if (keys.length > 0) {
    await raw.unlink(...keys);
  }
}

/** Polls a condition that has no event to await, such as a health state. */
export async function waitUntil(condition: () => boolean | Promise<boolean>, what: string, timeoutMs = 10_000): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (!(await condition())) {
    if (Date.now() > deadline) {
      throw new Error(`timed out after ${timeoutMs} ms waiting for ${what}`);
    }
    await new Promise((resolve) => setTimeout(resolve, 20));
  }
}

/** Resolves with the first item the predicate accepts, as items are pushed. */
export function nextMatching<T>(items: T[], predicate: (item: T) => boolean, what: string): Promise<T> {
  return waitUntil(() => items.some(predicate), what).then(() => items.find(predicate) as T);
}

/** Finds a free TCP port on loopback by binding port 0. */
export async function freePort(): Promise<number> {
  const server = createServer();
  server.listen(0, "127.0.0.1");
  await once(server, "listening");
  const address = server.address();
  server.close();
  await once(server, "close");
  if (address === null || typeof address === "string") {
    throw new Error("could not read the port of a bound server");
  }
  return address.port;
}

/** A redis-server of the test's own on loopback, without persistence. */
export class PrivateRedis {
  readonly host = "127.0.0.1";
  #process: ChildProcess | undefined;

  private constructor(readonly port: number) {}

  static async start(port?: number): Promise<PrivateRedis> {
    const server = new PrivateRedis(port ?? (await freePort()));
    await server.restart();
    return server;
  }

  get target(): { host: string; port: number } {
    return { host: this.host, port: this.port };
  }

  /** Starts the server on its port; resolves once it accepts connections. */
  async restart(): Promise<void> {
    if (this.#process !== undefined) {
      throw new Error("the private redis-server is already running");
    }
    const child = spawn(
      "redis-server",
      ["--port", String(this.port), "--bind", this.host, "--save", "", "--appendonly", "no", "--loglevel", "warning"],
      { stdio: ["ignore", "pipe", "pipe"] },
    );
    this.#process = child;
    child.stdout?.resume();
    child.stderr?.resume();

    // Queued until the server accepts the connection, retried every 20 ms.
    const probe = new Redis({ ...this.target, retryStrategy: () => 20, maxRetriesPerRequest: null });
    probe.on("error", () => undefined);
    const exited = once(child, "exit").then(([code]) => {
      throw new Error(`redis-server on port ${this.port} exited with ${String(code)} during start`);
    });
    try {
      await Promise.race([probe.ping(), exited]);
    } finally {
      exited.catch(() => undefined);
      probe.disconnect();
    }
  }

  /** Kills the server with SIGKILL, as a crash would, and waits for it to exit. */
  async kill(): Promise<void> {
    const child = this.#process;
    this.#process = undefined;
    if (child === undefined || child.exitCode !== null || child.signalCode !== null) {
      return;
    }
    const exited = once(child, "exit");
    child.kill("SIGKILL");
    await exited;
  }
}
