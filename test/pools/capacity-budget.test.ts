import { after, before, describe, it } from "node:test";
import assert from "node:assert/strict";
import { Code, PrismError } from "../../src/errors/prism-error.js";
import { CapacityBudget } from "../../src/pools/capacity-budget.js";
import { ConnectionPool } from "../../src/pools/connection-pool.js";
import type { PoolEvent } from "../../src/pools/pool-events.js";
import { EventRecorder, isPending, RedisInspector, RedisTestFactory, silentLogger, waitFor, type TestRedisConnection } from "./pool-test-support.js";

const BUDGET_KEY = "connection_pools.redis.max_total_connections";

/** Two pools of maxSize 2, "redis/namespace/a" and "redis/namespace/b", that share one budget and one client name. */
function twoPools(
  budget: CapacityBudget,
  acquireTimeoutMs = 200,
): {
  factory: RedisTestFactory;
  events: EventRecorder<PoolEvent>;
  first: ConnectionPool<TestRedisConnection>;
  second: ConnectionPool<TestRedisConnection>;
} {
  const factory = new RedisTestFactory();
  const events = new EventRecorder<PoolEvent>();
  const create = (name: string): ConnectionPool<TestRedisConnection> =>
    new ConnectionPool<TestRedisConnection>({
      name,
      factory,
      maxSize: 2,
      limitKey: "connection_pools.redis.connections_per_namespace",
      budget,
      acquireTimeoutMs,
      logger: silentLogger(),
      onEvent: events.listener,
    });
  return { factory, events, first: create("redis/namespace/a"), second: create("redis/namespace/b") };
}

function budgetOf(limit: number): CapacityBudget {
  return new CapacityBudget({ limit, limitKey: BUDGET_KEY, logger: silentLogger() });
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

describe("capacity budget", () => {
  let redis: RedisInspector;

  before(async () => {
    redis = await RedisInspector.connect();
  });

  after(async () => {
    await redis.close();
  });

  it("counts slots up to its limit", () => {
    const budget = budgetOf(2);

    assert.equal(budget.tryTake(), true);
    assert.equal(budget.tryTake(), true);
    assert.equal(budget.tryTake(), false);
    budget.release();

    assert.equal(budget.used, 1);
    assert.deepEqual(budget.stats(), { limitKey: BUDGET_KEY, limit: 2, used: 1, waitingPools: 0, reclaimed: 0 });
  });

  it("bounds the connections of all its pools", async () => {
    const budget = budgetOf(3);
    const { factory, first, second } = twoPools(budget);

    const openLeases = [await first.acquire(), await first.acquire(), await second.acquire()];
    const error = await rejection(second.acquire());

    assert.equal(error.code, Code.ResourceExhausted);
    assert.match(error.rawMessage, /connection pool redis\/namespace\/b could not open a connection within 200ms/);
    assert.match(error.rawMessage, /all 3 connections; raise connection_pools\.redis\.max_total_connections/);
    assert.equal((await redis.idsNamed(factory.clientName)).length, 3);
    assert.equal(budget.used, 3);

    openLeases.forEach((lease) => lease.release());
    await Promise.all([first.close(), second.close()]);
    assert.equal(budget.used, 0);
  });

  it("hands a freed slot to the waiting pool, never the connection", async () => {
    const budget = budgetOf(3);
    const { factory, first, second } = twoPools(budget, 5_000);
    const [a1, a2, b1] = [await first.acquire(), await first.acquire(), await second.acquire()];

    const waiting = second.acquire();
    assert.equal(await isPending(waiting), true);
    assert.equal(budget.stats().waitingPools, 1);

    await a1.destroy(new Error("connection reset"));
    const b2 = await waiting;

    assert.notEqual(b2.connectionId, a1.connectionId);
    const listed = await redis.idsNamed(factory.clientName);
    assert.equal(listed.includes(a1.connectionId), false);
    assert.deepEqual(listed, [a2.connectionId, b1.connectionId, b2.connectionId].sort());

    [a2, b1, b2].forEach((lease) => lease.release());
    await Promise.all([first.close(), second.close()]);
  });

  it("closes another pool's idle connection for a waiting pool", async () => {
    const budget = budgetOf(3);
    const { factory, events, first, second } = twoPools(budget, 5_000);
    const [a1, a2, b1] = [await first.acquire(), await first.acquire(), await second.acquire()];
    a2.release();

    const b2 = await second.acquire();

    assert.notEqual(b2.connectionId, a2.connectionId);
    const closed = events.events.filter((event) => event.event === "connection_closed");
    assert.deepEqual(
      closed.map((event) => [event.pool, event.connection_id, event.reason]),
      [["redis/namespace/a", a2.connectionId, "reclaimed"]],
    );
    assert.equal(budget.stats().reclaimed, 1);
    assert.deepEqual(await redis.idsNamed(factory.clientName), [a1.connectionId, b1.connectionId, b2.connectionId].sort());

    [a1, b1, b2].forEach((lease) => lease.release());
    await Promise.all([first.close(), second.close()]);
  });

  it("closes a connection released while another pool waits", async () => {
    const budget = budgetOf(2);
    const { factory, first, second } = twoPools(budget, 5_000);
    const [a1, a2] = [await first.acquire(), await first.acquire()];

    const waiting = second.acquire();
    assert.equal(await isPending(waiting), true);
    a1.release();
    const b1 = await waiting;

    assert.notEqual(b1.connectionId, a1.connectionId);
    await waitFor(async () => !(await redis.idsNamed(factory.clientName)).includes(a1.connectionId), "the reclaimed client to close", Date.now() + 1_000);
    assert.equal(first.stats().idle, 0);

    [a2, b1].forEach((lease) => lease.release());
    await Promise.all([first.close(), second.close()]);
    assert.equal(budget.used, 0);
  });

  it("does not queue a pool that is at its own limit", async () => {
    const budget = budgetOf(10);
    const { first, second } = twoPools(budget);
    const openLeases = [await first.acquire(), await first.acquire()];

    const error = await rejection(first.acquire());

    assert.match(error.rawMessage, /has all 2 of its connections in use \(limit connection_pools\.redis\.connections_per_namespace\)/);
    assert.equal(budget.stats().waitingPools, 0);
    const other = await second.acquire();
    other.release();

    openLeases.forEach((lease) => lease.release());
    await Promise.all([first.close(), second.close()]);
  });
});
