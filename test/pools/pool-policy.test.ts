import { after, before, describe, it } from "node:test";
import assert from "node:assert/strict";
import pg from "pg";
import { Code, PrismError } from "../../src/errors/prism-error.js";
import type { Lease } from "../../src/pools/lease.js";
import { PoolPolicy, type PolicyPoolEvent, type PoolTarget } from "../../src/pools/pool-policy.js";
import { resolvePoolPolicySettings, type PoolPolicySettings } from "../../src/pools/pool-settings.js";
import {
  captureLogger,
  EventRecorder,
  isPending,
  pgBackendPids,
  PgTestFactory,
  RedisInspector,
  RedisTestFactory,
  silentLogger,
  TEST_POSTGRES_URL,
  waitFor,
  type TestPgConnection,
  type TestRedisConnection,
} from "./pool-test-support.js";

interface RedisPolicy {
  policy: PoolPolicy<TestRedisConnection>;
  factory: RedisTestFactory;
  events: EventRecorder<PolicyPoolEvent>;
  targets: PoolTarget[];
}

function redisPolicy(settings: Partial<PoolPolicySettings>, logger = silentLogger()): RedisPolicy {
  const factory = new RedisTestFactory();
  const events = new EventRecorder<PolicyPoolEvent>();
  const targets: PoolTarget[] = [];
  const policy = new PoolPolicy<TestRedisConnection>({
    backend: "redis",
    settings: { ...resolvePoolPolicySettings("redis", undefined, { connection_reuse: false }), acquireTimeoutMs: 2_000, ...settings },
    factoryFor: (target) => {
      targets.push(target);
      return factory;
    },
    logger,
    onEvent: events.listener,
  });
  return { policy, factory, events, targets };
}

async function rejection(promise: Promise<unknown>): Promise<PrismError> {
  try {
    await promise;
  } catch (error: unknown) {
    assert.ok(error instanceof PrismError, `expected a PrismError, got ${String(error)}`);
    return error;
  }
  assert.fail("expected the promise to reject");
}

function releaseAll<C>(leases: Lease<C>[]): void {
  leases.forEach((lease) => lease.release());
}

