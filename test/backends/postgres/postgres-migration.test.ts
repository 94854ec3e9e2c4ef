import { after, before, describe, it } from "node:test";
import assert from "node:assert/strict";
import { PassThrough } from "node:stream";
import pg from "pg";
import { MigrationError, migratePostgres } from "../../../src/backends/postgres/postgres-migration.js";
import { PostgresKeyValueDriver } from "../../../src/backends/postgres/postgres-keyvalue.js";
import { ADMIN_URL_ENV, runPostgresMigrate } from "../../../src/cli/postgres-command.js";
import type { CliIo } from "../../../src/cli/cli-io.js";
import { ExitCode } from "../../../src/cli/exit-codes.js";
import { bytes, closedPort, PostgresFixture, silentLogger, SUPERUSER_URL, uniqueName } from "./postgres-test-support.js";

interface TableSecurity {
  rls_enabled: boolean;
  rls_forced: boolean;
  owner: string;
  policies: string[];
  function_owner: string;
  security_definer: boolean;
  function_config: string[] | null;
  public_execute: boolean;
  proxy_execute: boolean;
  proxy_privileges: string[];
  expiry_index: boolean;
}

async function tableSecurity(fixture: PostgresFixture, table = fixture.table): Promise<TableSecurity> {
  const result = await fixture.superuser.query<TableSecurity>(
    `SELECT c.relrowsecurity AS rls_enabled, c.relforcerowsecurity AS rls_forced, pg_get_userbyid(c.relowner)::text AS owner,
            ARRAY(SELECT polname::text FROM pg_policy WHERE polrelid = c.oid ORDER BY polname) AS policies,
            pg_get_userbyid(f.proowner)::text AS function_owner, f.prosecdef AS security_definer, f.proconfig AS function_config,
            has_function_privilege('public', f.oid, 'EXECUTE') AS public_execute,
            has_function_privilege($3, f.oid, 'EXECUTE') AS proxy_execute,
            ARRAY(SELECT p FROM unnest(ARRAY['SELECT','INSERT','UPDATE','DELETE','TRUNCATE','REFERENCES','TRIGGER']) AS p
                  WHERE has_table_privilege($3, c.oid, p)) AS proxy_privileges,
            EXISTS (SELECT 1 FROM pg_indexes WHERE schemaname = $1 AND indexname = $2 || '_expires_at') AS expiry_index
     FROM pg_class c JOIN pg_namespace n ON n.oid = c.relnamespace
     JOIN pg_proc f ON f.pronamespace = n.oid AND f.proname = $2 || '_delete_expired'
     WHERE n.nspname = $1 AND c.relname = $2`,
    [fixture.schema, table, fixture.proxyRole],
  );
  const row = result.rows[0];
  assert.ok(row !== undefined, "the migrated table or its cleanup function is missing");
  return row;
}

