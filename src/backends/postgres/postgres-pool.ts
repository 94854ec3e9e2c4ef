import pg from "pg";
import type { ConnectionOptions } from "node:tls";

import type { ResolvedPostgresOptions, SslMode } from "./postgres-options.js";

/**
 * Returns the settings of every connection the driver opens, pooled by the driver itself
 * or by the proxy's pool layer. Every connection carries the statement, reply and
 * idle-in-transaction timeouts, so no query can hold a request or a connection without
 * bound, and runs in pipeline mode so that a transaction's statements share one round
 * trip.
 */
export function postgresClientConfig(options: ResolvedPostgresOptions): pg.ClientConfig {
  const connection = options.connection;
  return {
    host: connection.host,
    port: connection.port,
    database: connection.database,
    user: connection.user,
    password: connection.password,
    ssl: tlsOptions(connection.sslMode),
    connectionTimeoutMillis: options.connectTimeoutMs,
    statement_timeout: options.statementTimeoutMs,
    query_timeout: options.queryTimeoutMs,
    idle_in_transaction_session_timeout: options.idleInTransactionTimeoutMs,
    application_name: options.applicationName,
    keepAlive: true,
    pipeline: true,
  };
}

/** Creates the driver's own connection pool, with the connection settings of postgresClientConfig. */
export function createPostgresPool(options: ResolvedPostgresOptions): pg.Pool {
  return new pg.Pool({
    ...postgresClientConfig(options),
    max: options.maxConnections,
    idleTimeoutMillis: options.idleTimeoutMs,
  });
}

/**
 * Maps libpq's sslmode to Node's TLS options. Certificates are checked against Node's
 * default CA store; "prefer" was rejected when the options were resolved.
 */
export function tlsOptions(mode: SslMode): false | ConnectionOptions {
  switch (mode) {
    case "disable":
    case "prefer":
      return false;
    case "require":
      return { rejectUnauthorized: false };
    case "verify-ca":
      // The chain is verified, the host name is not, as libpq does for verify-ca.
      return { rejectUnauthorized: true, checkServerIdentity: () => undefined };
    case "verify-full":
      return { rejectUnauthorized: true };
  }
}