describe("pool policy", () => {
  let redis: RedisInspector;

  before(async () => {
    redis = await RedisInspector.connect();
  });

  after(async () => {
    await redis.close();
  });

  describe("isolation level none", () => {
    it("lends the same connections to every namespace", async () => {
      const { policy, factory } = redisPolicy({ maxConnections: 2 });

      const fromA = await policy.acquire({ level: "none", namespace: "tenant-a-prod" });
      fromA.release();
      const fromB = await policy.acquire({ level: "none", namespace: "tenant-b-prod" });
      assert.equal(fromB.connectionId, fromA.connectionId);

      const second = await policy.acquire({ level: "none", namespace: "tenant-a-prod" });
      const shared = [fromB.connectionId, second.connectionId].sort();
      releaseAll([fromB, second]);
      const again = await Promise.all([
        policy.acquire({ level: "none", namespace: "tenant-b-prod" }),
        policy.acquire({ level: "none", namespace: "tenant-a-prod" }),
      ]);

      assert.deepEqual(again.map((lease) => lease.connectionId).sort(), shared);
      assert.deepEqual(await redis.idsNamed(factory.clientName), shared);
      assert.deepEqual(
        policy.stats().pools.map((pool) => [pool.name, pool.level, pool.max]),
        [["redis/shared", "none", 2]],
      );

      releaseAll(again);
      await policy.close();
    });

    it("rejects the level when shared is false", async () => {
      const { policy, targets } = redisPolicy({ shared: false });

      const error = await rejection(policy.acquire({ level: "none", namespace: "tenant-a-prod" }));

      assert.equal(error.code, Code.FailedPrecondition);
      assert.match(error.rawMessage, /connection_pools\.redis\.shared \(or connection_pools\.shared\) is false/);
      assert.deepEqual(targets, []);
      await policy.close();
    });
  });

  describe("isolation level namespace", () => {
    it("opens a pool on a namespace's first acquire", async () => {
      const { policy, factory, targets } = redisPolicy({ connectionsPerNamespace: 2 });
      assert.deepEqual(policy.stats().pools, []);

      const lease = await policy.acquire({ level: "namespace", namespace: "tenant-a-prod" });

      assert.deepEqual(targets, [{ level: "namespace", namespace: "tenant-a-prod" }]);
      assert.deepEqual(await redis.idsNamed(factory.clientName), [lease.connectionId]);
      const [pool] = policy.stats().pools;
      assert.equal(pool?.name, "redis/namespace/tenant-a-prod");
      assert.equal(pool.namespace, "tenant-a-prod");
      assert.equal(pool.inUse, 1);
      assert.equal(pool.max, 2);

      lease.release();
      await policy.close();
    });

    it("serves a namespace at once while another namespace's pool is exhausted", async () => {
      const { policy } = redisPolicy({ connectionsPerNamespace: 2, maxTotalConnections: 10, acquireTimeoutMs: 2_000 });
      const heldByA = [
        await policy.acquire({ level: "namespace", namespace: "tenant-a-prod" }),
        await policy.acquire({ level: "namespace", namespace: "tenant-a-prod" }),
      ];
      const queuedForA = [
        policy.acquire({ level: "namespace", namespace: "tenant-a-prod" }),
        policy.acquire({ level: "namespace", namespace: "tenant-a-prod" }),
      ];

      const started = performance.now();
      const fromB = await policy.acquire({ level: "namespace", namespace: "tenant-b-prod" });
      const tookMs = performance.now() - started;

      const poolA = policy.stats().pools.find((pool) => pool.namespace === "tenant-a-prod");
      assert.equal(poolA?.waiting, 2);
      assert.equal(await isPending(Promise.race(queuedForA)), true);
      // Opening one local Redis connection takes a few milliseconds; the acquire timeout is 2000ms.
      assert.ok(tookMs < 250, `namespace B waited ${tookMs.toFixed(1)}ms behind namespace A`);
      assert.equal(
        heldByA.some((lease) => lease.connectionId === fromB.connectionId),
        false,
      );

      releaseAll(heldByA);
      releaseAll(await Promise.all(queuedForA));
      fromB.release();
      await policy.close();
    });

    it("enforces max_total_connections across namespaces", async () => {
      const { policy, factory } = redisPolicy({ connectionsPerNamespace: 2, maxTotalConnections: 3, acquireTimeoutMs: 200 });
      const openLeases = [
        await policy.acquire({ level: "namespace", namespace: "tenant-a-prod" }),
        await policy.acquire({ level: "namespace", namespace: "tenant-a-prod" }),
        await policy.acquire({ level: "namespace", namespace: "tenant-b-prod" }),
      ];

      const fromB = await rejection(policy.acquire({ level: "namespace", namespace: "tenant-b-prod" }));
      const fromC = await rejection(policy.acquire({ level: "namespace", namespace: "tenant-c-prod" }));

      for (const error of [fromB, fromC]) {
        assert.equal(error.code, Code.ResourceExhausted);
        assert.match(error.rawMessage, /raise connection_pools\.redis\.max_total_connections/);
      }
      assert.equal((await redis.idsNamed(factory.clientName)).length, 3);
      const [namespaceBudget] = policy.stats().budgets.filter((budget) => budget.limitKey.endsWith("max_total_connections"));
      assert.equal(namespaceBudget?.used, 3);
      assert.equal(namespaceBudget.limit, 3);

      releaseAll(openLeases);
      await policy.close();
    });

    it("closes a namespace pool left unused for idle_pool_timeout", async () => {
      const { policy, factory, events } = redisPolicy({ idlePoolTimeoutMs: 100, idleTimeoutMs: 60_000 });
      const lease = await policy.acquire({ level: "namespace", namespace: "tenant-a-prod" });
      lease.release();

      const [closed] = await events.next((event) => event.event === "connection_closed");

      assert.equal(closed?.event === "connection_closed" ? closed.reason : undefined, "pool_idle");
      await waitFor(() => Promise.resolve(policy.stats().pools.length === 0), "the pool to leave the stats", Date.now() + 1_000);
      assert.deepEqual(await redis.idsNamed(factory.clientName), []);

      const again = await policy.acquire({ level: "namespace", namespace: "tenant-a-prod" });
      assert.notEqual(again.connectionId, lease.connectionId);
      again.release();
      await policy.close();
    });

    it("keeps a namespace pool open while it is in use", async () => {
      const { policy, events } = redisPolicy({ idlePoolTimeoutMs: 50 });
      const lease = await policy.acquire({ level: "namespace", namespace: "tenant-a-prod" });

      const other = await policy.acquire({ level: "namespace", namespace: "tenant-b-prod" });
      other.release();
      await events.next((event) => event.event === "connection_closed" && event.namespace === "tenant-b-prod");

      assert.equal(await lease.connection.client.ping(), "PONG");
      assert.deepEqual(
        policy.stats().pools.map((pool) => pool.name),
        ["redis/namespace/tenant-a-prod"],
      );
      lease.release();
      await policy.close();
    });

    it("rejects the level when per_namespace is false", async () => {
      const { policy } = redisPolicy({ perNamespace: false });

      const error = await rejection(policy.acquire({ level: "namespace", namespace: "tenant-a-prod" }));

      assert.equal(error.code, Code.FailedPrecondition);
      assert.match(error.rawMessage, /connection_pools\.per_namespace is false/);
      await policy.close();
    });
  });

  describe("isolation level session", () => {
    it("never lends one connection to two sessions", async () => {
      const { policy } = redisPolicy({ perSessionLimit: 2, maxConnections: 4 });
      const servedBy = new Map<string, Set<string>>();
      const sessions = ["session-1", "session-2"];

      for (let round = 0; round < 10; round++) {
        const leases = await Promise.all(
          sessions.flatMap((sessionId) =>
            Array.from({ length: 1 + (round % 2) }, () => policy.acquire({ level: "session", namespace: "tenant-a-prod", sessionId })),
          ),
        );
        leases.forEach((lease, index) => {
          const sessionId = sessions[round % 2 === 0 ? index : Math.floor(index / 2)] ?? "";
          const served = servedBy.get(lease.connectionId) ?? new Set<string>();
          served.add(sessionId);
          servedBy.set(lease.connectionId, served);
        });
        releaseAll(leases);
      }

      assert.equal(servedBy.size, 4);
      for (const [connectionId, served] of servedBy) {
        assert.equal(served.size, 1, `connection ${connectionId} served ${[...served].join(" and ")}`);
      }
      await policy.close();
    });

    it("limits a session to per_session_limit and all sessions to max_connections", async () => {
      const { policy } = redisPolicy({ perSessionLimit: 2, maxConnections: 3, acquireTimeoutMs: 200 });
      const openLeases = [
        await policy.acquire({ level: "session", namespace: "tenant-a-prod", sessionId: "session-1" }),
        await policy.acquire({ level: "session", namespace: "tenant-a-prod", sessionId: "session-1" }),
        await policy.acquire({ level: "session", namespace: "tenant-a-prod", sessionId: "session-2" }),
      ];

      const overSession = await rejection(policy.acquire({ level: "session", namespace: "tenant-a-prod", sessionId: "session-1" }));
      const overTotal = await rejection(policy.acquire({ level: "session", namespace: "tenant-a-prod", sessionId: "session-3" }));

      assert.equal(overSession.code, Code.ResourceExhausted);
      assert.match(overSession.rawMessage, /redis\/session\/session-1 has all 2 of its connections in use \(limit connection_pools\.redis\.per_session_limit\)/);
      assert.equal(overTotal.code, Code.ResourceExhausted);
      assert.match(overTotal.rawMessage, /redis\/session\/session-3 could not open a connection.*raise connection_pools\.redis\.max_connections/);

      releaseAll(openLeases);
      await policy.close();
    });

    it("closes a session's connections within a second of closeSession", async () => {
      const { policy, factory, events } = redisPolicy({ perSessionLimit: 2 });
      const leased = await policy.acquire({ level: "session", namespace: "tenant-a-prod", sessionId: "session-1" });
      const idle = await policy.acquire({ level: "session", namespace: "tenant-a-prod", sessionId: "session-1" });
      idle.release();
      const other = await policy.acquire({ level: "session", namespace: "tenant-a-prod", sessionId: "session-2" });
      const sessionIds = [leased.connectionId, idle.connectionId];

      const started = Date.now();
      await policy.closeSession("session-1");
      await waitFor(
        async () => (await redis.idsNamed(factory.clientName)).every((id) => !sessionIds.includes(id)),
        "session-1's clients to leave CLIENT LIST",
        started + 1_000,
      );

      assert.deepEqual(await redis.idsNamed(factory.clientName), [other.connectionId]);
      assert.equal(await other.connection.client.ping(), "PONG");
      const closed = events.events.filter((event) => event.event === "connection_closed");
      assert.deepEqual(closed.map((event) => [event.session_id, event.reason]), [
        ["session-1", "session_destroyed"],
        ["session-1", "session_destroyed"],
      ]);
      leased.release();
      await policy.closeSession("session-1");

      other.release();
      await policy.close();
    });

    it("closes a session's pg connections within a second of closeSession", async () => {
      const inspector = new pg.Client({ connectionString: TEST_POSTGRES_URL });
      await inspector.connect();
      const factory = new PgTestFactory();
      const policy = new PoolPolicy<TestPgConnection>({
        backend: "postgres",
        settings: resolvePoolPolicySettings("postgres", { postgres: { per_session_limit: 2 } }, { connection_reuse: false }),
        factoryFor: () => factory,
        logger: silentLogger(),
      });

      try {
        const sessionOne = [
          await policy.acquire({ level: "session", namespace: "tenant-a-prod", sessionId: "session-1" }),
          await policy.acquire({ level: "session", namespace: "tenant-a-prod", sessionId: "session-1" }),
        ];
        const sessionTwo = await policy.acquire({ level: "session", namespace: "tenant-a-prod", sessionId: "session-2" });
        const sessionOnePids = sessionOne.map((lease) => lease.connectionId);
        assert.deepEqual(await pgBackendPids(inspector, factory.applicationName), [...sessionOnePids, sessionTwo.connectionId].sort());
        assert.equal(sessionOnePids.includes(sessionTwo.connectionId), false);
        sessionOne[1]?.release();

        const started = Date.now();
        await policy.closeSession("session-1");
        await waitFor(
          async () => (await pgBackendPids(inspector, factory.applicationName)).every((pid) => !sessionOnePids.includes(pid)),
          "session-1's backends to leave pg_stat_activity",
          started + 1_000,
        );

        const { rows } = await sessionTwo.connection.client.query<{ one: number }>("SELECT 1 AS one");
        assert.equal(rows[0]?.one, 1);
        sessionTwo.release();
      } finally {
        await policy.close();
        await waitFor(
          async () => (await pgBackendPids(inspector, factory.applicationName)).length === 0,
          "every backend to leave pg_stat_activity",
          Date.now() + 2_000,
        );
        await inspector.end();
      }
    });

    it("rejects a session-level acquire without a session id", async () => {
      const { policy, targets } = redisPolicy({});

      const error = await rejection(policy.acquire({ level: "session", namespace: "tenant-a-prod" }));

      assert.equal(error.code, Code.Internal);
      assert.deepEqual(targets, []);
      await policy.close();
    });

    it("warns once that connection_reuse true does not share connections", async () => {
      const { logger, log } = captureLogger();
      const { policy } = redisPolicy({ connectionReuse: true }, logger);

      for (const sessionId of ["session-1", "session-2"]) {
        (await policy.acquire({ level: "session", namespace: "tenant-a-prod", sessionId })).release();
      }

      const warnings = log.messages().filter((message) => message.startsWith("session_management.connection_reuse is true"));
      assert.equal(warnings.length, 1);
      await policy.close();
    });
  });

  it("labels every event with backend, level, namespace and session", async () => {
    const { policy, events } = redisPolicy({});

    (await policy.acquire({ level: "none", namespace: "tenant-a-prod" })).release();
    (await policy.acquire({ level: "namespace", namespace: "tenant-b-prod" })).release();
    (await policy.acquire({ level: "session", namespace: "tenant-c-prod", sessionId: "session-1" })).release();

    const established = events.events.filter((event) => event.event === "connection_established");
    assert.deepEqual(
      established.map(({ backend, level, namespace, session_id: sessionId, pool }) => ({ backend, level, namespace, sessionId, pool })),
      [
        { backend: "redis", level: "none", namespace: undefined, sessionId: undefined, pool: "redis/shared" },
        { backend: "redis", level: "namespace", namespace: "tenant-b-prod", sessionId: undefined, pool: "redis/namespace/tenant-b-prod" },
        { backend: "redis", level: "session", namespace: "tenant-c-prod", sessionId: "session-1", pool: "redis/session/session-1" },
      ],
    );
    await policy.close();
  });

  it("leaves nothing behind when it closes", async () => {
    const { policy, factory, events } = redisPolicy({ closeTimeoutMs: 100 });
    const leases = [
      await policy.acquire({ level: "none", namespace: "tenant-a-prod" }),
      await policy.acquire({ level: "namespace", namespace: "tenant-b-prod" }),
      await policy.acquire({ level: "session", namespace: "tenant-c-prod", sessionId: "session-1" }),
    ];
    leases[0]?.release();
    assert.equal((await redis.idsNamed(factory.clientName)).length, 3);

    const closing = policy.close();
    assert.equal(policy.close(), closing);
    await closing;

    assert.deepEqual(await redis.idsNamed(factory.clientName), []);
    const stats = policy.stats();
    assert.deepEqual(stats.pools, []);
    assert.deepEqual(
      stats.budgets.map((budget) => budget.used),
      [0, 0],
    );
    assert.equal(events.events.filter((event) => event.event === "connection_closed" && event.reason === "shutdown").length, 3);
    const afterClose = await rejection(policy.acquire({ level: "none", namespace: "tenant-a-prod" }));
    assert.equal(afterClose.code, Code.Unavailable);
    assert.equal(afterClose.reason, "SHUTTING_DOWN");
    releaseAll(leases);
  });
});
