import { describe, it } from "node:test";
import assert from "node:assert/strict";
import { randomBytes } from "node:crypto";
import { Redis } from "ioredis";
import { Code, ConnectError, type Client } from "@connectrpc/connect";
import type { DriverPoolStats } from "../../src/backends/driver-set.js";
import { parseConfig } from "../../src/config/load.js";
import type { IsolationLevel, PrismConfig } from "../../src/config/model.js";
import { KeyValueBasicInterface } from "../../src/gen/prism/interfaces/keyvalue/keyvalue_basic_pb.js";
import { PubSubBasicInterface, type Message } from "../../src/gen/prism/interfaces/pubsub/pubsub_basic_pb.js";
import { CapturedLog, DEMO_KEYS, eventually, startTestProxy, type TestProxy, sessionClient } from "../support/test-proxy.js";

/** The shared NATS server; PRISM_TEST_NATS_URL overrides it. */
const NATS_ENDPOINT = process.env["PRISM_TEST_NATS_URL"] ?? "127.0.0.1:4222";
/** Topics of this run start with it, so runs on the shared server never see each other's messages. */
const run = `run${randomBytes(4).toString("hex")}`;
const encoder = new TextEncoder();
const decoder = new TextDecoder();

type PubSubClient = Client<typeof PubSubBasicInterface>;

function useNats(config: PrismConfig, level: IsolationLevel, pools: string): void {
  config.backends.nats = { endpoint: NATS_ENDPOINT, isolation: { type: "subject_hierarchy", format: "tenant.{tenant_id}.{subject}" } };
  config.interfaces.pubsub = { backend: "nats" };
  config.tenants.forEach((tenant) => (tenant.isolation_level = level));
  config.proxy.connection_pools = parseConfig(pools, "pools.yaml", {}).proxy.connection_pools;
}

/** Returns the statistics of one pool policy of the proxy. */
function policyStats(gateway: TestProxy, backend: string, serves: DriverPoolStats["serves"]): DriverPoolStats {
  const stats = gateway.proxy.drivers.poolStats().find((candidate) => candidate.serves === serves && candidate.backend === backend);
  assert.ok(stats, `the proxy has no ${backend} ${serves} pool policy`);
  return stats;
}

function natsPools(gateway: TestProxy): DriverPoolStats {
  return policyStats(gateway, "nats", "pubsub");
}

function inUse(gateway: TestProxy, namespace?: string, stats = natsPools(gateway)): number {
  return stats.pools
    .filter((pool) => namespace === undefined || pool.namespace === namespace)
    .reduce((sum, pool) => sum + pool.inUse, 0);
}

/** An open Subscribe stream: its messages so far, how it ended, and the controller that cancels it. */
interface OpenStream {
  messages: Message[];
  /** Resolves with the stream's error, or undefined when it ended without one. */
  done: Promise<ConnectError | undefined>;
  stop: AbortController;
}

function subscribe(client: PubSubClient, topic: string): OpenStream {
  const stop = new AbortController();
  const messages: Message[] = [];
  const done = (async () => {
    try {
      for await (const message of client.subscribe({ topic }, { signal: stop.signal })) {
        messages.push(message);
      }
      return undefined;
    } catch (error) {
      return ConnectError.from(error);
    }
  })();
  return { messages, done, stop };
}

async function cancel(stream: OpenStream): Promise<void> {
  stream.stop.abort();
  const error = await stream.done;
  assert.ok(error === undefined || error.code === Code.Canceled, `the stream ended with ${error?.message}`);
}

function payloads(stream: OpenStream): string[] {
  return stream.messages.map((message) => decoder.decode(message.payload));
}


