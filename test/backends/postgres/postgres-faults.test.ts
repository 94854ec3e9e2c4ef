import { after, before, describe, it } from "node:test";
import assert from "node:assert/strict";
import { once } from "node:events";
import { Code, PrismError } from "../../../src/errors/prism-error.js";
import { PostgresKeyValueDriver } from "../../../src/backends/postgres/postgres-keyvalue.js";
import { resolvePostgresOptions } from "../../../src/backends/postgres/postgres-options.js";
import { createPostgresPool } from "../../../src/backends/postgres/postgres-pool.js";
import {
  bytes,
  captureLogger,
  closedPort,
  lockRow,
  PostgresFixture,
  silentLogger,
  SilentServer,
  uniqueName,
  waitUntil,
} from "./postgres-test-support.js";

function assertUnavailable(pattern: RegExp): (error: unknown) => boolean {
  return (error: unknown) => {
    assert.ok(error instanceof PrismError, `expected a PrismError, got ${String(error)}`);
    assert.equal(error.code, Code.Unavailable, error.rawMessage);
    assert.match(error.rawMessage, pattern);
    return true;
  };
}

describe("postgres faults", () => {
  const fixture = new PostgresFixture();
  const tenant = uniqueName("t");

  before(async () => {
    await fixture.migrate();
  });

  after(async () => {
    await fixture.drop();
  });

  it("reports a refused connection with the endpoint", async () => {
    const port = await closedPort();
    const { logger, log } = captureLogger();
    const driver = new PostgresKeyValueDriver({ endpoint: `127.0.0.1:${port}`, database: "test", user: "nobody", logger });
    try {
      const health = await driver.ready();
      assert.equal(health.state, "degraded");
      assert.match(health.detail ?? "", /connection refused \(ECONNREFUSED\)/);

      await assert.rejects(
        driver.forTenant(tenant).set("k", bytes("v")),
        assertUnavailable(new RegExp(`postgres 127\\.0\\.0\\.1:${port}/test is unavailable: connection refused .*the request was not applied`)),
      );
      assert.ok(log.messages().includes("postgres backend connecting -> degraded"));
    } finally {
      await driver.close();
    }
  });

  it("reports a server that accepts connections but never answers", async () => {
    const silent = await SilentServer.start();
    const driver = new PostgresKeyValueDriver({
      endpoint: `127.0.0.1:${silent.port}`,
      database: "test",
      user: "nobody",
      connectTimeoutMs: 200,
      logger: silentLogger(),
    });
    try {
      assert.equal((await driver.ready()).state, "degraded");
      await assert.rejects(driver.forTenant(tenant).get("k"), assertUnavailable(/no connection could be opened within 200 ms/));
    } finally {
      await driver.close();
      await silent.close();
    }
  });

  it("survives the server ending idle connections", async () => {
    const { logger, log } = captureLogger();
    const options = fixture.driverOptions(logger, { maxConnections: 2 });
    const pool = createPostgresPool(resolvePostgresOptions(options));
    const driver = new PostgresKeyValueDriver(options, { pool });
    try {
      const store = driver.forTenant(tenant);
      await Promise.all([store.set("idle-1", bytes("1")), store.set("idle-2", bytes("2"))]);

      const idleErrors = once(pool, "error");
      assert.ok((await fixture.terminateProxyConnections()) > 0);
      await idleErrors;

      assert.deepEqual(await store.get("idle-1"), bytes("1"));
      assert.equal(driver.health().state, "ready");
      assert.ok(log.messages().some((message) => message.startsWith("postgres idle connection failed")));
    } finally {
      await driver.close();
    }
  });

  it("fails an in-flight request when the server ends its connection, then recovers", async () => {
    const { logger, log } = captureLogger();
    const driver = new PostgresKeyValueDriver(fixture.driverOptions(logger, { statementTimeoutMs: 10_000 }));
    const lock = await lockRow(fixture, tenant, "terminated");
    try {
      const store = driver.forTenant(tenant);
      await store.set("survivor", bytes("s"));

      const blocked = store.set("terminated", bytes("x"));
      const outcome = assert.rejects(
        blocked,
        assertUnavailable(/terminated the connection \(administrator command\) \(SQLSTATE 57P01\); the transaction was rolled back/),
      );
      await waitUntil(async () => await isWaitingForLock(fixture), "the request to wait for the row lock");
      await fixture.terminateProxyConnections();
      await outcome;
      assert.equal(driver.health().state, "degraded");

      assert.deepEqual(await store.get("survivor"), bytes("s"));
      assert.equal(driver.health().state, "ready");
      assert.ok(log.messages().includes("postgres backend ready -> degraded"), log.messages().join("\n"));
      assert.ok(log.messages().includes("postgres backend degraded -> ready"));
    } finally {
      await lock.release();
      await driver.close();
    }
  });

  it("recovers in the background after an outage without further requests", async () => {
    const driver = new PostgresKeyValueDriver(
      fixture.driverOptions(silentLogger(), { statementTimeoutMs: 10_000, recheck: { initialDelayMs: 10, maxDelayMs: 50 } }),
    );
    const lock = await lockRow(fixture, tenant, "background");
    try {
      const blocked = assert.rejects(driver.forTenant(tenant).set("background", bytes("x")), PrismError);
      await waitUntil(async () => await isWaitingForLock(fixture), "the request to wait for the row lock");
      await fixture.terminateProxyConnections();
      await blocked;

      await waitUntil(() => driver.health().state === "ready", "the background check to mark the backend ready");
    } finally {
      await lock.release();
      await driver.close();
    }
  });

  it("reports a busy pool as UNAVAILABLE without marking the backend degraded", async () => {
    const driver = new PostgresKeyValueDriver(
      fixture.driverOptions(silentLogger(), { maxConnections: 1, connectTimeoutMs: 100, statementTimeoutMs: 5000 }),
    );
    const lock = await lockRow(fixture, tenant, "busy");
    try {
      const store = driver.forTenant(tenant);
      await store.set("warm", bytes("w"));
      const holding = assert.rejects(store.set("busy", bytes("x")), PrismError);
      await waitUntil(async () => await isWaitingForLock(fixture), "the first request to hold the only connection");

      await assert.rejects(store.get("warm"), (error: unknown) => {
        assert.ok(error instanceof PrismError);
        assert.equal(error.code, Code.Unavailable);
        assert.equal(error.reason, "BACKEND_TIMEOUT");
        assert.match(error.rawMessage, /no pooled connection became free within 100 ms \(all 1 in use or connecting\)/);
        return true;
      });
      assert.equal(driver.health().state, "ready");

      await lock.release();
      await holding.catch(() => undefined);
    } finally {
      await lock.release().catch(() => undefined);
      await driver.close();
    }
  });

  it("runs the cleanup on its interval and stops it on close", async () => {
    const driver = new PostgresKeyValueDriver(fixture.driverOptions(silentLogger(), { cleanupIntervalMs: 20 }));
    try {
      const store = driver.forTenant(tenant);
      await store.set("interval-expired", bytes("x"));
      await store.expire("interval-expired", 100);
      await fixture.superuser.query(
        `UPDATE ${fixture.qualifiedTable} SET expires_at = now() - interval '1 second' WHERE key = 'interval-expired'`,
      );
      await waitUntil(
        async () => !(await fixture.rawRows()).some((row) => row.key === "interval-expired"),
        "the interval cleanup to delete the expired row",
      );
    } finally {
      await driver.close();
    }
  });

  it("closes idempotently and rejects requests afterwards", async () => {
    const driver = new PostgresKeyValueDriver(fixture.driverOptions(silentLogger()));
    await driver.ready();
    const first = driver.close();
    const second = driver.close();
    assert.equal(first, second);
    await first;
    await driver.close();

    assert.equal(driver.health().state, "closed");
    await assert.rejects(driver.forTenant(tenant).get("k"), (error: unknown) => {
      assert.ok(error instanceof PrismError);
      assert.equal(error.code, Code.Unavailable);
      assert.equal(error.reason, "SHUTTING_DOWN");
      return true;
    });
    await waitUntil(async () => (await fixture.proxyBackendPids()).length === 0, "the server to end the closed pool's connections");
  });

  it("waits for an in-flight request before it ends the pool", async () => {
    const driver = new PostgresKeyValueDriver(fixture.driverOptions(silentLogger()));
    await driver.ready();
    const request = driver.forTenant(tenant).set("during-close", bytes("x"));
    await driver.close();
    await request;
    assert.ok((await fixture.rawRows()).some((row) => row.key === "during-close"));
  });
});

/** Checks whether a proxy connection is waiting for a lock, as pg_stat_activity shows it. */
async function isWaitingForLock(fixture: PostgresFixture): Promise<boolean> {
  const result = await fixture.superuser.query(
    "SELECT 1 FROM pg_stat_activity WHERE usename = $1 AND wait_event_type = 'Lock'",
    [fixture.proxyRole],
  );
  return result.rows.length > 0;
}
