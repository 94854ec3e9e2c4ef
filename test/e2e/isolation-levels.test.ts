import { after, describe, it } from "node:test";
import assert from "node:assert/strict";
import { randomBytes } from "node:crypto";
import { once } from "node:events";
import { createConnection, createServer, type Server, type Socket } from "node:net";
import { Redis } from "ioredis";
import { Code, ConnectError } from "@connectrpc/connect";
import type { RedisBackendSettings } from "../../src/backends/redis/redis-config.js";
import { parseConfig } from "../../src/config/load.js";
import type { BackendConfig, IsolationLevel, PrismConfig } from "../../src/config/model.js";
import { KeyValueBasicInterface } from "../../src/gen/prism/interfaces/keyvalue/keyvalue_basic_pb.js";
import { CapturedLog, DEMO_KEYS, eventually, startTestProxy, sessionClient } from "../support/test-proxy.js";

const REDIS_PORT = 6379;
const run = randomBytes(4).toString("hex");
const raw = new Redis({ host: "127.0.0.1", port: REDIS_PORT, lazyConnect: true });

/** A TCP relay to Redis that can stop passing replies on one of its connections, as a hung backend would. */
class HangingRelay {
  readonly #server: Server;
  readonly #pairs: { client: Socket; upstream: Socket }[] = [];

  constructor() {
    this.#server = createServer((client) => {
      const upstream = createConnection({ host: "127.0.0.1", port: REDIS_PORT });
      for (const socket of [client, upstream]) {
        socket.on("error", () => socket.destroy());
      }
      client.pipe(upstream);
      upstream.pipe(client);
      this.#pairs.push({ client, upstream });
    });
  }

  async listen(): Promise<string> {
    this.#server.listen(0, "127.0.0.1");
    await once(this.#server, "listening");
    const address = this.#server.address();
    assert.ok(address !== null && typeof address !== "string");
    return `127.0.0.1:${address.port}`;
  }

  get connections(): number {
    return this.#pairs.length;
  }

  /** Stops delivering Redis's replies on the relay's connection at this index. */
  hang(index: number): void {
    const pair = this.#pairs[index];
    assert.ok(pair, `the relay has no connection ${index}`);
    pair.upstream.unpipe(pair.client);
    pair.upstream.pause();
  }

  async close(): Promise<void> {
    this.#pairs.forEach(({ client, upstream }) => {
      client.destroy();
      upstream.destroy();
    });
    this.#server.close();
    await once(this.#server, "close");
  }
}

function useRedis(config: PrismConfig, endpoint: string, level: IsolationLevel): void {
  const backend: BackendConfig & RedisBackendSettings = {
    endpoint,
    isolation: { type: "keyspace_prefix", format: "tenant:{tenant_id}:{key}" },
    command_timeout: 500,
  };
  config.backends.redis = backend;
  config.interfaces.keyvalue = { backend: "redis" };
  config.tenants.forEach((tenant) => (tenant.isolation_level = level));
}

function pools(text: string): PrismConfig["proxy"]["connection_pools"] {
  return parseConfig(text, "pools.yaml", {}).proxy.connection_pools;
}


async function clientIds(name: string): Promise<string[]> {
  const list = String(await raw.client("LIST"));
  return list
    .split("\n")
    .filter((line) => line.includes(` name=${name} `))
    .map((line) => /(?:^|\s)id=(\d+)/.exec(line)?.[1] ?? "");
}

async function deleteRunKeys(): Promise<void> {
  for (const tenant of ["acme", "globex"]) {
    const keys = await raw.keys(`tenant:${tenant}:${run}-*`);
    if (keys.length > 0) {
      await raw.del(...keys);
    }
  }
}

