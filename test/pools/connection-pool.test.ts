import { after, before, describe, it } from "node:test";
import assert from "node:assert/strict";
import { once } from "node:events";
import { Code, PrismError } from "../../src/errors/prism-error.js";
import { ConnectionPool } from "../../src/pools/connection-pool.js";
import type { Lease } from "../../src/pools/lease.js";
import type { ConnectionClosedEvent, PoolEvent } from "../../src/pools/pool-events.js";
import type { ConnectionPoolOptions } from "../../src/pools/pool-options.js";
import {
  captureLogger,
  EventRecorder,
  isPending,
  RedisInspector,
  RedisTestFactory,
  silentLogger,
  SilentServer,
  waitFor,
  type TestRedisConnection,
} from "./pool-test-support.js";

const LIMIT_KEY = "connection_pools.redis.max_connections";

type Options = Partial<ConnectionPoolOptions<TestRedisConnection>>;

function createPool(options: Options = {}): {
  pool: ConnectionPool<TestRedisConnection>;
  factory: RedisTestFactory;
  events: EventRecorder<PoolEvent>;
} {
  const factory = (options.factory as RedisTestFactory | undefined) ?? new RedisTestFactory();
  const events = new EventRecorder<PoolEvent>();
  const pool = new ConnectionPool<TestRedisConnection>({
    name: "redis/test",
    maxSize: 2,
    limitKey: LIMIT_KEY,
    logger: silentLogger(),
    onEvent: events.listener,
    ...options,
    factory,
  });
  return { pool, factory, events };
}

function assertPrismError(error: unknown, code: Code, reason: string): PrismError {
  assert.ok(error instanceof PrismError, `expected a PrismError, got ${String(error)}`);
  assert.equal(error.code, code);
  assert.equal(error.reason, reason);
  return error;
}

/** Returns the connection_closed events so far as [connection id, reason] pairs. */
function closedConnections(events: EventRecorder<PoolEvent>): [string, string][] {
  return events.events
    .filter((event): event is ConnectionClosedEvent => event.event === "connection_closed")
    .map((event) => [event.connection_id, event.reason]);
}

async function rejection(promise: Promise<unknown>): Promise<unknown> {
  try {
    await promise;
  } catch (error: unknown) {
    return error;
  }
  assert.fail("expected the promise to reject");
}

