import { after, before, describe, it } from "node:test";
import assert from "node:assert/strict";
import { once } from "node:events";
import { createConnection, createServer, type Server, type Socket } from "node:net";
import type { IsolationLevel } from "../../../src/config/model.js";
import { Code, PrismError } from "../../../src/errors/prism-error.js";
import type { PostgresConnection } from "../../../src/backends/postgres/postgres-connection.js";
import { PostgresKeyValueDriver } from "../../../src/backends/postgres/postgres-keyvalue.js";
import type { PostgresKeyValueOptions } from "../../../src/backends/postgres/postgres-options.js";
import type { KeyValueStore } from "../../../src/backends/driver.js";
import { LeasedKeyValueStore } from "../../../src/backends/pooled-keyvalue.js";
import { PoolPolicy, type PolicyPoolEvent } from "../../../src/pools/pool-policy.js";
import { resolvePoolPolicySettings, type PoolPolicySettings } from "../../../src/pools/pool-settings.js";
import {
  bytes,
  captureLogger,
  closedPort,
  lockRow,
  PostgresFixture,
  silentLogger,
  uniqueName,
  waitUntil,
} from "./postgres-test-support.js";
import type { Logger } from "../../../src/observability/logger.js";

/** A driver and a pool policy over its connection factory, wired as the proxy's driver set wires them. */
class PooledDriver {
  readonly driver: PostgresKeyValueDriver;
  readonly policy: PoolPolicy<PostgresConnection>;
  readonly events: PolicyPoolEvent[] = [];

  constructor(
    fixture: PostgresFixture,
    options: { driver?: Partial<PostgresKeyValueOptions>; pools?: Partial<PoolPolicySettings>; logger?: Logger } = {},
  ) {
    const logger = options.logger ?? silentLogger();
    this.driver = new PostgresKeyValueDriver(fixture.driverOptions(logger, options.driver));
    const driver = this.driver;
    this.policy = new PoolPolicy<PostgresConnection>({
      backend: "postgres",
      settings: {
        ...resolvePoolPolicySettings("postgres", undefined, { connection_reuse: false }),
        acquireTimeoutMs: 2000,
        ...options.pools,
      },
      factoryFor: (target) => driver.connectionFactory(`tenant-of-${target.namespace}`, target.level),
      logger,
      onEvent: (event) => this.events.push(event),
    });
  }

  /** Runs one request's work on a store that leases a connection on first use and gives it back at the end. */
  async request<T>(
    tenantId: string,
    work: (store: KeyValueStore) => Promise<T>,
    target: { level?: IsolationLevel; namespace?: string; sessionId?: string } = {},
  ): Promise<T> {
    const store = new LeasedKeyValueStore(
      () =>
        this.policy.acquire({
          level: target.level ?? "none",
          namespace: target.namespace ?? "test-ns",
          ...(target.sessionId === undefined ? {} : { sessionId: target.sessionId }),
        }),
      (connection) => this.driver.storeOn(tenantId, connection),
    );
    try {
      return await work(store);
    } finally {
      store.finish();
    }
  }

  /** Returns the stats of the shared pool, which serves level none, the default of request(). */
  sharedPool(): { created: number; destroyed: number; size: number } {
    const pool = this.policy.stats().pools.find((candidate) => candidate.level === "none");
    assert.ok(pool !== undefined, "the shared pool was never created");
    return pool;
  }

  async close(): Promise<void> {
    await this.policy.close();
    await this.driver.close();
  }
}

interface ConnectionView {
  pid: number;
  setting: string | null;
  visibleRows: number;
  status: string;
}

/** Leases the shared pool's connection and reads what it shows outside any transaction. */
async function connectionView(fixture: PostgresFixture, pooled: PooledDriver): Promise<ConnectionView> {
  const lease = await pooled.policy.acquire({ level: "none", namespace: "test-ns" });
  try {
    const result = await lease.connection.client.query<{ pid: number; setting: string | null; visible: number }>(
      `SELECT pg_backend_pid() AS pid, current_setting('prism.tenant_id', true) AS setting,
              (SELECT count(*)::integer FROM ${fixture.qualifiedTable}) AS visible`,
    );
    const row = result.rows[0];
    assert.ok(row !== undefined);
    assert.equal(String(row.pid), lease.connectionId, "the lease's id is not the connection's backend pid");
    const status = lease.connection.client.getTransactionStatus() ?? "none";
    return { pid: row.pid, setting: row.setting, visibleRows: row.visible, status };
  } finally {
    lease.release();
  }
}

