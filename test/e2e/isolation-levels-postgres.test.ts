import { after, before, describe, it } from "node:test";
import assert from "node:assert/strict";
import type { PostgresBackendSettings } from "../../src/backends/postgres/postgres-config.js";
import { PostgresKeyValueDriver } from "../../src/backends/postgres/postgres-keyvalue.js";
import { parseConfig } from "../../src/config/load.js";
import type { BackendConfig, IsolationLevel, PrismConfig } from "../../src/config/model.js";
import { KeyValueBasicInterface } from "../../src/gen/prism/interfaces/keyvalue/keyvalue_basic_pb.js";
import type { PolicyPoolStats } from "../../src/pools/pool-policy.js";
import { bytes, lockRow, PostgresFixture, waitUntil } from "../backends/postgres/postgres-test-support.js";
import { CapturedLog, DEMO_KEYS, eventually, startTestProxy, type TestProxy, sessionClient } from "../support/test-proxy.js";

const fixture = new PostgresFixture();

function usePostgres(config: PrismConfig, level: IsolationLevel, settings: PostgresBackendSettings = {}): void {
  const backend: BackendConfig & PostgresBackendSettings = {
    endpoint: fixture.proxyUrl,
    isolation: { type: "row_level_security", enable_rls: true, tenant_column: fixture.tenantColumn },
    schema: fixture.schema,
    table: fixture.table,
    // Without the cleanup, the driver's own pool opens no connection beyond the one of the startup checks.
    cleanup_interval: 0,
    ...settings,
  };
  config.backends.postgres = backend;
  config.interfaces.keyvalue = { backend: "postgres" };
  config.tenants.forEach((tenant) => (tenant.isolation_level = level));
}

function pools(text: string): PrismConfig["proxy"]["connection_pools"] {
  return parseConfig(text, "pools.yaml", {}).proxy.connection_pools;
}

/**
 * Waits for the driver's startup checks and returns the proxy role's connections at that
 * moment: the one connection of the driver's own pool. Every connection opened later
 * belongs to the pool layer.
 */
async function checkConnections(gateway: TestProxy): Promise<number[]> {
  const driver = gateway.proxy.drivers.keyValue;
  assert.ok(driver instanceof PostgresKeyValueDriver, `the key-value driver is ${driver.name}, not postgres`);
  const health = await driver.ready();
  assert.equal(health.state, "ready", health.detail);
  return fixture.proxyBackendPids();
}

async function pooledPids(baseline: readonly number[]): Promise<number[]> {
  return (await fixture.proxyBackendPids()).filter((pid) => !baseline.includes(pid));
}

function postgresPools(gateway: TestProxy): PolicyPoolStats[] {
  const stats = gateway.proxy.drivers
    .poolStats()
    .find((candidate) => candidate.backend === "postgres" && candidate.serves === "keyvalue");
  assert.ok(stats !== undefined, "the proxy keeps no pool policy for postgres");
  return stats.pools;
}

function namespacePool(gateway: TestProxy, namespace: string): PolicyPoolStats {
  const pool = postgresPools(gateway).find((candidate) => candidate.namespace === namespace);
  assert.ok(pool !== undefined, `namespace ${namespace} has no pool`);
  return pool;
}

async function assertProxyConnectionsGone(description: string): Promise<void> {
  await waitUntil(async () => (await fixture.proxyBackendPids()).length === 0, description, 1000);
}

/** Backends of the proxy role that wait for a lock, as pg_stat_activity shows them. */
async function pidsWaitingForLock(): Promise<number[]> {
  const result = await fixture.superuser.query<{ pid: number }>(
    "SELECT pid FROM pg_stat_activity WHERE usename = $1 AND wait_event_type = 'Lock'",
    [fixture.proxyRole],
  );
  return result.rows.map((row) => row.pid);
}


type AuditRecord = Record<string, string>;

/** Maps each connection id (backend pid) of the connection_established records to the sessions it was opened for. */
function connectionOwners(records: readonly AuditRecord[]): Map<string, Set<string>> {
  const owners = new Map<string, Set<string>>();
  for (const record of records.filter((candidate) => candidate.event === "connection_established")) {
    const id = record["connection_id"] ?? "";
    const sessions = owners.get(id) ?? new Set<string>();
    sessions.add(record["session_id"] ?? "");
    owners.set(id, sessions);
  }
  return owners;
}

