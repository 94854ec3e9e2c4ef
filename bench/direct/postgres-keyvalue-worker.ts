// Direct baseline of keyvalue-postgres: pg running the transaction the proxy's
// PostgreSQL driver runs for Set and Get, called by --concurrency callers. Each caller
// thread has a pool with the driver's settings, and the pool sizes add up to the driver's
// pool size. Each call takes a pooled connection and sends BEGIN, set_config of the
// tenant and the driver's statement together, because the pool runs in pg's pipeline
// mode as the driver's does. COMMIT follows once all three succeeded, so a
// call costs two round trips, as in the driver. The worker creates a schema and roles of
// its own with the driver's migration and drops them at the end.
//
// Usage: node dist/bench/direct/postgres-keyvalue-worker.js --operation Set|Get
//          --concurrency N --warmup-ms MS --duration-ms MS
import type { Pool, QueryResult, QueryResultRow } from "pg";
import { resolvePostgresOptions } from "../../src/backends/postgres/postgres-options.js";
import { createPostgresPool } from "../../src/backends/postgres/postgres-pool.js";
import { TENANT_SETTING } from "../../src/backends/postgres/postgres-sql.js";
import { createLogger } from "../../src/observability/logger.js";
import { BENCH_POSTGRES } from "../backends/bench-services.js";
import { BENCH_POSTGRES_POOL_SIZE, PostgresBenchSchema } from "../backends/postgres-bench-schema.js";
import { BENCH_KEY, BENCH_VALUE_BYTES, benchValue } from "../keyvalue-operations.js";
import { directTenantId, evenShare, runDirectWorker, type DirectClient, type ThreadShare } from "./direct-worker.js";

/** The driver's statement that names the transaction's tenant for the row-level security policy. */
const SET_TENANT_SQL = `SELECT set_config('${TENANT_SETTING}', $1, true)`;

interface Shared {
  schema: string;
  tenantId: string;
}

/**
 * Creates a pool with the driver's own pool factory and option defaults, so that pipeline
 * mode and the per-connection timeouts are the ones the proxy runs with.
 */
function createPool(schema: PostgresBenchSchema, maxConnections: number): Pool {
  const pool = createPostgresPool(
    resolvePostgresOptions({
      endpoint: `${BENCH_POSTGRES.host}:${BENCH_POSTGRES.port}`,
      database: BENCH_POSTGRES.database,
      user: schema.proxyRole,
      schema: schema.schema,
      table: schema.table,
      tenantColumn: schema.tenantColumn,
      maxConnections,
      applicationName: "prism-bench-direct",
      logger: createLogger({ level: "silent" }),
    }),
  );
  pool.on("error", (error) => process.stderr.write(`postgres-keyvalue-worker: idle connection failed: ${error.message}\n`));
  return pool;
}

/** Runs one statement for the tenant the way the driver does, and returns its result. */
async function runTransaction(pool: Pool, tenantId: string, text: string, values: readonly unknown[]): Promise<QueryResult<QueryResultRow>> {
  const client = await pool.connect();
  try {
    const [, , result] = await Promise.all([
      client.query("BEGIN"),
      client.query(SET_TENANT_SQL, [tenantId]),
      client.query(text, [tenantId, ...values]),
    ]);
    await client.query("COMMIT");
    client.release();
    return result;
  } catch (error) {
    // Releasing with an error destroys the connection, as the driver does after a failure.
    client.release(error instanceof Error ? error : new Error(String(error)));
    throw error;
  }
}

/** Creates the worker's schema and roles and stores the row every Get reads. */
async function setUp(): Promise<Shared> {
  const schema = PostgresBenchSchema.withUniqueName("direct");
  const tenantId = directTenantId("kv");
  try {
    await schema.create();
    // The first Set also shows that the role, the policy and the grants work.
    const pool = createPool(schema, 1);
    try {
      await runTransaction(pool, tenantId, schema.statements().set, [BENCH_KEY, Buffer.from(benchValue())]);
    } finally {
      await pool.end();
    }
  } catch (error) {
    await dropAfterFailure(schema);
    throw error;
  }
  return { schema: schema.schema, tenantId };
}

/** Runs the cleanup while another error is on its way out. Its own failure is printed rather than thrown over that error. */
async function dropAfterFailure(schema: PostgresBenchSchema): Promise<void> {
  try {
    await schema.drop();
  } catch (error) {
    process.stderr.write(`postgres-keyvalue-worker: cleanup failed: ${error instanceof Error ? error.message : String(error)}\n`);
  }
}

function connect(shared: Shared, share: ThreadShare): Promise<DirectClient> {
  const schema = new PostgresBenchSchema(shared.schema);
  const statements = schema.statements();
  const pool = createPool(schema, evenShare(BENCH_POSTGRES_POOL_SIZE, share.index, share.threads));
  const value = Buffer.from(benchValue());

  const set = async (): Promise<void> => {
    await runTransaction(pool, shared.tenantId, statements.set, [BENCH_KEY, value]);
  };
  const get = async (): Promise<void> => {
    const result = await runTransaction(pool, shared.tenantId, statements.get, [BENCH_KEY]);
    const stored = (result.rows[0] as { value: Buffer } | undefined)?.value;
    if (stored?.length !== BENCH_VALUE_BYTES) {
      throw new Error(`Get returned ${stored === undefined ? "no row" : `${stored.length} bytes`}, expected ${BENCH_VALUE_BYTES}`);
    }
  };

  return Promise.resolve({ callFor: (operation) => (operation === "Set" ? set : get), close: () => pool.end() });
}

runDirectWorker({
  name: "postgres-keyvalue-worker",
  operations: ["Set", "Get"],
  setUp,
  connect,
  tearDown: (shared) => new PostgresBenchSchema(shared.schema).drop(),
});