describe("postgres migration", () => {
  const fixture = new PostgresFixture();

  before(async () => {
    await fixture.migrate();
  });

  after(async () => {
    await fixture.drop();
  });

  it("creates the table with forced row-level security, policies, cleanup function and grants", async () => {
    const security = await tableSecurity(fixture);
    assert.equal(security.rls_enabled, true);
    assert.equal(security.rls_forced, true);
    assert.equal(security.owner, fixture.ownerRole);
    assert.deepEqual(security.policies, ["prism_expired_rows_delete", "prism_expired_rows_select", "prism_tenant_isolation"]);
    assert.equal(security.function_owner, fixture.ownerRole);
    assert.equal(security.security_definer, true);
    assert.deepEqual(security.function_config, ["search_path=pg_catalog, pg_temp"]);
    assert.equal(security.public_execute, false);
    assert.equal(security.proxy_execute, true);
    assert.deepEqual(security.proxy_privileges, ["SELECT", "INSERT", "UPDATE", "DELETE"]);
    assert.equal(security.expiry_index, true);
  });

  it("creates the roles it was asked for, with no special attributes", async () => {
    const result = await fixture.superuser.query<{ rolname: string; rolcanlogin: boolean; rolsuper: boolean; rolbypassrls: boolean }>(
      "SELECT rolname, rolcanlogin, rolsuper, rolbypassrls FROM pg_roles WHERE rolname = ANY($1) ORDER BY rolname",
      [[fixture.ownerRole, fixture.proxyRole]],
    );
    assert.deepEqual(result.rows, [
      { rolname: fixture.ownerRole, rolcanlogin: false, rolsuper: false, rolbypassrls: false },
      { rolname: fixture.proxyRole, rolcanlogin: true, rolsuper: false, rolbypassrls: false },
    ]);
  });

  it("runs again without changes and keeps the rows", async () => {
    const driver = new PostgresKeyValueDriver(fixture.driverOptions(silentLogger()));
    try {
      await driver.forTenant(uniqueName("t")).set("kept", bytes("v"));
    } finally {
      await driver.close();
    }

    const again = await fixture.migrate();
    assert.equal(again.tableCreated, false);
    assert.deepEqual(again.createdRoles, []);
    assert.equal((await fixture.rawRows()).some((row) => row.key === "kept"), true);
  });

  it("repairs row-level security and grants changed after the first run", async () => {
    await fixture.superuser.query(`ALTER TABLE ${fixture.qualifiedTable} NO FORCE ROW LEVEL SECURITY`);
    await fixture.superuser.query(`REVOKE ALL ON ${fixture.qualifiedTable} FROM ${fixture.proxyRole}`);
    await fixture.superuser.query(`GRANT EXECUTE ON FUNCTION ${fixture.schema}.keyvalue_delete_expired(integer) TO PUBLIC`);

    await fixture.migrate();

    const security = await tableSecurity(fixture);
    assert.equal(security.rls_forced, true);
    assert.deepEqual(security.proxy_privileges, ["SELECT", "INSERT", "UPDATE", "DELETE"]);
    assert.equal(security.public_execute, false);
  });

  it("rejects empty tenant ids in the table", async () => {
    await assert.rejects(
      fixture.superuser.query(`INSERT INTO ${fixture.qualifiedTable} (tenant_id, key, value) VALUES ('', 'k', '\\x00')`),
      (error: unknown) => (error as { code?: string }).code === "23514",
    );
  });

  it("uses a custom tenant column", async () => {
    const custom = new PostgresFixture("account_id");
    try {
      await custom.migrate();
      const driver = new PostgresKeyValueDriver(custom.driverOptions(silentLogger()));
      try {
        assert.equal((await driver.ready()).state, "ready");
        await driver.forTenant("acct1").set("k", bytes("v"));
      } finally {
        await driver.close();
      }
      assert.deepEqual(
        (await custom.rawRows()).map((row) => row.tenant),
        ["acct1"],
      );
    } finally {
      await custom.drop();
    }
  });

  it("rejects a proxy role that would own the table", async () => {
    await assert.rejects(fixture.migrate({ proxyRole: fixture.ownerRole }), MigrationError);
  });

  it("rejects a proxy role that is a member of the owner role", async () => {
    await fixture.superuser.query(`GRANT ${fixture.ownerRole} TO ${fixture.proxyRole}`);
    try {
      await assert.rejects(fixture.migrate(), /is a member of the owner role/);
    } finally {
      await fixture.superuser.query(`REVOKE ${fixture.ownerRole} FROM ${fixture.proxyRole}`);
    }
  });

  it("rejects a superuser or BYPASSRLS proxy role", async () => {
    await assert.rejects(fixture.migrate({ proxyRole: "postgres" }), /is a superuser/);

    const bypassing = uniqueName("prism_test_bypass");
    await fixture.createRole(bypassing, "LOGIN BYPASSRLS");
    await assert.rejects(fixture.migrate({ proxyRole: bypassing }), /has BYPASSRLS/);
  });

  it("rejects a missing role unless asked to create it", async () => {
    const missing = uniqueName("prism_test_missing");
    await assert.rejects(
      fixture.migrate({ proxyRole: missing, createProxyRole: false }),
      new RegExp(`role ${missing} does not exist; create it first`),
    );
    const roles = await fixture.superuser.query("SELECT 1 FROM pg_roles WHERE rolname = $1", [missing]);
    assert.equal(roles.rows.length, 0);
  });

  it("changes nothing when a late step fails", async () => {
    // A cleanup function that the owner role does not own makes the step after the table and policies fail.
    const schema = uniqueName("prism_test_partial");
    await fixture.superuser.query(`CREATE SCHEMA ${schema}`);
    await fixture.superuser.query(`GRANT ALL ON SCHEMA ${schema} TO ${fixture.ownerRole}`);
    await fixture.superuser.query(
      `CREATE FUNCTION ${schema}.keyvalue_delete_expired(integer) RETURNS bigint LANGUAGE sql AS 'SELECT 0::bigint'`,
    );
    try {
      await assert.rejects(fixture.migrate({ schema }), /must be owner of function/);
      const table = await fixture.superuser.query("SELECT to_regclass($1) AS name", [`${schema}.keyvalue`]);
      assert.equal((table.rows[0] as { name: string | null }).name, null, "the failed migration left its table behind");
    } finally {
      await fixture.superuser.query(`DROP SCHEMA ${schema} CASCADE`);
    }
  });

  it("rejects invalid names before connecting", async () => {
    await assert.rejects(migratePostgres("postgres://127.0.0.1:1/none", { proxyRole: "p", table: "Bad Name" }), TypeError);
    await assert.rejects(migratePostgres("postgres://127.0.0.1:1/none", { proxyRole: "p", tenantColumn: "key" }), TypeError);
    await assert.rejects(migratePostgres("postgres://127.0.0.1:1/none", { proxyRole: "p'; DROP TABLE x; --" }), TypeError);
  });
});

