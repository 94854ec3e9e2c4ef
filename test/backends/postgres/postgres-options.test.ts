import { describe, it } from "node:test";
import assert from "node:assert/strict";
import {
  DEFAULT_QUERY_TIMEOUT_MARGIN_MS,
  DEFAULT_STATEMENT_TIMEOUT_MS,
  resolveConnection,
  resolvePostgresOptions,
  resolveTable,
} from "../../../src/backends/postgres/postgres-options.js";
import { tlsOptions } from "../../../src/backends/postgres/postgres-pool.js";
import { silentLogger } from "./postgres-test-support.js";

describe("postgres options", () => {
  it("parses host:port endpoints", () => {
    assert.deepEqual(resolveConnection({ endpoint: "db.internal:6543", database: "app", user: "proxy" }), {
      host: "db.internal",
      port: 6543,
      database: "app",
      user: "proxy",
      password: undefined,
      sslMode: "disable",
      endpoint: "db.internal:6543/app",
    });
    assert.equal(resolveConnection({ endpoint: "db.internal" }).port, 5432);
    assert.equal(resolveConnection({ endpoint: "[::1]:5433" }).host, "::1");
    assert.equal(resolveConnection({ endpoint: "[::1]:5433" }).endpoint, "[::1]:5433");
  });

  it("parses URLs and lets separate fields win", () => {
    const connection = resolveConnection({ endpoint: "postgres://u%40x:p%2Fw@db:5433/app?sslmode=require", user: "other" });
    assert.equal(connection.user, "other");
    assert.equal(connection.password, "p/w");
    assert.equal(connection.database, "app");
    assert.equal(connection.sslMode, "require");
    assert.equal(connection.endpoint, "db:5433/app");
    assert.equal(resolveConnection({ endpoint: "postgresql://u@db/app" }).user, "u");
  });

  it("rejects endpoints the pg client cannot use, without echoing a password", () => {
    assert.throws(() => resolveConnection({ endpoint: "a:5432,b:5432" }), /lists several hosts/);
    assert.throws(() => resolveConnection({ endpoint: "mysql://db/app" }), /must be host:port or a postgres:\/\/ URL/);
    assert.throws(() => resolveConnection({ endpoint: "postgres://db/app?options=-c%20x" }), /parameter "options" is not supported/);
    assert.throws(() => resolveConnection({ endpoint: "db", sslMode: "prefer" }), /"prefer" is not supported/);
    assert.throws(
      () => resolveConnection({ endpoint: "mysql://user:hunter2@db/app" }),
      (error: unknown) => error instanceof TypeError && !error.message.includes("hunter2"),
    );
  });

  it("maps SSL modes to TLS options", () => {
    assert.equal(tlsOptions("disable"), false);
    assert.deepEqual(tlsOptions("require"), { rejectUnauthorized: false });
    assert.deepEqual(tlsOptions("verify-full"), { rejectUnauthorized: true });
    const verifyCa = tlsOptions("verify-ca");
    assert.ok(verifyCa !== false);
    assert.equal(verifyCa.rejectUnauthorized, true);
    assert.equal(typeof verifyCa.checkServerIdentity, "function", "verify-ca still checks the host name");
  });

  it("validates table names", () => {
    assert.deepEqual(resolveTable({}), { schema: "prism", table: "keyvalue", tenantColumn: "tenant_id", displayName: "prism.keyvalue" });
    assert.throws(() => resolveTable({ schema: "Prism" }), /schema "Prism" is not valid/);
    assert.throws(() => resolveTable({ table: "x; DROP TABLE y" }), /table .* is not valid/);
    assert.throws(() => resolveTable({ table: "t".repeat(49) }), /the limit is 48/);
    assert.throws(() => resolveTable({ tenantColumn: "expires_at" }), /collides with a column/);
  });

  it("applies timeout defaults and keeps an explicit 0", () => {
    const resolved = resolvePostgresOptions({ endpoint: "db", logger: silentLogger(), cleanupIntervalMs: 0 });
    assert.equal(resolved.statementTimeoutMs, DEFAULT_STATEMENT_TIMEOUT_MS);
    assert.equal(resolved.queryTimeoutMs, DEFAULT_STATEMENT_TIMEOUT_MS + DEFAULT_QUERY_TIMEOUT_MARGIN_MS);
    assert.equal(resolved.cleanupIntervalMs, 0);
    assert.equal(resolvePostgresOptions({ endpoint: "db", logger: silentLogger(), statementTimeoutMs: 500 }).queryTimeoutMs, 1500);
    assert.throws(() => resolvePostgresOptions({ endpoint: "db", logger: silentLogger(), statementTimeoutMs: 0 }), /statementTimeoutMs/);
    assert.throws(() => resolvePostgresOptions({ endpoint: "db", logger: silentLogger(), maxConnections: 1.5 }), /maxConnections/);
  });
});