describe("isolation levels on NATS PubSub", () => {
  it("none: namespaces share one pool's connections", async () => {
    const gateway = await startTestProxy((config) =>
      useNats(config, "none", "proxy:\n  connection_pools:\n    nats:\n      max_connections: 4\n      shared: true\n"),
    );
    try {
      const acme = gateway.client(PubSubBasicInterface, { namespace: "acme-prod", apiKey: DEMO_KEYS.acme });
      const globex = gateway.client(PubSubBasicInterface, { namespace: "globex-prod", apiKey: DEMO_KEYS.globex });
      for (let index = 0; index < 3; index++) {
        await acme.publish({ topic: `${run}.none`, payload: encoder.encode("a") });
        await globex.publish({ topic: `${run}.none`, payload: encoder.encode("g") });
      }
      let stats = natsPools(gateway);
      assert.equal(stats.pools.length, 1, "each namespace got a pool of its own");
      assert.equal(stats.pools[0]?.level, "none");
      assert.equal(stats.pools[0]?.created, 1, "sequential publishes of two namespaces opened more than one connection");

      // The subscription holds the one connection, so globex's publish opens a second.
      const acmeStream = subscribe(acme, `${run}.none`);
      await eventually(() => inUse(gateway) === 1, "acme's subscription to hold a connection");
      await globex.publish({ topic: `${run}.none`, payload: encoder.encode("globex") });
      await acme.publish({ topic: `${run}.none`, payload: encoder.encode("acme") });
      await eventually(() => acmeStream.messages.length === 1, "acme's message");
      assert.deepEqual(payloads(acmeStream), ["acme"]);
      await cancel(acmeStream);
      await eventually(() => inUse(gateway) === 0, "acme's subscription to return its connection");

      // globex's subscription reuses a connection that acme used.
      const globexStream = subscribe(globex, `${run}.none`);
      await eventually(() => inUse(gateway) === 1, "globex's subscription to hold a connection");
      await globex.publish({ topic: `${run}.none`, payload: encoder.encode("globex again") });
      await eventually(() => globexStream.messages.length === 1, "globex's message");
      assert.deepEqual(payloads(globexStream), ["globex again"]);
      await cancel(globexStream);

      stats = natsPools(gateway);
      assert.equal(stats.pools.length, 1);
      assert.equal(stats.pools[0]?.created, 2, "the shared pool opened a connection per request instead of reusing them");
    } finally {
      await gateway.close();
    }
  });

  it("namespace: one namespace's subscriptions cannot exhaust another's connections", async () => {
    const gateway = await startTestProxy((config) =>
      useNats(
        config,
        "namespace",
        "proxy:\n  connection_pools:\n    per_namespace: true\n    nats:\n      connections_per_namespace: 2\n      max_total_connections: 10\n",
      ),
    );
    try {
      const acme = gateway.client(PubSubBasicInterface, { namespace: "acme-prod", apiKey: DEMO_KEYS.acme });
      const globex = gateway.client(PubSubBasicInterface, { namespace: "globex-prod", apiKey: DEMO_KEYS.globex });
      const held = [subscribe(acme, `${run}.ns.one`), subscribe(acme, `${run}.ns.two`)];
      await eventually(() => inUse(gateway, "acme-prod") === 2, "acme's subscriptions to hold both its connections");

      const startedAt = performance.now();
      const refused = subscribe(acme, `${run}.ns.three`);
      // A publish leases from the same pool, so it waits and fails as well.
      const refusedPublish = acme.publish({ topic: `${run}.ns.one`, payload: encoder.encode("late") }).then(
        () => undefined,
        (error: unknown) => ConnectError.from(error),
      );

      const globexStream = subscribe(globex, `${run}.ns.one`);
      await eventually(() => inUse(gateway, "globex-prod") === 1, "globex's subscription");
      await globex.publish({ topic: `${run}.ns.one`, payload: encoder.encode("globex") });
      await eventually(() => globexStream.messages.length === 1, "globex's message");
      const globexElapsedMs = performance.now() - startedAt;
      assert.ok(globexElapsedMs < 2000, `globex waited ${globexElapsedMs.toFixed(0)} ms behind acme's full pool`);
      assert.deepEqual(payloads(globexStream), ["globex"]);

      const refusal = await refused.done;
      assert.equal(refusal?.code, Code.ResourceExhausted, `the extra subscription ended with ${refusal?.message}`);
      assert.match(refusal.rawMessage, /connection_pools\.nats\.connections_per_namespace/);
      const publishRefusal = await refusedPublish;
      assert.equal(publishRefusal?.code, Code.ResourceExhausted, `the publish ended with ${publishRefusal?.message}`);

      const namespaces = natsPools(gateway)
        .pools.map((pool) => `${pool.level}/${pool.namespace}`)
        .sort();
      assert.deepEqual(namespaces, ["namespace/acme-prod", "namespace/globex-prod"]);

      await Promise.all([...held, globexStream].map((stream) => cancel(stream)));
      await eventually(() => inUse(gateway) === 0, "every subscription to return its connection");
      assert.equal(gateway.proxy.drivers.pubSub.subscriptionCount(), 0);
    } finally {
      await gateway.close();
    }
  });

  it("session: no connection serves two sessions, and all close with the session", async () => {
    const audit = new CapturedLog();
    const gateway = await startTestProxy(
      (config) => {
        useNats(config, "session", "proxy:\n  connection_pools:\n    nats:\n      max_connections: 10\n      per_session_limit: 3\n");
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
      const streams = [first, second].flatMap((client) => [
        subscribe(client.pubSub, `${run}.session.a`),
        subscribe(client.pubSub, `${run}.session.b`),
      ]);
      await eventually(() => inUse(gateway) === 4, "four subscriptions to hold a connection each");
      await first.pubSub.publish({ topic: `${run}.session.a`, payload: encoder.encode("from first") });
      await second.pubSub.publish({ topic: `${run}.session.b`, payload: encoder.encode("from second") });
      await eventually(() => streams.every((stream) => stream.messages.length === 1), "one message per subscription");
      assert.deepEqual(streams.map(payloads), [["from first"], ["from second"], ["from first"], ["from second"]]);

      const events = (): Record<string, unknown>[] => audit.lines.map((line) => JSON.parse(line) as Record<string, unknown>);
      const established = (): Record<string, unknown>[] =>
        events().filter((event) => event["event"] === "connection_established" && event["backend"] === "nats");
      await eventually(() => established().length >= 4, "a connection event per subscription");

      const owners = new Map<string, Set<string>>();
      for (const event of established()) {
        const connection = String(event["connection_id"]);
        const sessions = owners.get(connection) ?? new Set<string>();
        sessions.add(String(event["session_id"]));
        owners.set(connection, sessions);
      }
      assert.equal(new Set([...owners.values()].flatMap((sessions) => [...sessions])).size, 2, "expected two sessions");
      for (const [connection, sessions] of owners) {
        assert.match(connection, /^\d+$/, `connection id ${connection} is not a NATS client id`);
        assert.equal(sessions.size, 1, `NATS client ${connection} served sessions ${[...sessions].join(", ")}`);
      }
      const ids = [...owners.keys()];
      assert.ok(ids.length >= 4, `four subscriptions opened only ${ids.length} connections`);
      assert.ok(ids.length <= 6, `two sessions with per_session_limit 3 opened ${ids.length} connections`);
      const sessionPools = natsPools(gateway).pools.filter((pool) => pool.level === "session");
      assert.equal(sessionPools.length, 2, "expected one pool per session");

      first.close();
      second.close();
      const closedAt = Date.now();
      const closed = (): Set<string> =>
        new Set(
          events()
            .filter((event) => event["event"] === "connection_closed" && event["backend"] === "nats")
            .map((event) => String(event["connection_id"])),
        );
      await eventually(() => ids.every((id) => closed().has(id)), "every session connection to close", 1000);
      const elapsedMs = Date.now() - closedAt;
      assert.ok(elapsedMs < 1000, `the session connections closed ${elapsedMs} ms after the sessions ended`);
      await Promise.all(streams.map((stream) => stream.done));
      assert.equal(gateway.proxy.drivers.pubSub.subscriptionCount(), 0);
    } finally {
      await gateway.close();
    }
  });
});

/** Returns the ids of the Redis connections that CLIENT LIST shows under this client name. */
async function redisClientIds(raw: Redis, name: string): Promise<string[]> {
  const list = String(await raw.client("LIST"));
  return list
    .split("\n")
    .filter((line) => line.includes(` name=${name} `))
    .map((line) => /(?:^|\s)id=(\d+)/.exec(line)?.[1] ?? "");
}

describe("isolation levels on Redis PubSub", () => {
  it("none: PubSub connections stay apart from key-value ones", async () => {
    const raw = new Redis({ host: "127.0.0.1", port: 6379 });
    const gateway = await startTestProxy((config) => {
      config.backends.redis = { endpoint: "127.0.0.1:6379", isolation: { type: "keyspace_prefix", format: "tenant:{tenant_id}:{key}" } };
      config.interfaces.keyvalue = { backend: "redis" };
      config.interfaces.pubsub = { backend: "redis" };
      config.tenants.forEach((tenant) => (tenant.isolation_level = "none"));
      config.proxy.connection_pools = parseConfig(
        "proxy:\n  connection_pools:\n    redis:\n      max_connections: 4\n",
        "pools.yaml",
        {},
      ).proxy.connection_pools;
    });
    try {
      const acme = gateway.client(PubSubBasicInterface, { namespace: "acme-prod", apiKey: DEMO_KEYS.acme });
      const globex = gateway.client(PubSubBasicInterface, { namespace: "globex-prod", apiKey: DEMO_KEYS.globex });
      const acmeKeyValue = gateway.client(KeyValueBasicInterface, { namespace: "acme-prod", apiKey: DEMO_KEYS.acme });
      const pubSubStats = (): DriverPoolStats => policyStats(gateway, "redis", "pubsub");

      await acmeKeyValue.set({ key: `${run}-redis`, value: new Uint8Array([1]) });
      const acmeStream = subscribe(acme, `${run}.redis`);
      await eventually(() => inUse(gateway, undefined, pubSubStats()) === 1, "acme's subscription to hold a connection");
      await globex.publish({ topic: `${run}.redis`, payload: encoder.encode("globex") });
      await acme.publish({ topic: `${run}.redis`, payload: encoder.encode("acme") });
      await eventually(() => acmeStream.messages.length === 1, "acme's message");
      assert.deepEqual(payloads(acmeStream), ["acme"]);
      const found = await acmeKeyValue.get({ key: `${run}-redis` });
      assert.equal(found.found, true, "a key-value request failed while PubSub held connections");

      const keyValueIds = await redisClientIds(raw, "prism-pool-none");
      const pubSubIds = await redisClientIds(raw, "prism-pubsub-pool-none");
      assert.equal(keyValueIds.length, 1);
      assert.equal(pubSubIds.length, 2);
      assert.ok(pubSubIds.every((id) => !keyValueIds.includes(id)), "a connection served both key-value and PubSub");
      assert.equal(policyStats(gateway, "redis", "keyvalue").pools[0]?.created, 1);

      // The connection that carried the subscription is the most recently idle one, so the next publish takes it.
      await cancel(acmeStream);
      await eventually(() => inUse(gateway, undefined, pubSubStats()) === 0, "the subscription to return its connection");
      await globex.publish({ topic: `${run}.redis`, payload: encoder.encode("after") });
      const pool = pubSubStats().pools[0];
      assert.equal(pool?.created, 2, "the PubSub pool opened a third connection");
      assert.equal(pool?.destroyed, 0, "the connection that carried a subscription was not reused");
    } finally {
      await gateway.close();
      await raw.del(`tenant:acme:${run}-redis`);
      raw.disconnect();
    }
  });
});
