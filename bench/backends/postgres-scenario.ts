import { BENCH_KEY, benchValue, keyValueGet, keyValueSet } from "../keyvalue-operations.js";
import type { Scenario } from "../scenario.js";
import { backendProxyTarget } from "./backend-proxy-target.js";
import { BENCH_POSTGRES } from "./bench-services.js";
import { benchTenant } from "./bench-tenant.js";
import { BENCH_POSTGRES_POOL_SIZE, PostgresBenchSchema } from "./postgres-bench-schema.js";
import { sameBytes, withBackendCheck } from "./probe-checks.js";

/**
 * KeyValue Set and Get on PostgreSQL: pg running the driver's transaction directly
 * against the proxy with interfaces.keyvalue on PostgreSQL. The proxy target migrates
 * a schema with its own roles before the proxy starts and drops them after it stops.
 * The direct worker does the same with a schema of its own.
 */
export function keyValuePostgresScenario(concurrencies: readonly number[]): Scenario {
  const tenant = benchTenant("kv-pg");
  const schema = PostgresBenchSchema.withUniqueName("proxy");
  const endpoint = `${BENCH_POSTGRES.host}:${BENCH_POSTGRES.port}`;

  const checkStored = async (): Promise<void> => {
    const stored = await schema.readValue(tenant.id, BENCH_KEY);
    if (stored === undefined || !sameBytes(stored, benchValue())) {
      throw new Error(
        `the row of tenant ${tenant.id} and key ${BENCH_KEY} in ${schema.schema}.${schema.table} contains ` +
          `${stored === undefined ? "nothing" : `${stored.length} other bytes`} after the proxy's Set`,
      );
    }
  };

  return {
    name: "keyvalue-postgres",
    description:
      `KeyValue Set and Get on PostgreSQL (${endpoint}, database ${BENCH_POSTGRES.database}) with row-level security. The direct ` +
      "baseline runs the driver's transaction with pg from one thread per core: BEGIN, set_config of the tenant and the statement " +
      "pipelined, then COMMIT. The proxy runs with interfaces.keyvalue on PostgreSQL. Each side has " +
      `${BENCH_POSTGRES_POOL_SIZE} pooled connections, which the direct side splits evenly over its threads.`,
    operations: [withBackendCheck(keyValueSet(), checkStored), withBackendCheck(keyValueGet(), checkStored)],
    concurrencies,
    targets: [
      { kind: "in-process", name: "direct", label: "Direct pg", workerScript: "dist/bench/direct/postgres-keyvalue-worker.js" },
      backendProxyTarget({
        configName: "proxy-postgres-keyvalue",
        configure: (document) => {
          tenant.configure(document);
          document.setIn(["backends", "postgres"], {
            endpoint,
            database: BENCH_POSTGRES.database,
            username: schema.proxyRole,
            schema: schema.schema,
            isolation: { type: "row_level_security", enable_rls: true, tenant_column: schema.tenantColumn },
          });
          document.setIn(["proxy", "connection_pools", "postgres", "max_connections"], BENCH_POSTGRES_POOL_SIZE);
          document.setIn(["interfaces", "keyvalue", "backend"], "postgres");
        },
        setUp: () => schema.create(),
        tearDown: () => schema.drop(),
      }),
    ],
    headers: tenant.headers,
    ratios: [{ numerator: "proxy", denominator: "direct" }],
  };
}
