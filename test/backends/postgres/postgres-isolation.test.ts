import { after, before, describe, it } from "node:test";
import assert from "node:assert/strict";
import type pg from "pg";
import { Code, PrismError } from "../../../src/errors/prism-error.js";
import { PostgresKeyValueDriver } from "../../../src/backends/postgres/postgres-keyvalue.js";
import { resolvePostgresOptions, type PostgresKeyValueOptions } from "../../../src/backends/postgres/postgres-options.js";
import { createPostgresPool } from "../../../src/backends/postgres/postgres-pool.js";
import { bytes, lockRow, PostgresFixture, silentLogger, uniqueName, waitUntil } from "./postgres-test-support.js";

/** Creates a driver on a pool of exactly one connection and returns both, so a test can use the driver's own connection. */
function singleConnectionDriver(
  fixture: PostgresFixture,
  overrides: Partial<PostgresKeyValueOptions> = {},
): { driver: PostgresKeyValueDriver; pool: pg.Pool } {
  const options = fixture.driverOptions(silentLogger(), { maxConnections: 1, ...overrides });
  const pool = createPostgresPool(resolvePostgresOptions(options));
  return { driver: new PostgresKeyValueDriver(options, { pool }), pool };
}

/** Reads what the pool's connection shows outside any transaction, on that very connection. */
async function connectionView(
  fixture: PostgresFixture,
  pool: pg.Pool,
): Promise<{ pid: number; setting: string | null; visibleRows: number; status: string }> {
  const client = await pool.connect();
  try {
    const result = await client.query<{ pid: number; setting: string | null; visible: number }>(
      `SELECT pg_backend_pid() AS pid, current_setting('prism.tenant_id', true) AS setting,
              (SELECT count(*)::integer FROM ${fixture.qualifiedTable}) AS visible`,
    );
    const row = result.rows[0];
    assert.ok(row !== undefined);
    return { pid: row.pid, setting: row.setting, visibleRows: row.visible, status: client.getTransactionStatus() ?? "none" };
  } finally {
    client.release();
  }
}

function assertNoTenantOnConnection(view: { setting: string | null; visibleRows: number; status: string }): void {
  assert.equal(view.status, "I", "the pooled connection is still inside a transaction");
  assert.ok(view.setting === null || view.setting === "", `prism.tenant_id leaked as ${JSON.stringify(view.setting)}`);
  assert.equal(view.visibleRows, 0, "rows are visible without a tenant");
}

