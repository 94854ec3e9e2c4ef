import { randomBytes } from "node:crypto";
import pg from "pg";
import { migratePostgres } from "../../src/backends/postgres/postgres-migration.js";
import { DEFAULT_MAX_CONNECTIONS, DEFAULT_TABLE, DEFAULT_TENANT_COLUMN, resolveTable } from "../../src/backends/postgres/postgres-options.js";
import { buildStatements, type KeyValueStatements } from "../../src/backends/postgres/postgres-sql.js";
import { BENCH_POSTGRES, BENCH_POSTGRES_SUPERUSER } from "./bench-services.js";

/**
 * Connections in the pool of the proxy's PostgreSQL driver and in the pool of the direct
 * baseline, so both run at most this many transactions at once. It is the driver's
 * default, written into the generated configuration explicitly.
 */
export const BENCH_POSTGRES_POOL_SIZE = DEFAULT_MAX_CONNECTIONS;

/** Bytes of randomness in each schema name (as hex digits, so 10 characters). */
const SCHEMA_ID_BYTES = 5;

/**
 * A key-value table of its own, in a schema with its own owner and proxy roles, created
 * by the driver's migration (migratePostgres) as the superuser. Unique names keep runs
 * and the tests that share the server apart, and drop() removes the schema and both roles.
 */
export class PostgresBenchSchema {
  readonly table = DEFAULT_TABLE;
  readonly tenantColumn = DEFAULT_TENANT_COLUMN;
  /** Role that owns the schema and table. It cannot log in (NOLOGIN). */
  readonly ownerRole: string;
  /** Role the proxy, or the direct baseline, connects as. It has no password: the server trusts loopback. */
  readonly proxyRole: string;

  /** Names the schema and roles after `schema`; withUniqueName picks a new one. */
  constructor(readonly schema: string) {
    this.ownerRole = `${schema}_owner`;
    this.proxyRole = `${schema}_proxy`;
  }

  /** `label` names the user in the schema name, for example "proxy" or "direct". */
  static withUniqueName(label: string): PostgresBenchSchema {
    return new PostgresBenchSchema(`prism_bench_${label}_${randomBytes(SCHEMA_ID_BYTES).toString("hex")}`);
  }

  /** Builds the statements the driver runs on this table with the driver's own SQL builder. */
  statements(): KeyValueStatements {
    return buildStatements(resolveTable({ schema: this.schema, table: this.table, tenantColumn: this.tenantColumn }));
  }

  /** Creates the roles, schema, table, row-level security and grants. */
  async create(): Promise<void> {
    await withSuperuser(async (client) => {
      await migratePostgres(client, {
        schema: this.schema,
        table: this.table,
        tenantColumn: this.tenantColumn,
        ownerRole: this.ownerRole,
        proxyRole: this.proxyRole,
        createOwnerRole: true,
        createProxyRole: true,
      });
    });
  }

  /** Reads a row as the superuser, past row-level security; undefined when there is none. */
  async readValue(tenantId: string, key: string): Promise<Uint8Array | undefined> {
    return withSuperuser(async (client) => {
      const result = await client.query<{ value: Buffer }>(
        `SELECT value FROM ${pg.escapeIdentifier(this.schema)}.${pg.escapeIdentifier(this.table)} ` +
          `WHERE ${pg.escapeIdentifier(this.tenantColumn)} = $1 AND key = $2`,
        [tenantId, key],
      );
      const row = result.rows[0];
      return row === undefined ? undefined : new Uint8Array(row.value);
    });
  }

  /**
   * Ends the proxy role's remaining connections, then drops the schema with everything
   * in it and both roles. Objects that do not exist are skipped, so it may run after a
   * failed create() and more than once.
   */
  async drop(): Promise<void> {
    await withSuperuser(async (client) => {
      await client.query("SELECT pg_terminate_backend(pid) FROM pg_stat_activity WHERE usename = $1", [this.proxyRole]);
      await client.query(`DROP SCHEMA IF EXISTS ${pg.escapeIdentifier(this.schema)} CASCADE`);
      for (const role of [this.proxyRole, this.ownerRole]) {
        const exists = await client.query("SELECT 1 FROM pg_roles WHERE rolname = $1", [role]);
        if (exists.rows.length === 0) {
          continue;
        }
        // DROP OWNED BY also revokes the role's grants, which DROP ROLE requires first.
        await client.query(`DROP OWNED BY ${pg.escapeIdentifier(role)}`);
        await client.query(`DROP ROLE ${pg.escapeIdentifier(role)}`);
      }
    });
  }
}

/** Runs `work` on a new superuser connection and closes it afterwards. */
async function withSuperuser<T>(work: (client: pg.Client) => Promise<T>): Promise<T> {
  const client = new pg.Client({ ...BENCH_POSTGRES, user: BENCH_POSTGRES_SUPERUSER, application_name: "prism-bench-setup" });
  // A connection error outside a query arrives as an event; the failing query reports it.
  client.on("error", () => undefined);
  await client.connect();
  try {
    return await work(client);
  } finally {
    await client.end();
  }
}