describe("isolation levels on Redis", () => {
  after(async () => {
    await deleteRunKeys();
    raw.disconnect();
  });

  it("none: namespaces share one pool's connections", async () => {
    await raw.connect().catch(() => undefined);
    const gateway = await startTestProxy((config) => {
      useRedis(config, `127.0.0.1:${REDIS_PORT}`, "none");
      config.proxy.connection_pools = pools("proxy:\n  connection_pools:\n    redis:\n      max_connections: 4\n      shared: true\n");
    });
    try {
      const acme = gateway.client(KeyValueBasicInterface, { namespace: "acme-prod", apiKey: DEMO_KEYS.acme });
      const globex = gateway.client(KeyValueBasicInterface, { namespace: "globex-prod", apiKey: DEMO_KEYS.globex });
      for (let index = 0; index < 3; index++) {
        await acme.set({ key: `${run}-none`, value: new Uint8Array([1]) });
        await globex.set({ key: `${run}-none`, value: new Uint8Array([2]) });
      }

      const [stats] = gateway.proxy.drivers.poolStats();
      assert.equal(stats?.pools.length, 1, "each namespace got a pool of its own");
      assert.equal(stats?.pools[0]?.level, "none");
      assert.equal(stats?.pools[0]?.created, 1, "sequential requests of two namespaces opened more than one connection");
      assert.equal((await clientIds("prism-pool-none")).length, 1);
    } finally {
      await gateway.close();
    }
    assert.deepEqual(await clientIds("prism-pool-none"), [], "the shared pool's connection outlived the proxy");
  });

  it("namespace: one namespace's hung pool does not slow another", async () => {
    await raw.connect().catch(() => undefined);
    const relay = new HangingRelay();
    const endpoint = await relay.listen();
    const gateway = await startTestProxy((config) => {
      useRedis(config, endpoint, "namespace");
      config.proxy.connection_pools = pools(
        "proxy:\n  connection_pools:\n    per_namespace: true\n    redis:\n      connections_per_namespace: 1\n      max_total_connections: 10\n",
      );
    });
    try {
      const acme = gateway.client(KeyValueBasicInterface, { namespace: "acme-prod", apiKey: DEMO_KEYS.acme });
      const globex = gateway.client(KeyValueBasicInterface, { namespace: "globex-prod", apiKey: DEMO_KEYS.globex });
      // Opens the driver's own connection and acme's pooled one.
      await acme.set({ key: `${run}-ns`, value: new Uint8Array([1]) });
      relay.hang(relay.connections - 1);

      const stuck = Promise.all(
        [1, 2, 3].map(() =>
          acme.get({ key: `${run}-ns` }).then(
            () => undefined,
            (error: unknown) => ConnectError.from(error),
          ),
        ),
      );
      for (let index = 0; index < 5; index++) {
        const startedAt = performance.now();
        await globex.set({ key: `${run}-ns`, value: new Uint8Array([index]) });
        const elapsedMs = performance.now() - startedAt;
        assert.ok(elapsedMs < 400, `globex waited ${elapsedMs.toFixed(0)} ms behind acme's hung pool`);
      }

      const failures = (await stuck).filter((failure) => failure !== undefined);
      assert.ok(failures.length > 0, "acme's requests on the hung connection succeeded");
      assert.ok(failures.every((failure) => failure.code === Code.Unavailable || failure.code === Code.ResourceExhausted));

      const namespaces = gateway.proxy.drivers.poolStats()[0]?.pools.map((pool) => pool.namespace).sort();
      assert.deepEqual(namespaces, ["acme-prod", "globex-prod"]);
      assert.deepEqual(gateway.proxy.namespaceReport("globex-prod").connections, [
        { backend: "redis", serves: "keyvalue", in_use: 0, open: 1, limit: 1 },
      ]);
    } finally {
      await gateway.close();
      await relay.close();
    }
  });

  it("session: no connection serves two sessions, and all close with the session", async () => {
    await raw.connect().catch(() => undefined);
    const audit = new CapturedLog();
    const gateway = await startTestProxy(
      (config) => {
        useRedis(config, `127.0.0.1:${REDIS_PORT}`, "session");
        config.proxy.connection_pools = pools(
          "proxy:\n  connection_pools:\n    redis:\n      max_connections: 10\n      per_session_limit: 2\n",
        );
        config.proxy.audit = parseConfig(
          'proxy:\n  audit:\n    log_connection_lifecycle: true\n    log_session_lifecycle: true\n    sinks:\n      - url: "stdout"\n',
          "audit.yaml",
          {},
        ).proxy.audit;
      },
      { auditStdout: audit },
    );
    try {
      const first = sessionClient(gateway, "acme-prod", DEMO_KEYS.acme);
      const second = sessionClient(gateway, "acme-prod", DEMO_KEYS.acme);
      await Promise.all(
        [first, second].flatMap((client, index) =>
          Array.from({ length: 6 }, (_, request) => client.kv.set({ key: `${run}-s${index}-${request}`, value: new Uint8Array([1]) })),
        ),
      );

      const events = (): Record<string, string>[] => audit.lines.map((line) => JSON.parse(line) as Record<string, string>);
      await eventually(() => events().filter((event) => event.event === "connection_established").length >= 2, "connection events");
      const owners = new Map<string, Set<string>>();
      for (const event of events().filter((candidate) => candidate.event === "connection_established")) {
        const sessions = owners.get(event["connection_id"] ?? "") ?? new Set<string>();
        sessions.add(event["session_id"] ?? "");
        owners.set(event["connection_id"] ?? "", sessions);
      }
      assert.equal(new Set([...owners.values()].flatMap((sessions) => [...sessions])).size, 2, "expected two sessions");
      for (const [connection, sessions] of owners) {
        assert.equal(sessions.size, 1, `connection ${connection} served sessions ${[...sessions].join(", ")}`);
      }

      const ids = [...owners.keys()];
      const live = await clientIds("prism-pool-session");
      assert.ok(ids.every((id) => live.includes(id)), "a session connection is missing from CLIENT LIST");
      assert.ok(ids.length <= 4, `two sessions with per_session_limit 2 opened ${ids.length} connections`);

      first.close();
      second.close();
      const closedAt = Date.now();
      await eventually(() => gateway.proxy.sessions.activeCount === 0, "both sessions to end");
      for (;;) {
        const remaining = (await clientIds("prism-pool-session")).filter((id) => ids.includes(id));
        if (remaining.length === 0) {
          break;
        }
        assert.ok(Date.now() - closedAt < 1000, `connections ${remaining.join(", ")} outlived their session by a second`);
        await new Promise((resolve) => setTimeout(resolve, 20));
      }
      await eventually(
        () => events().filter((event) => event.event === "connection_closed").length === ids.length,
        "a connection_closed event per connection",
      );
    } finally {
      await gateway.close();
    }
  });
});
