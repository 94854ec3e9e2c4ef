/**
 * Builds the PostgreSQL key-value driver options from the `backends.postgres` section
 * of the configuration. The sizes under `proxy.connection_pools.postgres` apply to the
 * proxy's pool layer, which owns the connections that serve requests.
 */

import type { BackendConfig, DurationMs, PrismConfig } from "../../config/model.js";
import type { Logger } from "../../observability/logger.js";
import type { PostgresKeyValueOptions } from "./postgres-options.js";

/**
 * Size of the driver's own pool in the proxy. There it runs only the startup checks and
 * the cleanup, at most one of each at a time.
 */
export const PROXY_DRIVER_POOL_SIZE = 2;

/**
 * Keys of `backends.postgres` beyond the ones every backend has, in the YAML spelling.
 * The configuration schema (src/config/backends-schema.ts) accepts exactly these keys.
 */
export interface PostgresBackendSettings {
  /** Schema of the key-value table; default "prism". */
  schema?: string;
  /** Name of the key-value table; default "keyvalue". */
  table?: string;
  /** Server-side limit of each statement; default 2000 ms. */
  statement_timeout?: DurationMs;
  /** Client-side wait for each reply; default statement_timeout + 1000 ms. */
  query_timeout?: DurationMs;
  /** Time to open a connection; default 2000 ms. */
  connect_timeout?: DurationMs;
  /** Interval of the deletion of expired rows, 0 for none; default 60 s. */
  cleanup_interval?: DurationMs;
}

/**
 * Maps the configuration to driver options. Throws a TypeError naming the key for
 * settings the PostgreSQL driver cannot honour.
 */
export function postgresDriverOptionsFromConfig(config: PrismConfig, logger: Logger): PostgresKeyValueOptions {
  const backend: (BackendConfig & PostgresBackendSettings) | undefined = config.backends.postgres;
  if (backend === undefined) {
    throw new TypeError("the postgres backend serves keyvalue but backends.postgres is missing; add backends.postgres with an endpoint");
  }
  if (backend.client_cert_auth === true) {
    // NOTE: the configuration has no keys for a client certificate and key yet.
    throw new TypeError("backends.postgres.client_cert_auth is not supported by the PostgreSQL driver yet; remove it");
  }

  const isolation = backend.isolation;
  if (isolation.type === "row_level_security" && !isolation.enable_rls) {
    throw new TypeError(
      "backends.postgres.isolation.enable_rls is false, but the PostgreSQL key-value driver isolates tenants only by row-level security; set it to true",
    );
  }

  return {
    endpoint: backend.endpoint,
    database: backend.database,
    user: backend.username,
    password: backend.password,
    sslMode: backend.ssl_mode,
    schema: backend.schema,
    table: backend.table,
    // A dedicated (physical) server keeps the same table and policy: it costs nothing and guards against misrouting.
    tenantColumn: isolation.type === "row_level_security" ? isolation.tenant_column : undefined,
    statementTimeoutMs: backend.statement_timeout,
    queryTimeoutMs: backend.query_timeout,
    connectTimeoutMs: backend.connect_timeout,
    cleanupIntervalMs: backend.cleanup_interval,
    maxConnections: PROXY_DRIVER_POOL_SIZE,
    logger,
  };
}