function assertNoTenantOnConnection(view: ConnectionView): void {
  assert.equal(view.status, "I", "the pooled connection is still inside a transaction");
  assert.ok(view.setting === null || view.setting === "", `prism.tenant_id leaked as ${JSON.stringify(view.setting)}`);
  assert.equal(view.visibleRows, 0, "rows are visible without a tenant");
}

function hasCode(code: Code): (error: unknown) => boolean {
  return (error: unknown) => {
    assert.ok(error instanceof PrismError, `expected a PrismError, got ${String(error)}`);
    assert.equal(error.code, code, error.rawMessage);
    return true;
  };
}

/** A TCP relay to the PostgreSQL server that can stop passing bytes, as a server that stopped responding would. */
class FreezableRelay {
  readonly #server: Server;
  readonly #pairs: { client: Socket; upstream: Socket }[] = [];

  constructor(upstreamPort: number) {
    this.#server = createServer((client) => {
      const upstream = createConnection({ host: "127.0.0.1", port: upstreamPort });
      for (const socket of [client, upstream]) {
        socket.on("error", () => socket.destroy());
      }
      client.pipe(upstream);
      upstream.pipe(client);
      this.#pairs.push({ client, upstream });
    });
  }

  async listen(): Promise<number> {
    this.#server.listen(0, "127.0.0.1");
    await once(this.#server, "listening");
    const address = this.#server.address();
    assert.ok(address !== null);
    assert.ok(typeof address !== "string");
    return address.port;
  }

  /** Stops relaying in both directions on every connection, without closing any socket. */
  freeze(): void {
    for (const { client, upstream } of this.#pairs) {
      client.unpipe(upstream);
      upstream.unpipe(client);
      client.pause();
      upstream.pause();
    }
  }

  async close(): Promise<void> {
    for (const { client, upstream } of this.#pairs) {
      client.destroy();
      upstream.destroy();
    }
    this.#server.close();
    await once(this.#server, "close");
  }
}

describe("postgres on the pool layer", () => {
  const fixture = new PostgresFixture();
  const tenantA = uniqueName("ta");
  const tenantB = uniqueName("tb");

  before(async () => {
    await fixture.migrate();
    // Rejects the key "forbidden" with PERMISSION_DENIED, a failure that leaves the
    // connection usable; the startup checks accept restrictive policies.
    await fixture.superuser.query(
      `CREATE POLICY deny_forbidden ON ${fixture.qualifiedTable} AS RESTRICTIVE FOR INSERT TO PUBLIC WITH CHECK (key <> 'forbidden')`,
    );
  });

  after(async () => {
    await fixture.drop();
  });

  it("opens connections with the driver's settings", async () => {
    const applicationName = uniqueName("prism_pooled");
    const pooled = new PooledDriver(fixture, { driver: { statementTimeoutMs: 1234, applicationName } });
    try {
      const lease = await pooled.policy.acquire({ level: "none", namespace: "test-ns" });
      try {
        const client = lease.connection.client;
        assert.equal(client.pipeline, true, "the connection is not in pipeline mode");
        const settings = await client.query<{ statement: string; idle: string; application: string; pid: number }>(
          `SELECT current_setting('statement_timeout') AS statement,
                  current_setting('idle_in_transaction_session_timeout') AS idle,
                  current_setting('application_name') AS application,
                  pg_backend_pid() AS pid`,
        );
        const row = settings.rows[0];
        assert.ok(row !== undefined);
        assert.equal(row.statement, "1234ms");
        assert.equal(row.idle, "10s");
        assert.equal(row.application, applicationName);
        assert.equal(lease.connectionId, String(row.pid));
        assert.equal(lease.connection.pid, row.pid);

        const activity = await fixture.superuser.query<{ pid: number }>(
          "SELECT pid FROM pg_stat_activity WHERE usename = $1 AND application_name = $2",
          [fixture.proxyRole, applicationName],
        );
        assert.ok(
          activity.rows.some((entry) => entry.pid === row.pid),
          "pg_stat_activity does not list the connection under the proxy role and application name",
        );
      } finally {
        lease.release();
      }
    } finally {
      await pooled.close();
    }
  });

  it("runs a tenant's operations on a leased connection", async () => {
    const pooled = new PooledDriver(fixture);
    try {
      await pooled.request(tenantA, async (store) => {
        await store.set("pooled-roundtrip", bytes("a"));
        assert.deepEqual(await store.get("pooled-roundtrip"), bytes("a"));
        assert.equal(await store.expire("pooled-roundtrip", 60), true);
        assert.equal(await store.persist("pooled-roundtrip"), true);
        await store.batchSet([{ key: "pooled-batch", value: bytes("b") }]);
        assert.deepEqual(await store.batchGet(["pooled-roundtrip", "pooled-batch", "pooled-missing"]), [bytes("a"), bytes("b"), undefined]);
        assert.deepEqual(await store.batchDelete(["pooled-batch", "pooled-batch"]), [true, false]);
      });
      assert.equal(pooled.sharedPool().created, 1, "one request opened more than one connection");

      const rows = (await fixture.rawRows()).filter((row) => row.key === "pooled-roundtrip");
      assert.deepEqual(
        rows.map((row) => row.tenant),
        [tenantA],
      );
    } finally {
      await pooled.close();
    }
  });

  it("carries no tenant past a failed request on the same connection", async () => {
    const pooled = new PooledDriver(fixture, { pools: { maxConnections: 1 } });
    try {
      await pooled.request(tenantA, (store) => store.set("secret-a", bytes("a")));
      await pooled.request(tenantB, (store) => store.set("mine-b", bytes("b")));
      const before = await connectionView(fixture, pooled);

      await assert.rejects(
        pooled.request(tenantA, (store) => store.set("forbidden", bytes("x"))),
        hasCode(Code.PermissionDenied),
      );

      await pooled.request(tenantB, async (store) => {
        assert.equal(await store.exists("secret-a"), false, "tenant B sees tenant A's row");
        assert.deepEqual(await store.get("mine-b"), bytes("b"));
        assert.deepEqual(await store.batchGet(["secret-a", "mine-b"]), [undefined, bytes("b")]);
      });

      const after = await connectionView(fixture, pooled);
      assertNoTenantOnConnection(after);
      assert.equal(after.pid, before.pid, "the failed request's connection was not reused, so the test proves nothing");
      assert.equal(pooled.sharedPool().created, 1);
      assert.equal(pooled.sharedPool().destroyed, 0);
    } finally {
      await pooled.close();
    }
  });

  it("destroys the connection after a statement timeout", async () => {
    const pooled = new PooledDriver(fixture, { driver: { statementTimeoutMs: 300 }, pools: { maxConnections: 1 } });
    const lock = await lockRow(fixture, tenantA, "locked");
    try {
      await pooled.request(tenantB, (store) => store.set("after-timeout", bytes("b")));
      const before = await connectionView(fixture, pooled);

      await assert.rejects(
        pooled.request(tenantA, (store) => store.set("locked", bytes("a"))),
        (error: unknown) => {
          assert.ok(error instanceof PrismError);
          assert.equal(error.code, Code.DeadlineExceeded);
          assert.match(error.rawMessage, /statement_timeout is 300 ms/);
          return true;
        },
      );
      await waitUntil(() => pooled.sharedPool().destroyed === 1, "the timed-out request's connection to close");

      await pooled.request(tenantB, async (store) => {
        assert.deepEqual(await store.get("after-timeout"), bytes("b"));
        assert.equal(await store.exists("locked"), false);
      });
      const after = await connectionView(fixture, pooled);
      assertNoTenantOnConnection(after);
      assert.notEqual(after.pid, before.pid, "the timed-out request's connection was lent again");
      const closeReasons = pooled.events.flatMap((event) => (event.event === "connection_closed" ? [event.reason] : []));
      assert.deepEqual(closeReasons, ["backend_error"]);
    } finally {
      await lock.release();
      await pooled.close();
    }
  });

  it("never lends a connection left inside a transaction", async () => {
    const pooled = new PooledDriver(fixture, { pools: { maxConnections: 1 } });
    try {
      const lease = await pooled.policy.acquire({ level: "none", namespace: "test-ns" });
      const leftOpen = lease.connection.pid;
      await lease.connection.client.query("BEGIN");
      assert.equal(lease.connection.usable, false, "a connection inside a transaction counts as usable");
      lease.release();

      await waitUntil(() => pooled.sharedPool().destroyed === 1, "the pool to close the connection");
      const after = await connectionView(fixture, pooled);
      assert.notEqual(after.pid, leftOpen);
      assertNoTenantOnConnection(after);
      await waitUntil(
        async () => !(await fixture.proxyBackendPids()).includes(leftOpen),
        "the connection left inside a transaction to leave pg_stat_activity",
        1000,
      );
    } finally {
      await pooled.close();
    }
  });

  it("survives the server ending idle pooled connections", async () => {
    const { logger, log } = captureLogger();
    const pooled = new PooledDriver(fixture, { logger, pools: { maxConnections: 2 } });
    try {
      await pooled.request(tenantA, (store) => store.set("idle-pooled", bytes("1")));
      const lease = await pooled.policy.acquire({ level: "none", namespace: "test-ns" });
      const connection = lease.connection;
      lease.release();

      assert.ok((await fixture.terminateProxyConnections()) > 0);
      await waitUntil(() => !connection.usable, "the pooled connection to notice that the server ended it");
      assert.ok(log.messages().some((message) => message.startsWith("postgres pooled connection failed")), log.messages().join("\n"));

      const value = await pooled.request(tenantA, (store) => store.get("idle-pooled"));
      assert.deepEqual(value, bytes("1"));
      assert.ok(
        pooled.events.some((event) => event.event === "connection_closed" && event.reason === "unhealthy"),
        "the ended connection was not closed as unhealthy",
      );
    } finally {
      await pooled.close();
    }
  });

  it("keeps tenants apart under concurrent requests on two connections", async () => {
    const pooled = new PooledDriver(fixture, { pools: { maxConnections: 2 } });
    try {
      const tenants = [tenantA, tenantB, uniqueName("tc")];
      const requests = Array.from({ length: 90 }, (_, index) => {
        const tenant = tenants[index % tenants.length] ?? tenantA;
        return pooled.request(tenant, async (store) => {
          await store.set(`concurrent-${index % 10}`, bytes(tenant));
          const value = await store.get(`concurrent-${index % 10}`);
          assert.deepEqual(value, bytes(tenant), `tenant ${tenant} read another tenant's value`);
        });
      });
      await Promise.all(requests);
      assert.ok(pooled.sharedPool().created <= 2);
    } finally {
      await pooled.close();
    }
  });

  it("gives each session its own connections and closes them with the session", async () => {
    const pooled = new PooledDriver(fixture, { pools: { perSessionLimit: 2 } });
    try {
      const sessions = ["s1", "s2"];
      await Promise.all(
        sessions.flatMap((sessionId) =>
          Array.from({ length: 4 }, (_, index) =>
            pooled.request(tenantA, (store) => store.set(`session-${sessionId}-${index}`, bytes(sessionId)), {
              level: "session",
              sessionId,
            }),
          ),
        ),
      );

      const owners = new Map<string, string>();
      for (const event of pooled.events.filter((candidate) => candidate.event === "connection_established")) {
        assert.equal(owners.get(event.connection_id) ?? event.session_id, event.session_id, `pid ${event.connection_id} served two sessions`);
        owners.set(event.connection_id, event.session_id ?? "");
      }
      assert.deepEqual(new Set(owners.values()), new Set(sessions));

      const pids = [...owners.keys()].map(Number);
      const live = await fixture.proxyBackendPids();
      assert.ok(pids.every((pid) => live.includes(pid)), "a session connection is missing from pg_stat_activity");

      await Promise.all(sessions.map((sessionId) => pooled.policy.closeSession(sessionId)));
      await waitUntil(
        async () => !(await fixture.proxyBackendPids()).some((pid) => pids.includes(pid)),
        "the session connections to leave pg_stat_activity",
        1000,
      );
    } finally {
      await pooled.close();
    }
  });

  it("closes a hung connection within the end timeout", async () => {
    const relay = new FreezableRelay(Number(new URL(fixture.proxyUrl).port || "5432"));
    const port = await relay.listen();
    const endpoint = new URL(fixture.proxyUrl);
    endpoint.port = String(port);
    const endTimeoutMs = 200;
    const pooled = new PooledDriver(fixture, { driver: { endpoint: endpoint.toString(), connectionEndTimeoutMs: endTimeoutMs } });
    try {
      // The startup checks go through the relay too, so they must finish before it freezes.
      assert.equal((await pooled.driver.ready()).state, "ready");
      const lease = await pooled.policy.acquire({ level: "none", namespace: "test-ns" });
      relay.freeze();

      const startedAt = performance.now();
      await lease.destroy(new Error("test: the server stopped responding"));
      const elapsedMs = performance.now() - startedAt;
      assert.ok(elapsedMs >= endTimeoutMs - 20, `destroy returned after ${elapsedMs.toFixed(0)} ms, before the graceful end could time out`);
      assert.ok(elapsedMs < endTimeoutMs + 500, `destroy took ${elapsedMs.toFixed(0)} ms with an end timeout of ${endTimeoutMs} ms`);
      assert.equal(lease.connection.usable, false);
    } finally {
      // Closing the relay first ends the driver's own connection, which would otherwise wait for the frozen server.
      await relay.close();
      await pooled.close();
    }
  });

  it("reports a refused connection as UNAVAILABLE and marks the backend degraded", async () => {
    const port = await closedPort();
    const pooled = new PooledDriver(fixture, { driver: { endpoint: `127.0.0.1:${port}`, database: "test", user: "nobody" } });
    try {
      await assert.rejects(pooled.policy.acquire({ level: "namespace", namespace: "test-ns" }), (error: unknown) => {
        assert.ok(error instanceof PrismError, `expected a PrismError, got ${String(error)}`);
        assert.equal(error.code, Code.Unavailable);
        assert.match(error.rawMessage, new RegExp(`postgres 127\\.0\\.0\\.1:${port}/test is unavailable: connection refused`));
        return true;
      });
      assert.equal(pooled.driver.health().state, "degraded");
    } finally {
      await pooled.close();
    }
  });

  it("serves pooled requests only after the startup checks pass", async () => {
    const pooled = new PooledDriver(fixture, { driver: { table: "missing" } });
    try {
      await assert.rejects(
        pooled.request(tenantA, (store) => store.get("k")),
        (error: unknown) => {
          assert.ok(error instanceof PrismError);
          assert.equal(error.code, Code.Unavailable);
          assert.match(error.rawMessage, /table .*\.missing does not exist; run prismctl postgres migrate/);
          return true;
        },
      );
      assert.throws(() => pooled.driver.storeOn("", {} as PostgresConnection), hasCode(Code.InvalidArgument));
    } finally {
      await pooled.close();
    }
  });

  it("rejects pooled requests after the driver closed", async () => {
    const pooled = new PooledDriver(fixture);
    const lease = await pooled.policy.acquire({ level: "none", namespace: "test-ns" });
    try {
      await pooled.driver.close();
      await assert.rejects(pooled.driver.storeOn(tenantA, lease.connection).get("k"), (error: unknown) => {
        assert.ok(error instanceof PrismError);
        assert.equal(error.reason, "SHUTTING_DOWN");
        return true;
      });
      await assert.rejects(pooled.policy.acquire({ level: "namespace", namespace: "after-close" }), (error: unknown) => {
        assert.ok(error instanceof PrismError);
        assert.equal(error.reason, "SHUTTING_DOWN");
        return true;
      });
    } finally {
      lease.release();
      await pooled.close();
    }
  });
});