describe("isolation levels on PostgreSQL", () => {
  before(async () => {
    await fixture.migrate();
  });

  after(async () => {
    await fixture.drop();
  });

  it("none: namespaces share one pool's connection", async () => {
    const gateway = await startTestProxy((config) => {
      usePostgres(config, "none");
      config.proxy.connection_pools = pools("proxy:\n  connection_pools:\n    postgres:\n      max_connections: 4\n      shared: true\n");
    });
    try {
      const baseline = await checkConnections(gateway);
      const acme = gateway.client(KeyValueBasicInterface, { namespace: "acme-prod", apiKey: DEMO_KEYS.acme });
      const globex = gateway.client(KeyValueBasicInterface, { namespace: "globex-prod", apiKey: DEMO_KEYS.globex });
      for (let index = 0; index < 3; index++) {
        await acme.set({ key: "none", value: bytes("acme") });
        await globex.set({ key: "none", value: bytes("globex") });
      }

      const stats = postgresPools(gateway);
      assert.equal(stats.length, 1, "each namespace got a pool of its own");
      assert.equal(stats[0]?.level, "none");
      assert.equal(stats[0]?.created, 1, "sequential requests of two namespaces opened more than one connection");
      assert.equal((await pooledPids(baseline)).length, 1, "pg_stat_activity shows more than one pooled connection");

      const owners = (await fixture.rawRows()).filter((row) => row.key === "none").map((row) => row.tenant);
      assert.deepEqual(owners, ["acme", "globex"]);
    } finally {
      await gateway.close();
    }
    await assertProxyConnectionsGone("the shared pool's connection to close with the proxy");
  });

  it("namespace: each namespace gets its own pool", async () => {
    const gateway = await startTestProxy((config) => {
      usePostgres(config, "namespace", { statement_timeout: 10_000 });
      config.proxy.connection_pools = pools(
        "proxy:\n  connection_pools:\n    per_namespace: true\n    postgres:\n      connections_per_namespace: 1\n      max_total_connections: 10\n",
      );
    });
    let lock: { release: () => Promise<void> } | undefined;
    try {
      const baseline = await checkConnections(gateway);
      const acme = gateway.client(KeyValueBasicInterface, { namespace: "acme-prod", apiKey: DEMO_KEYS.acme });
      const globex = gateway.client(KeyValueBasicInterface, { namespace: "globex-prod", apiKey: DEMO_KEYS.globex });
      await acme.set({ key: "ns-warm", value: bytes("acme") });
      await globex.set({ key: "ns-warm", value: bytes("globex") });

      assert.deepEqual(postgresPools(gateway).map((pool) => pool.namespace).sort(), ["acme-prod", "globex-prod"]);
      for (const namespace of ["acme-prod", "globex-prod"]) {
        const pool = namespacePool(gateway, namespace);
        assert.equal(pool.level, "namespace");
        assert.equal(pool.created, 1, `namespace ${namespace} opened more than one connection`);
        assert.equal(pool.max, 1);
      }
      const pids = await pooledPids(baseline);
      assert.equal(pids.length, 2, `expected one connection per namespace in pg_stat_activity, found ${pids.join(", ")}`);

      // acme's only connection waits for a row lock, and a second acme request queues behind it.
      lock = await lockRow(fixture, "acme", "ns-locked");
      const blocked = acme.set({ key: "ns-locked", value: bytes("acme") });
      await waitUntil(async () => (await pidsWaitingForLock()).length === 1, "acme's request to wait for the row lock");
      const [acmePid] = await pidsWaitingForLock();
      assert.ok(acmePid !== undefined);
      assert.ok(pids.includes(acmePid), "the waiting backend is not one of the pooled connections");
      const queued = acme.get({ key: "ns-warm" });
      await eventually(() => namespacePool(gateway, "acme-prod").waiting === 1, "acme's second request to queue");

      for (let index = 0; index < 5; index++) {
        const startedAt = performance.now();
        await globex.set({ key: "ns-warm", value: bytes(`globex ${index}`) });
        const elapsedMs = performance.now() - startedAt;
        assert.ok(elapsedMs < 400, `globex waited ${elapsedMs.toFixed(0)} ms behind acme's busy pool`);
      }
      assert.deepEqual(gateway.proxy.namespaceReport("globex-prod").connections, [
        { backend: "postgres", serves: "keyvalue", in_use: 0, open: 1, limit: 1 },
      ]);
      assert.deepEqual(gateway.proxy.namespaceReport("acme-prod").connections, [
        { backend: "postgres", serves: "keyvalue", in_use: 1, open: 1, limit: 1 },
      ]);

      await lock.release();
      lock = undefined;
      await blocked;
      assert.deepEqual(new Uint8Array((await queued).value), bytes("acme"));
      assert.equal(namespacePool(gateway, "acme-prod").created, 1, "acme's queued request got a connection of its own");
      assert.deepEqual((await pooledPids(baseline)).sort(), [...pids].sort(), "the namespace connections changed");
    } finally {
      await lock?.release();
      await gateway.close();
    }
    await assertProxyConnectionsGone("the namespace pools' connections to close with the proxy");
  });

  it("session: no backend serves two sessions, and all close with the session", async () => {
    const audit = new CapturedLog();
    const gateway = await startTestProxy(
      (config) => {
        usePostgres(config, "session");
        config.proxy.connection_pools = pools(
          "proxy:\n  connection_pools:\n    postgres:\n      max_connections: 10\n      per_session_limit: 2\n",
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
      const baseline = await checkConnections(gateway);
      const records = (): AuditRecord[] => audit.lines.map((line) => JSON.parse(line) as AuditRecord);
      const established = (): AuditRecord[] => records().filter((record) => record.event === "connection_established");

      const first = sessionClient(gateway, "acme-prod", DEMO_KEYS.acme);
      const second = sessionClient(gateway, "acme-prod", DEMO_KEYS.acme);
      await Promise.all(
        [first, second].flatMap((client, index) =>
          Array.from({ length: 6 }, (_, request) => client.kv.set({ key: `s${index}-${request}`, value: bytes(`${index}`) })),
        ),
      );

      await eventually(() => established().length >= 2, "connection events");
      assert.ok(established().every((record) => record["backend"] === "postgres"));
      const owners = connectionOwners(records());
      assert.equal(new Set([...owners.values()].flatMap((sessions) => [...sessions])).size, 2, "expected two sessions");
      for (const [connection, sessions] of owners) {
        assert.equal(sessions.size, 1, `backend ${connection} served sessions ${[...sessions].join(", ")}`);
      }

      const ids = [...owners.keys()];
      assert.ok(ids.length <= 4, `two sessions with per_session_limit 2 opened ${ids.length} connections`);
      assert.deepEqual(
        (await pooledPids(baseline)).map(String).sort(),
        [...ids].sort(),
        "pg_stat_activity shows pooled connections that no session's connection_established record names",
      );

      first.close();
      second.close();
      const closedAt = Date.now();
      await eventually(() => gateway.proxy.sessions.activeCount === 0, "both sessions to end");
      for (;;) {
        const remaining = (await fixture.proxyBackendPids()).map(String).filter((pid) => ids.includes(pid));
        if (remaining.length === 0) {
          break;
        }
        assert.ok(Date.now() - closedAt < 1000, `backends ${remaining.join(", ")} outlived their session by a second`);
        await new Promise((resolve) => setTimeout(resolve, 20));
      }
      await eventually(
        () => records().filter((record) => record.event === "connection_closed").length === ids.length,
        "a connection_closed record per connection",
      );
      assert.ok(
        records()
          .filter((record) => record.event === "connection_closed")
          .every((record) => record["reason"] === "session_destroyed"),
      );

      // A later session of the same namespace gets new backends, never one of the ended sessions'.
      const third = sessionClient(gateway, "acme-prod", DEMO_KEYS.acme);
      try {
        await third.kv.set({ key: "s3", value: bytes("3") });
        await eventually(() => established().length > ids.length, "the third session's connection event");
        const later = [...connectionOwners(records()).keys()].filter((id) => !ids.includes(id));
        assert.equal(later.length, established().length - ids.length, "a backend of an ended session was established again");
      } finally {
        third.close();
      }
    } finally {
      await gateway.close();
    }
    await assertProxyConnectionsGone("every connection to close with the proxy");
  });
});