/** Creates an in-memory CliIo that records what the command writes. */
function memoryIo(env: NodeJS.ProcessEnv = {}): { io: CliIo; stdout: () => string; stderr: () => string } {
  const stdout = new PassThrough();
  const stderr = new PassThrough();
  const chunks = { out: "", err: "" };
  stdout.on("data", (chunk: Buffer) => (chunks.out += chunk.toString("utf8")));
  stderr.on("data", (chunk: Buffer) => (chunks.err += chunk.toString("utf8")));
  return { io: { stdin: new PassThrough(), stdout, stderr, env }, stdout: () => chunks.out, stderr: () => chunks.err };
}

describe("prismctl postgres migrate", () => {
  const fixture = new PostgresFixture();

  after(async () => {
    await fixture.drop();
  });

  it("migrates with the URL from the environment and reports as JSON", async () => {
    const memory = memoryIo({ [ADMIN_URL_ENV]: SUPERUSER_URL, PROXY_PASSWORD: "secret-password" });
    const args = [
      "--schema",
      fixture.schema,
      "--proxy-role",
      fixture.proxyRole,
      "--owner-role",
      fixture.ownerRole,
      "--create-roles",
      "--proxy-password-env",
      "PROXY_PASSWORD",
      "--json",
    ];
    const exitCode = await runPostgresMigrate(args, memory.io);
    assert.equal(exitCode, ExitCode.Success, memory.stderr());

    const report = JSON.parse(memory.stdout()) as Record<string, unknown>;
    assert.equal(report["schema"], fixture.schema);
    assert.equal(report["tableCreated"], true);
    assert.deepEqual(report["createdRoles"], [fixture.ownerRole, fixture.proxyRole]);

    // The password set from the environment lets the proxy role sign in.
    const proxy = new pg.Client({ connectionString: fixture.urlFor(fixture.proxyRole, "secret-password") });
    await proxy.connect();
    await proxy.end();
  });

  it("reports an existing table in text", async () => {
    const memory = memoryIo();
    const args = ["--url", SUPERUSER_URL, "--schema", fixture.schema, "--proxy-role", fixture.proxyRole, "--owner-role", fixture.ownerRole];
    assert.equal(await runPostgresMigrate(args, memory.io), ExitCode.Success, memory.stderr());
    assert.equal(
      memory.stdout(),
      `updated ${fixture.schema}.keyvalue (tenant column tenant_id): owner ${fixture.ownerRole}, proxy role ${fixture.proxyRole}\n`,
    );
  });

  it("prints its help", async () => {
    const memory = memoryIo();
    assert.equal(await runPostgresMigrate(["--help"], memory.io), ExitCode.Success);
    assert.match(memory.stdout(), /^Usage: prismctl postgres migrate --proxy-role ROLE/);
  });

  it("exits 2 on missing or unknown options", async () => {
    const missingUrl = memoryIo();
    assert.equal(await runPostgresMigrate(["--proxy-role", "p"], missingUrl.io), ExitCode.Usage);
    assert.match(missingUrl.stderr(), /missing the administrator's URL/);

    const missingRole = memoryIo({ [ADMIN_URL_ENV]: SUPERUSER_URL });
    assert.equal(await runPostgresMigrate([], missingRole.io), ExitCode.Usage);
    assert.match(missingRole.stderr(), /missing --proxy-role/);

    const unknown = memoryIo();
    assert.equal(await runPostgresMigrate(["--frobnicate"], unknown.io), ExitCode.Usage);
    assert.match(unknown.stderr(), /Run "prismctl postgres migrate --help" for usage/);
  });

  it("exits 3 when the roles are unsafe", async () => {
    const memory = memoryIo({ [ADMIN_URL_ENV]: SUPERUSER_URL });
    const args = ["--schema", fixture.schema, "--proxy-role", "postgres", "--owner-role", fixture.ownerRole];
    const exitCode = await runPostgresMigrate(args, memory.io);
    assert.equal(exitCode, ExitCode.Rejected);
    assert.match(memory.stderr(), /is a superuser/);
  });

  it("exits 4 when the server is unreachable, without echoing the password", async () => {
    const port = await closedPort();
    const memory = memoryIo({ [ADMIN_URL_ENV]: `postgres://admin:hunter2@127.0.0.1:${port}/test` });
    assert.equal(await runPostgresMigrate(["--proxy-role", "p"], memory.io), ExitCode.Unreachable);
    assert.match(memory.stderr(), /cannot connect to PostgreSQL: .*ECONNREFUSED/);
    assert.doesNotMatch(memory.stderr(), /hunter2/);
  });
});