describe("postgres tenant isolation", () => {
  const fixture = new PostgresFixture();
  const tenantA = uniqueName("ta");
  const tenantB = uniqueName("tb");

  before(async () => {
    await fixture.migrate();
    // Fails any write of the key "explode" after the statement started, as a fault in the middle of a request.
    await fixture.superuser.query(`
      CREATE FUNCTION ${fixture.schema}.explode() RETURNS trigger LANGUAGE plpgsql AS $$
      BEGIN
        IF NEW.key = 'explode' THEN RAISE EXCEPTION 'exploding write'; END IF;
        RETURN NEW;
      END $$`);
    await fixture.superuser.query(
      `CREATE TRIGGER explode BEFORE INSERT OR UPDATE ON ${fixture.qualifiedTable} FOR EACH ROW EXECUTE FUNCTION ${fixture.schema}.explode()`,
    );
  });

  after(async () => {
    await fixture.drop();
  });

  it("keeps one key apart for two tenants, row by row", async () => {
    const driver = new PostgresKeyValueDriver(fixture.driverOptions(silentLogger()));
    try {
      const a = driver.forTenant(tenantA);
      const b = driver.forTenant(tenantB);
      await a.set("shared", bytes("from A"));
      await b.set("shared", bytes("from B"));

      assert.deepEqual(await a.get("shared"), bytes("from A"));
      assert.deepEqual(await b.get("shared"), bytes("from B"));

      const rows = (await fixture.rawRows()).filter((row) => row.key === "shared");
      assert.deepEqual(
        rows.map((row) => [row.tenant, new TextDecoder().decode(row.value)]).sort(),
        [
          [tenantA, "from A"],
          [tenantB, "from B"],
        ].sort(),
      );

      assert.equal(await a.delete("shared"), true);
      assert.deepEqual(await b.get("shared"), bytes("from B"), "A's delete removed B's row");
      await b.expire("shared", 100);
      assert.equal(await a.getTtl("shared"), -2);
      assert.deepEqual(await a.batchGet(["shared"]), [undefined]);
      assert.deepEqual(await a.batchDelete(["shared"]), [false]);
      assert.equal(await b.exists("shared"), true);
    } finally {
      await driver.close();
    }
  });

  it("shows no rows on the proxy's connection without a tenant", async () => {
    const { driver, pool } = singleConnectionDriver(fixture);
    try {
      await driver.forTenant(tenantA).set("raw-a", bytes("a"));
      await driver.forTenant(tenantB).set("raw-b", bytes("b"));
      assert.deepEqual(await fixture.proxyBackendPids(), [(await connectionView(fixture, pool)).pid], "the pool opened a second connection");

      const client = await pool.connect();
      try {
        const all = await client.query(`SELECT * FROM ${fixture.qualifiedTable}`);
        assert.equal(all.rows.length, 0, "the proxy role reads rows without a tenant set");

        await assert.rejects(
          client.query(`INSERT INTO ${fixture.qualifiedTable} (tenant_id, key, value) VALUES ($1, 'forged', '\\x00')`, [tenantB]),
          (error: unknown) => (error as { code?: string }).code === "42501",
          "the proxy role inserted a row without a tenant set",
        );
      } finally {
        client.release();
      }
    } finally {
      await driver.close();
    }
  });

  it("rejects a row for another tenant inside a tenant's transaction", async () => {
    const { driver, pool } = singleConnectionDriver(fixture);
    const client = await pool.connect();
    try {
      await client.query("BEGIN");
      await client.query("SELECT set_config('prism.tenant_id', $1, true)", [tenantA]);
      await assert.rejects(
        client.query(`INSERT INTO ${fixture.qualifiedTable} (tenant_id, key, value) VALUES ($1, 'forged', '\\x00')`, [tenantB]),
        (error: unknown) => (error as { code?: string }).code === "42501",
      );
      await client.query("ROLLBACK");

      await client.query("BEGIN");
      await client.query("SELECT set_config('prism.tenant_id', $1, true)", [tenantA]);
      const moved = await client.query(`UPDATE ${fixture.qualifiedTable} SET tenant_id = $1 WHERE key = 'raw-a'`, [tenantB]).catch(
        (error: unknown) => error,
      );
      assert.equal((moved as { code?: string }).code, "42501", "a row was moved to another tenant");
      await client.query("ROLLBACK");
    } finally {
      client.release();
      await driver.close();
    }
  });

  it("keeps the proxy role from switching row-level security off", async () => {
    const { driver, pool } = singleConnectionDriver(fixture);
    const client = await pool.connect();
    try {
      const attempts = [
        `ALTER TABLE ${fixture.qualifiedTable} NO FORCE ROW LEVEL SECURITY`,
        `ALTER TABLE ${fixture.qualifiedTable} DISABLE ROW LEVEL SECURITY`,
        `DROP POLICY prism_tenant_isolation ON ${fixture.qualifiedTable}`,
        `SET ROLE ${fixture.ownerRole}`,
      ];
      for (const statement of attempts) {
        await assert.rejects(client.query(statement), (error: unknown) => (error as { code?: string }).code === "42501", statement);
      }

      // With row_security off, a role bound by a policy gets an error instead of every row.
      await client.query("SET row_security = off");
      await assert.rejects(client.query(`SELECT * FROM ${fixture.qualifiedTable}`), /row-level security/);
      await client.query("RESET row_security");
    } finally {
      client.release();
      await driver.close();
    }
  });

  it("carries no tenant past a failed request", async () => {
    const { driver, pool } = singleConnectionDriver(fixture);
    try {
      const a = driver.forTenant(tenantA);
      const b = driver.forTenant(tenantB);
      await a.set("secret-a", bytes("a"));
      await b.set("mine-b", bytes("b"));
      const before = await connectionView(fixture, pool);

      await assert.rejects(a.set("explode", bytes("x")), (error: unknown) => {
        assert.ok(error instanceof PrismError);
        assert.equal(error.code, Code.Internal);
        return true;
      });

      assert.equal(await b.exists("secret-a"), false);
      assert.deepEqual(await b.get("mine-b"), bytes("b"));
      assert.deepEqual(await b.batchGet(["secret-a", "mine-b"]), [undefined, bytes("b")]);

      const after = await connectionView(fixture, pool);
      assertNoTenantOnConnection(after);
      assert.notEqual(after.pid, before.pid, "the connection of the failed request went back to the pool");
    } finally {
      await driver.close();
    }
  });

  it("rolls back the whole batch when one entry fails", async () => {
    const { driver } = singleConnectionDriver(fixture);
    try {
      const a = driver.forTenant(tenantA);
      await assert.rejects(
        a.batchSet([
          { key: "batch-before", value: bytes("1") },
          { key: "explode", value: bytes("2") },
          { key: "batch-zafter", value: bytes("3") },
        ]),
        PrismError,
      );
      assert.deepEqual(await a.batchGet(["batch-before", "batch-zafter"]), [undefined, undefined]);
    } finally {
      await driver.close();
    }
  });

  it("carries no tenant past a statement timeout", async () => {
    const { driver, pool } = singleConnectionDriver(fixture, { statementTimeoutMs: 300 });
    const lock = await lockRow(fixture, tenantA, "locked");
    try {
      const a = driver.forTenant(tenantA);
      const b = driver.forTenant(tenantB);
      await b.set("after-timeout", bytes("b"));

      await assert.rejects(a.set("locked", bytes("a")), (error: unknown) => {
        assert.ok(error instanceof PrismError);
        assert.equal(error.code, Code.DeadlineExceeded);
        assert.equal(error.reason, "BACKEND_TIMEOUT");
        assert.match(error.rawMessage, /statement_timeout is 300 ms/);
        return true;
      });

      assert.deepEqual(await b.get("after-timeout"), bytes("b"));
      assert.equal(await b.exists("locked"), false);
      assertNoTenantOnConnection(await connectionView(fixture, pool));
    } finally {
      await lock.release();
      await driver.close();
    }
  });

  it("carries no tenant past a cancelled request", async () => {
    const { driver, pool } = singleConnectionDriver(fixture, { statementTimeoutMs: 10_000, queryTimeoutMs: 300 });
    const lock = await lockRow(fixture, tenantA, "cancelled");
    let abandonedPid: number | undefined;
    try {
      const a = driver.forTenant(tenantA);
      const b = driver.forTenant(tenantB);
      await b.set("after-cancel", bytes("b"));
      abandonedPid = (await connectionView(fixture, pool)).pid;

      await assert.rejects(a.set("cancelled", bytes("a")), (error: unknown) => {
        assert.ok(error instanceof PrismError);
        assert.equal(error.code, Code.DeadlineExceeded);
        assert.match(error.rawMessage, /did not reply within 300 ms/);
        assert.match(error.rawMessage, /nothing was written/);
        return true;
      });

      assert.deepEqual(await b.get("after-cancel"), bytes("b"));
      const view = await connectionView(fixture, pool);
      assertNoTenantOnConnection(view);
      assert.notEqual(view.pid, abandonedPid, "the cancelled request's connection was reused");
    } finally {
      await lock.release();
    }

    try {
      // Once the lock is gone the abandoned server process finds its client gone and rolls back.
      await waitUntil(async () => !(await fixture.proxyBackendPids()).includes(abandonedPid ?? -1), "the abandoned backend to exit");
      assert.equal((await fixture.rawRows()).some((row) => row.key === "cancelled"), false, "the cancelled write was committed");
    } finally {
      await driver.close();
    }
  });

  it("keeps tenants apart under concurrent requests on a small pool", async () => {
    const driver = new PostgresKeyValueDriver(fixture.driverOptions(silentLogger(), { maxConnections: 2 }));
    try {
      const tenants = [tenantA, tenantB, uniqueName("tc")];
      const operations = Array.from({ length: 90 }, async (_, index) => {
        const tenant = tenants[index % tenants.length] ?? tenantA;
        const store = driver.forTenant(tenant);
        await store.set(`concurrent-${index % 10}`, bytes(tenant));
        const value = await store.get(`concurrent-${index % 10}`);
        assert.deepEqual(value, bytes(tenant), `tenant ${tenant} read another tenant's value`);
      });
      await Promise.all(operations);
    } finally {
      await driver.close();
    }
  });
});
