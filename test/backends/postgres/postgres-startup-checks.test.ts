import { after, before, describe, it } from "node:test";
import assert from "node:assert/strict";
import { Code, PrismError } from "../../../src/errors/prism-error.js";
import { PostgresKeyValueDriver } from "../../../src/backends/postgres/postgres-keyvalue.js";
import type { PostgresKeyValueOptions } from "../../../src/backends/postgres/postgres-options.js";
import { bytes, captureLogger, PostgresFixture, silentLogger, SUPERUSER_URL, uniqueName } from "./postgres-test-support.js";

describe("postgres startup checks", () => {
  const fixture = new PostgresFixture();
  const tenant = uniqueName("t");
  const table = (): string => fixture.qualifiedTable;

  before(async () => {
    await fixture.migrate();
  });

  after(async () => {
    await fixture.drop();
  });

  /**
   * Starts a driver, expects its checks to fail with a problem matching `problem`, and
   * expects a request to fail with UNAVAILABLE carrying the same problem.
   */
  async function assertNotReady(problem: RegExp, overrides: Partial<PostgresKeyValueOptions> = {}): Promise<void> {
    const driver = new PostgresKeyValueDriver(fixture.driverOptions(silentLogger(), overrides));
    try {
      const health = await driver.ready();
      assert.equal(health.state, "degraded");
      assert.match(health.detail ?? "", problem);

      await assert.rejects(driver.forTenant(tenant).get("k"), (error: unknown) => {
        assert.ok(error instanceof PrismError);
        assert.equal(error.code, Code.Unavailable);
        assert.equal(error.reason, "BACKEND_UNAVAILABLE");
        assert.match(error.rawMessage, problem);
        return true;
      });
    } finally {
      await driver.close();
    }
  }

  async function assertReady(): Promise<void> {
    const driver = new PostgresKeyValueDriver(fixture.driverOptions(silentLogger()));
    try {
      const health = await driver.ready();
      assert.equal(health.state, "ready", health.detail);
      await driver.forTenant(tenant).set("k", bytes("v"));
    } finally {
      await driver.close();
    }
  }

  it("passes on a migrated table and logs the state change", async () => {
    const { logger, log } = captureLogger();
    const driver = new PostgresKeyValueDriver(fixture.driverOptions(logger));
    try {
      assert.deepEqual(await driver.ready(), { backend: "postgres", state: "ready" });
      assert.ok(log.messages().includes("postgres backend connecting -> ready"), log.messages().join("\n"));
    } finally {
      await driver.close();
    }
    assert.equal(driver.health().state, "closed");
  });

  it("fails when the table does not exist, and recovers once it is migrated", async () => {
    const { logger, log } = captureLogger();
    const driver = new PostgresKeyValueDriver(fixture.driverOptions(logger, { table: "later" }));
    try {
      assert.equal((await driver.ready()).state, "degraded");
      await assert.rejects(driver.forTenant(tenant).get("k"), /table prism_test_\w+\.later does not exist; run prismctl postgres migrate/);

      await fixture.migrate({ table: "later" });
      await driver.forTenant(tenant).set("k", bytes("v"));
      assert.equal(driver.health().state, "ready");
      assert.ok(log.messages().includes("postgres backend connecting -> degraded"));
      assert.ok(log.messages().includes("postgres backend degraded -> ready"));
    } finally {
      await driver.close();
    }
  });

  it("fails when the schema does not exist", async () => {
    await assertNotReady(/schema prism_nothing_here does not exist/, { schema: "prism_nothing_here" });
  });

  it("fails when row-level security is not forced", async () => {
    await fixture.superuser.query(`ALTER TABLE ${table()} NO FORCE ROW LEVEL SECURITY`);
    await assertNotReady(/row-level security is not forced on .*FORCE ROW LEVEL SECURITY/);
    await fixture.migrate();
    await assertReady();
  });

  it("fails when row-level security is disabled", async () => {
    await fixture.superuser.query(`ALTER TABLE ${table()} DISABLE ROW LEVEL SECURITY`);
    await assertNotReady(/row-level security is disabled/);
    await fixture.migrate();
    await assertReady();
  });

  it("fails when the proxy role owns the table", async () => {
    await fixture.superuser.query(`ALTER TABLE ${table()} OWNER TO ${fixture.proxyRole}`);
    try {
      await assertNotReady(new RegExp(`role ${fixture.proxyRole} owns table`));
    } finally {
      await fixture.superuser.query(`ALTER TABLE ${table()} OWNER TO ${fixture.ownerRole}`);
    }
    // The change of owner took the proxy role's grants with it; the migration restores them.
    await fixture.migrate();
    await assertReady();
  });

  it("fails when the proxy role is a member of the owner role", async () => {
    await fixture.superuser.query(`GRANT ${fixture.ownerRole} TO ${fixture.proxyRole}`);
    try {
      await assertNotReady(/is a member of its owner/);
    } finally {
      await fixture.superuser.query(`REVOKE ${fixture.ownerRole} FROM ${fixture.proxyRole}`);
    }
    await assertReady();
  });

  it("fails when the proxy role has BYPASSRLS", async () => {
    await fixture.superuser.query(`ALTER ROLE ${fixture.proxyRole} BYPASSRLS`);
    try {
      await assertNotReady(/has the BYPASSRLS attribute/);
    } finally {
      await fixture.superuser.query(`ALTER ROLE ${fixture.proxyRole} NOBYPASSRLS`);
    }
    await assertReady();
  });

  it("fails when connected as a superuser", async () => {
    await assertNotReady(/is a superuser, and superusers bypass row-level security/, { endpoint: SUPERUSER_URL });
  });

  it("fails when another permissive policy applies to the proxy role", async () => {
    await fixture.superuser.query(`CREATE POLICY see_everything ON ${table()} FOR SELECT USING (true)`);
    try {
      await assertNotReady(/permissive policies besides prism_tenant_isolation .*\(see_everything\)/);
    } finally {
      await fixture.superuser.query(`DROP POLICY see_everything ON ${table()}`);
    }
  });

  it("accepts a restrictive policy, which can only narrow access", async () => {
    await fixture.superuser.query(`CREATE POLICY narrower ON ${table()} AS RESTRICTIVE FOR SELECT USING (key <> 'hidden')`);
    try {
      await assertReady();
    } finally {
      await fixture.superuser.query(`DROP POLICY narrower ON ${table()}`);
    }
  });

  it("fails when the tenant policy is missing", async () => {
    await fixture.superuser.query(`DROP POLICY prism_tenant_isolation ON ${table()}`);
    await assertNotReady(/has no policy prism_tenant_isolation/);
    await fixture.migrate();
    await assertReady();
  });

  it("fails when a privilege is missing", async () => {
    await fixture.superuser.query(`REVOKE DELETE ON ${table()} FROM ${fixture.proxyRole}`);
    await assertNotReady(/lacks DELETE on/);
    await fixture.migrate();
    await assertReady();
  });

  it("fails when the configured tenant column does not exist", async () => {
    await assertNotReady(/has no column owner_id/, { tenantColumn: "owner_id" });
  });

  it("stays ready without the cleanup function and warns", async () => {
    await fixture.superuser.query(`DROP FUNCTION ${fixture.schema}.keyvalue_delete_expired(integer)`);
    const { logger, log } = captureLogger();
    const driver = new PostgresKeyValueDriver(fixture.driverOptions(logger));
    try {
      assert.equal((await driver.ready()).state, "ready");
      assert.ok(log.messages().some((message) => message.includes("keyvalue_delete_expired does not exist")));
      await driver.cleanExpiredNow();
    } finally {
      await driver.close();
      await fixture.migrate();
    }
  });

  it("sends a request to the checks again once the table is dropped", async () => {
    await fixture.migrate({ table: "dropped" });
    const driver = new PostgresKeyValueDriver(fixture.driverOptions(silentLogger(), { table: "dropped" }));
    try {
      await driver.forTenant(tenant).set("k", bytes("v"));
      await fixture.superuser.query(`DROP TABLE ${fixture.schema}.dropped`);

      await assert.rejects(driver.forTenant(tenant).get("k"), (error: unknown) => {
        assert.ok(error instanceof PrismError);
        assert.equal(error.code, Code.Unavailable);
        assert.match(error.rawMessage, /prismctl postgres migrate/);
        return true;
      });
      assert.equal(driver.health().state, "degraded");
      await assert.rejects(driver.forTenant(tenant).get("k"), /dropped does not exist/);
    } finally {
      await driver.close();
    }
  });
});
