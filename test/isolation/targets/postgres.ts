import pg from "pg";
import { PostgresKeyValueDriver } from "../../../src/backends/postgres/postgres-keyvalue.js";
import { PostgresFixture, silentLogger } from "../../backends/postgres/postgres-test-support.js";
import type { ConformanceTarget, RawEntry } from "../conformance-target.js";

/**
 * Creates the target for the PostgreSQL key-value backend on the shared server
 * (PRISM_TEST_POSTGRES_URL), in a schema and with owner and proxy roles of its own. Its
 * raw view is the table read as the superuser, which bypasses row-level security.
 */
export function postgresTarget(): ConformanceTarget {
  const fixture = new PostgresFixture();
  let keyValue: PostgresKeyValueDriver | undefined;

  return {
    name: "postgres",

    async setup() {
      await fixture.migrate();
      keyValue = new PostgresKeyValueDriver(fixture.driverOptions(silentLogger()));
      const health = await keyValue.ready();
      if (health.state !== "ready") {
        throw new Error(`the postgres driver is not ready: ${health.detail ?? health.state}`);
      }
      return { keyValue };
    },

    async rawEntries(tenantIds) {
      const column = pg.escapeIdentifier(fixture.tenantColumn);
      const result = await fixture.superuser.query<{ tenant: string; key: string; value: Buffer }>(
        `SELECT ${column} AS tenant, key, value FROM ${fixture.qualifiedTable}
         WHERE ${column} = ANY($1) AND (expires_at IS NULL OR expires_at > now())
         ORDER BY ${column}, key`,
        [[...tenantIds]],
      );
      return result.rows.map((row): RawEntry => ({ tenantId: row.tenant, key: row.key, value: new Uint8Array(row.value) }));
    },

    async teardown() {
      await keyValue?.close();
      await fixture.drop();
    },
  };
}