describe("connection pool", () => {
  let redis: RedisInspector;

  before(async () => {
    redis = await RedisInspector.connect();
  });

  after(async () => {
    await redis.close();
  });

  it("opens nothing before the first acquire", async () => {
    const { pool, factory } = createPool();

    assert.deepEqual(await redis.idsNamed(factory.clientName), []);
    assert.equal(pool.stats().created, 0);

    const lease = await pool.acquire();
    assert.deepEqual(await redis.idsNamed(factory.clientName), [lease.connectionId]);
    assert.equal(pool.stats().created, 1);

    lease.release();
    await pool.close();
  });

  it("lends a released connection again", async () => {
    const { pool } = createPool();

    const first = await pool.acquire();
    first.release();
    const second = await pool.acquire();

    assert.equal(second.connectionId, first.connectionId);
    assert.equal(await second.connection.client.ping(), "PONG");
    assert.equal(pool.stats().created, 1);
    second.release();
    await pool.close();
  });

  it("times out an acquire beyond maxSize with RESOURCE_EXHAUSTED", async () => {
    const { pool, factory } = createPool({ maxSize: 2, acquireTimeoutMs: 150 });
    const openLeases = [await pool.acquire(), await pool.acquire()];

    const started = Date.now();
    const error = assertPrismError(await rejection(pool.acquire()), Code.ResourceExhausted, "LIMIT_EXCEEDED");
    const waitedMs = Date.now() - started;

    assert.ok(waitedMs >= 140, `rejected after ${waitedMs}ms, before the 150ms timeout`);
    assert.match(error.rawMessage, /connection pool redis\/test/);
    assert.match(error.rawMessage, /all 2 of its connections/);
    assert.match(error.rawMessage, /raise connection_pools\.redis\.max_connections/);
    assert.equal(pool.stats().timeouts, 1);
    assert.equal(pool.stats().waiting, 0);
    assert.equal((await redis.idsNamed(factory.clientName)).length, 2);

    openLeases.forEach((lease) => lease.release());
    await pool.close();
  });

  it("serves waiters in arrival order", async () => {
    const { pool } = createPool({ maxSize: 1 });
    const busyLease = await pool.acquire();

    const served: number[] = [];
    const waiters = [1, 2, 3].map((position) =>
      pool.acquire().then((lease) => {
        served.push(position);
        return lease;
      }),
    );
    assert.equal(pool.stats().waiting, 3);

    busyLease.release();
    for (const waiter of waiters) {
      const lease = await waiter;
      assert.equal(lease.connectionId, busyLease.connectionId);
      lease.release();
    }

    assert.deepEqual(served, [1, 2, 3]);
    await pool.close();
  });

  it("removes a waiter whose signal aborts", async () => {
    const { pool } = createPool({ maxSize: 1 });
    const busyLease = await pool.acquire();
    const controller = new AbortController();

    const waiting = pool.acquire({ signal: controller.signal });
    assert.equal(pool.stats().waiting, 1);
    controller.abort(new Error("client went away"));

    assertPrismError(await rejection(waiting), Code.Canceled, "INVALID_ARGUMENT");
    assert.equal(pool.stats().waiting, 0);
    assertPrismError(await rejection(pool.acquire({ signal: controller.signal })), Code.Canceled, "INVALID_ARGUMENT");

    busyLease.release();
    await pool.close();
  });

  it("closes a connection destroyed after an error", async () => {
    const { pool, factory, events } = createPool();
    const lease = await pool.acquire();
    const failedId = lease.connectionId;

    await lease.destroy(new Error("protocol error"));
    lease.release();

    await waitFor(async () => !(await redis.idsNamed(factory.clientName)).includes(failedId), `client ${failedId} to leave CLIENT LIST`, Date.now() + 1_000);
    assert.deepEqual(closedConnections(events), [[failedId, "backend_error"]]);
    assert.equal(pool.stats().size, 0);

    const next = await pool.acquire();
    assert.notEqual(next.connectionId, failedId);
    next.release();
    await pool.close();
  });

  it("replaces an idle connection the server closed", async () => {
    const { pool, factory, events } = createPool();
    const first = await pool.acquire();
    first.release();

    const ended = once(first.connection.client, "end");
    await redis.kill(first.connectionId);
    await ended;

    const second = await pool.acquire();
    assert.notEqual(second.connectionId, first.connectionId);
    assert.deepEqual(await redis.idsNamed(factory.clientName), [second.connectionId]);
    await events.next((event) => event.event === "connection_closed");
    assert.deepEqual(closedConnections(events), [[first.connectionId, "unhealthy"]]);

    second.release();
    await pool.close();
  });

  it("closes a connection that fails its health check on release", async () => {
    const { pool, factory } = createPool();
    const lease = await pool.acquire();
    factory.unhealthy.add(lease.connectionId);

    lease.release();

    await waitFor(async () => (await redis.idsNamed(factory.clientName)).length === 0, "the unhealthy client to close", Date.now() + 1_000);
    assert.equal(pool.stats().idle, 0);
    await pool.close();
  });

  it("shrinks after the idle timeout", async () => {
    const { pool, factory, events } = createPool({ maxSize: 3, idleTimeoutMs: 100 });
    const leases = await Promise.all([pool.acquire(), pool.acquire(), pool.acquire()]);
    assert.equal((await redis.idsNamed(factory.clientName)).length, 3);

    leases.forEach((lease) => lease.release());
    await events.next((event) => event.event === "connection_closed" && event.reason === "idle_timeout", 3);

    assert.equal(pool.stats().size, 0);
    assert.equal(pool.stats().destroyed, 3);
    assert.deepEqual(await redis.idsNamed(factory.clientName), []);

    const again = await pool.acquire();
    assert.equal(pool.stats().created, 4);
    again.release();
    await pool.close();
  });

  it("reports each connection's lifecycle", async () => {
    const { pool, events } = createPool();
    const lease = await pool.acquire();
    lease.release();
    await pool.close();

    assert.equal(events.events.length, 2);
    assert.deepEqual(events.events[0], { event: "connection_established", pool: "redis/test", connection_id: lease.connectionId });
    const closed = events.events[1];
    assert.equal(closed?.event, "connection_closed");
    assert.equal(closed.connection_id, lease.connectionId);
    assert.equal(closed.reason, "shutdown");
    assert.ok(closed.duration_ms >= 0);
  });

  it("counts open, idle, waiting and closed connections", async () => {
    const { pool } = createPool({ maxSize: 2, acquireTimeoutMs: 5_000 });
    const first = await pool.acquire();
    const second = await pool.acquire();
    second.release();
    const waiting = pool.acquire();
    const third = await waiting;

    assert.deepEqual(
      { ...pool.stats() },
      {
        name: "redis/test",
        state: "open",
        size: 2,
        inUse: 2,
        idle: 0,
        opening: 0,
        closing: 0,
        waiting: 0,
        max: 2,
        created: 2,
        destroyed: 0,
        timeouts: 0,
        failedOpens: 0,
      },
    );

    first.release();
    third.release();
    assert.equal(pool.stats().idle, 2);
    await pool.close();
    assert.equal(pool.stats().destroyed, 2);
    assert.equal(pool.stats().size, 0);
  });

  it("moves open -> draining -> closed and logs each change", async () => {
    const { logger, log } = captureLogger();
    const { pool } = createPool({ logger });
    (await pool.acquire()).release();

    const closing = pool.close();
    assert.equal(pool.close(), closing);
    assert.equal(pool.state, "draining");
    await closing;

    assert.equal(pool.state, "closed");
    const changes = log.records.filter((record) => record["from"] !== undefined).map((record) => record["msg"]);
    assert.deepEqual(changes, ["connection pool open -> draining", "connection pool draining -> closed"]);
    assertPrismError(await rejection(pool.acquire()), Code.Unavailable, "SHUTTING_DOWN");
  });

  it("waits in close for a leased connection", async () => {
    const { pool, factory } = createPool({ closeTimeoutMs: 5_000 });
    const lease = await pool.acquire();

    const closing = pool.close();
    assert.equal(await isPending(closing), true);
    assert.equal(await lease.connection.client.ping(), "PONG");

    lease.release();
    await closing;
    assert.deepEqual(await redis.idsNamed(factory.clientName), []);
  });

  it("closes connections still leased at the close deadline", async () => {
    const { pool, factory, events } = createPool({ closeTimeoutMs: 100 });
    const lease = await pool.acquire();

    const started = Date.now();
    await pool.close();
    const tookMs = Date.now() - started;

    assert.ok(tookMs >= 90, `close returned after ${tookMs}ms, before its 100ms deadline`);
    assert.deepEqual(await redis.idsNamed(factory.clientName), []);
    lease.release();
    assert.equal(events.events.filter((event) => event.event === "connection_closed").length, 1);
  });

  it("rejects waiters when it closes", async () => {
    const { pool } = createPool({ maxSize: 1 });
    const busyLease = await pool.acquire();
    const waiting = pool.acquire();

    const closing = pool.close({ timeoutMs: 0 });
    assertPrismError(await rejection(waiting), Code.Unavailable, "SHUTTING_DOWN");
    await closing;
    busyLease.release();
  });

  it("rejects with UNAVAILABLE when the backend refuses connections", async () => {
    const server = await SilentServer.start();
    const target = server.target;
    await server.close();
    const { pool } = createPool({ factory: new RedisTestFactory(undefined, target) });

    assertPrismError(await rejection(pool.acquire()), Code.Unavailable, "BACKEND_UNAVAILABLE");
    assert.equal(pool.stats().failedOpens, 1);
    assert.equal(pool.stats().size, 0);
    assert.equal(pool.unused, true);
    await pool.close();
  });

  it("aborts a connection being opened when it closes", async () => {
    const server = await SilentServer.start();
    const { pool } = createPool({ factory: new RedisTestFactory(undefined, server.target) });

    const acquiring = rejection(pool.acquire());
    await waitFor(() => Promise.resolve(server.openSockets === 1), "the handshake to start", Date.now() + 2_000);
    assert.equal(pool.stats().opening, 1);

    await pool.close();
    assertPrismError(await acquiring, Code.Unavailable, "SHUTTING_DOWN");
    assert.equal(pool.stats().opening, 0);
    await waitFor(() => Promise.resolve(server.openSockets === 0), "the aborted socket to close", Date.now() + 2_000);
    await server.close();
  });

  it("releases a lease at the end of an await using block", async () => {
    const { pool } = createPool();
    {
      await using lease = await pool.acquire();
      assert.equal(await lease.connection.client.ping(), "PONG");
      assert.equal(pool.stats().inUse, 1);
    }
    assert.equal(pool.stats().inUse, 0);
    assert.equal(pool.stats().idle, 1);
    await pool[Symbol.asyncDispose]();
    assert.equal(pool.state, "closed");
  });

  it("logs and ignores a listener that throws", async () => {
    const { logger, log } = captureLogger();
    const { pool } = createPool({
      logger,
      onEvent: () => {
        throw new Error("listener bug");
      },
    });

    const lease: Lease<TestRedisConnection> = await pool.acquire();
    lease.release();
    await pool.close();

    assert.ok(log.messages().includes("a pool event listener threw; the event was not delivered"));
  });
});
