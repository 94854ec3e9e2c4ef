/**
 * Options of the PostgreSQL key-value driver and of its migration, with units and
 * defaults. The proxy builds them from the `backends.postgres` section of the
 * configuration; tests, tools and the migration command build them directly, so nothing
 * here depends on the configuration loader.
 */

import type { Logger } from "../../observability/logger.js";
import { resolveBackoff, type BackoffOptions, type ResolvedBackoff } from "../backoff.js";

export const DEFAULT_POSTGRES_PORT = 5432;
export const DEFAULT_SCHEMA = "prism";
export const DEFAULT_TABLE = "keyvalue";
export const DEFAULT_TENANT_COLUMN = "tenant_id";
/** Server-side limit of every statement (the session's statement_timeout). */
export const DEFAULT_STATEMENT_TIMEOUT_MS = 2000;
/**
 * Extra time the client waits beyond statement_timeout before it gives up on a reply
 * and destroys the connection, so a server that stops answering cannot hold a request.
 */
export const DEFAULT_QUERY_TIMEOUT_MARGIN_MS = 1000;
/** Time to open a connection, and the longest wait for a free pooled connection. */
export const DEFAULT_CONNECT_TIMEOUT_MS = 2000;
/** The server ends a session that stays idle inside a transaction for this long. */
export const DEFAULT_IDLE_IN_TRANSACTION_TIMEOUT_MS = 10_000;
export const DEFAULT_MAX_CONNECTIONS = 10;
/** A pooled connection unused for this long is closed. */
export const DEFAULT_IDLE_TIMEOUT_MS = 30_000;
/**
 * Maximum wait for a connection of the proxy's pool layer to end gracefully (Terminate,
 * then the server closes the socket) before the driver destroys its socket.
 */
export const DEFAULT_CONNECTION_END_TIMEOUT_MS = 1000;
/** Interval of the background deletion of expired rows; 0 turns it off. */
export const DEFAULT_CLEANUP_INTERVAL_MS = 60_000;
/** Rows one call of the cleanup function deletes at most, so one call stays short. */
export const DEFAULT_CLEANUP_BATCH_SIZE = 1000;
/** Calls of the cleanup function per interval at most, so a backlog cannot occupy a connection for long. */
export const DEFAULT_CLEANUP_MAX_BATCHES = 10;
/** Shortest time between two startup checks after a failed one, when requests trigger them. */
export const DEFAULT_RECHECK_INTERVAL_MS = 2000;
export const DEFAULT_APPLICATION_NAME = "prism-proxy";

/**
 * Longest key in UTF-8 bytes. A btree entry on an 8 KiB page holds at most about
 * 2700 bytes (PostgreSQL's BTMaxItemSize), and the primary key entry stores the
 * tenant id (at most 63 bytes) and the key with a few bytes of header, so 2048 bytes
 * leaves room to spare.
 */
export const MAX_KEY_BYTES = 2048;
/**
 * Longest table name. The migration derives the names of the expiry index
 * ("<table>_expires_at") and of the cleanup function ("<table>_delete_expired") from it,
 * and PostgreSQL silently truncates identifiers beyond 63 bytes.
 */
export const MAX_TABLE_NAME_LENGTH = 48;

export const SSL_MODES = ["disable", "prefer", "require", "verify-ca", "verify-full"] as const;
export type SslMode = (typeof SSL_MODES)[number];

/** Where the server is and who connects. */
export interface PostgresConnectionOptions {
  /**
   * "host", "host:port", "[::1]:port" or a postgres:// URL. Fields given separately
   * below win over the same parts of a URL.
   */
  endpoint: string;
  database?: string;
  /** Role that connects; for the driver it is the proxy role, which must not own the table. */
  user?: string;
  password?: string;
  /** TLS to the server; default disable. "prefer" is rejected because the pg client cannot fall back to plaintext. */
  sslMode?: SslMode;
}

/** Where the key-value rows live. Each name is a plain lowercase SQL identifier. */
export interface PostgresTableOptions {
  /** Schema of the table; default DEFAULT_SCHEMA. */
  schema?: string;
  /** Table name, at most MAX_TABLE_NAME_LENGTH characters; default DEFAULT_TABLE. */
  table?: string;
  /** Column holding the tenant id, compared by the row-level security policy; default DEFAULT_TENANT_COLUMN. */
  tenantColumn?: string;
}

export interface PostgresKeyValueOptions extends PostgresConnectionOptions, PostgresTableOptions {
  /** Server-side limit of each statement in milliseconds; default DEFAULT_STATEMENT_TIMEOUT_MS. */
  statementTimeoutMs?: number;
  /**
   * Client-side wait for each reply in milliseconds, after which the connection is
   * destroyed; default statementTimeoutMs + DEFAULT_QUERY_TIMEOUT_MARGIN_MS.
   */
  queryTimeoutMs?: number;
  /** Connect timeout and pool checkout wait in milliseconds; default DEFAULT_CONNECT_TIMEOUT_MS. */
  connectTimeoutMs?: number;
  /** Server-side idle_in_transaction_session_timeout in milliseconds; default DEFAULT_IDLE_IN_TRANSACTION_TIMEOUT_MS. */
  idleInTransactionTimeoutMs?: number;
  /** Pool size; default DEFAULT_MAX_CONNECTIONS. */
  maxConnections?: number;
  /** Idle time in milliseconds before a pooled connection closes; default DEFAULT_IDLE_TIMEOUT_MS. */
  idleTimeoutMs?: number;
  /**
   * Maximum wait in milliseconds for a connection that the pool layer closes to end
   * gracefully, after which its socket is destroyed; default DEFAULT_CONNECTION_END_TIMEOUT_MS.
   */
  connectionEndTimeoutMs?: number;
  /** Interval of the expired-row cleanup in milliseconds, 0 for none; default DEFAULT_CLEANUP_INTERVAL_MS. */
  cleanupIntervalMs?: number;
  /** Rows per cleanup call; default DEFAULT_CLEANUP_BATCH_SIZE. */
  cleanupBatchSize?: number;
  /**
   * Shortest time in milliseconds between startup checks that requests trigger after
   * a failed check; default DEFAULT_RECHECK_INTERVAL_MS. Background rechecks follow
   * the backoff below.
   */
  recheckIntervalMs?: number;
  /** Delays of the background rechecks while the backend is not ready; defaults from src/backends/backoff.ts. */
  recheck?: BackoffOptions;
  /** application_name of the connections, shown in pg_stat_activity; default DEFAULT_APPLICATION_NAME. */
  applicationName?: string;
  logger: Logger;
}

/** Connection settings with the URL split up and defaults applied. */
export interface ResolvedConnection {
  host: string;
  port: number;
  database: string | undefined;
  user: string | undefined;
  password: string | undefined;
  sslMode: SslMode;
  /** "host:port/database" as messages and logs show it; never carries credentials. */
  endpoint: string;
}

export interface ResolvedTable {
  schema: string;
  table: string;
  tenantColumn: string;
  /** "schema.table" as messages show it. */
  displayName: string;
}

/** Driver options with every default applied, resolved once at construction. */
export interface ResolvedPostgresOptions {
  connection: ResolvedConnection;
  table: ResolvedTable;
  statementTimeoutMs: number;
  queryTimeoutMs: number;
  connectTimeoutMs: number;
  idleInTransactionTimeoutMs: number;
  maxConnections: number;
  idleTimeoutMs: number;
  connectionEndTimeoutMs: number;
  cleanupIntervalMs: number;
  cleanupBatchSize: number;
  recheckIntervalMs: number;
  recheck: ResolvedBackoff;
  applicationName: string;
  logger: Logger;
}

const SQL_IDENTIFIER = /^[a-z_][a-z0-9_]{0,62}$/;
const URL_PROTOCOLS = new Set(["postgres:", "postgresql:"]);

/** Applies the defaults and rejects impossible values with a TypeError naming the option. */
export function resolvePostgresOptions(options: PostgresKeyValueOptions): ResolvedPostgresOptions {
  const statementTimeoutMs = options.statementTimeoutMs ?? DEFAULT_STATEMENT_TIMEOUT_MS;
  const queryTimeoutMs = options.queryTimeoutMs ?? statementTimeoutMs + DEFAULT_QUERY_TIMEOUT_MARGIN_MS;
  const connectTimeoutMs = options.connectTimeoutMs ?? DEFAULT_CONNECT_TIMEOUT_MS;
  const idleInTransactionTimeoutMs = options.idleInTransactionTimeoutMs ?? DEFAULT_IDLE_IN_TRANSACTION_TIMEOUT_MS;
  const maxConnections = options.maxConnections ?? DEFAULT_MAX_CONNECTIONS;
  const idleTimeoutMs = options.idleTimeoutMs ?? DEFAULT_IDLE_TIMEOUT_MS;
  const connectionEndTimeoutMs = options.connectionEndTimeoutMs ?? DEFAULT_CONNECTION_END_TIMEOUT_MS;
  const cleanupIntervalMs = options.cleanupIntervalMs ?? DEFAULT_CLEANUP_INTERVAL_MS;
  const cleanupBatchSize = options.cleanupBatchSize ?? DEFAULT_CLEANUP_BATCH_SIZE;
  const recheckIntervalMs = options.recheckIntervalMs ?? DEFAULT_RECHECK_INTERVAL_MS;

  requireInteger("statementTimeoutMs", statementTimeoutMs, 1);
  requireInteger("queryTimeoutMs", queryTimeoutMs, 1);
  requireInteger("connectTimeoutMs", connectTimeoutMs, 1);
  requireInteger("idleInTransactionTimeoutMs", idleInTransactionTimeoutMs, 1);
  requireInteger("maxConnections", maxConnections, 1);
  requireInteger("idleTimeoutMs", idleTimeoutMs, 1);
  requireInteger("connectionEndTimeoutMs", connectionEndTimeoutMs, 0);
  requireInteger("cleanupIntervalMs", cleanupIntervalMs, 0);
  requireInteger("cleanupBatchSize", cleanupBatchSize, 1);
  requireInteger("recheckIntervalMs", recheckIntervalMs, 0);

  return {
    connection: resolveConnection(options),
    table: resolveTable(options),
    statementTimeoutMs,
    queryTimeoutMs,
    connectTimeoutMs,
    idleInTransactionTimeoutMs,
    maxConnections,
    idleTimeoutMs,
    connectionEndTimeoutMs,
    cleanupIntervalMs,
    cleanupBatchSize,
    recheckIntervalMs,
    recheck: resolveBackoff(options.recheck),
    applicationName: options.applicationName ?? DEFAULT_APPLICATION_NAME,
    logger: options.logger,
  };
}

/** Validates the schema, table and tenant column names and applies their defaults. */
export function resolveTable(options: PostgresTableOptions): ResolvedTable {
  const schema = options.schema ?? DEFAULT_SCHEMA;
  const table = options.table ?? DEFAULT_TABLE;
  const tenantColumn = options.tenantColumn ?? DEFAULT_TENANT_COLUMN;

  requireIdentifier("schema", schema);
  requireIdentifier("table", table);
  requireIdentifier("tenantColumn", tenantColumn);
  if (table.length > MAX_TABLE_NAME_LENGTH) {
    throw new TypeError(
      `postgres table name ${JSON.stringify(table)} is ${table.length} characters; the limit is ${MAX_TABLE_NAME_LENGTH}, because index and function names are derived from it`,
    );
  }
  if (tenantColumn === "key" || tenantColumn === "value" || tenantColumn === "expires_at") {
    throw new TypeError(`postgres tenantColumn ${JSON.stringify(tenantColumn)} collides with a column of the table; choose another name`);
  }

  return { schema, table, tenantColumn, displayName: `${schema}.${table}` };
}

/** Splits the endpoint, lets separately given fields win over the URL, and checks the SSL mode. */
export function resolveConnection(options: PostgresConnectionOptions): ResolvedConnection {
  const parsed = parseEndpoint(options.endpoint);
  const sslMode = options.sslMode ?? parsed.sslMode ?? "disable";
  if (!(SSL_MODES as readonly string[]).includes(sslMode)) {
    throw new TypeError(`postgres sslMode ${JSON.stringify(sslMode)} is not valid; use one of ${SSL_MODES.join(", ")}`);
  }
  if (sslMode === "prefer") {
    throw new TypeError(
      'postgres ssl_mode "prefer" is not supported: the pg client cannot fall back to plaintext. Use "require" (or "verify-full") for TLS, or "disable"',
    );
  }

  const database = options.database ?? parsed.database;
  const hostPort = parsed.host.includes(":") ? `[${parsed.host}]:${parsed.port}` : `${parsed.host}:${parsed.port}`;
  return {
    host: parsed.host,
    port: parsed.port,
    database,
    user: options.user ?? parsed.user,
    password: options.password ?? parsed.password,
    sslMode,
    endpoint: database === undefined ? hostPort : `${hostPort}/${database}`,
  };
}

interface ParsedEndpoint {
  host: string;
  port: number;
  database?: string;
  user?: string;
  password?: string;
  sslMode?: SslMode;
}

/** Parses "host", "host:port", "[v6]:port" or a postgres:// URL; the message never repeats a password. */
export function parseEndpoint(endpoint: string): ParsedEndpoint {
  const isUrl = endpoint.includes("://");
  if (!isUrl && endpoint.includes(",")) {
    throw new TypeError(`postgres endpoint ${JSON.stringify(endpoint)} lists several hosts; the pg client connects to one host`);
  }

  let url: URL;
  try {
    url = new URL(isUrl ? endpoint : `postgres://${endpoint}`);
  } catch {
    throw new TypeError(`postgres endpoint is not a valid host:port or postgres:// URL: ${describeEndpoint(endpoint)}`);
  }
  if (!URL_PROTOCOLS.has(url.protocol)) {
    throw new TypeError(`postgres endpoint ${describeEndpoint(endpoint)} must be host:port or a postgres:// URL`);
  }

  const host = url.hostname.startsWith("[") ? url.hostname.slice(1, -1) : url.hostname;
  if (host === "") {
    throw new TypeError(`postgres endpoint ${describeEndpoint(endpoint)} has no host`);
  }

  const parsed: ParsedEndpoint = { host, port: url.port === "" ? DEFAULT_POSTGRES_PORT : Number(url.port) };
  const database = decodeURIComponent(url.pathname.replace(/^\//, ""));
  if (database !== "") {
    parsed.database = database;
  }
  if (url.username !== "") {
    parsed.user = decodeURIComponent(url.username);
  }
  if (url.password !== "") {
    parsed.password = decodeURIComponent(url.password);
  }

  for (const [name, value] of url.searchParams) {
    if (name !== "sslmode") {
      throw new TypeError(
        `postgres endpoint parameter ${JSON.stringify(name)} is not supported; only sslmode may follow "?" in the URL`,
      );
    }
    parsed.sslMode = value as SslMode;
  }
  return parsed;
}

/** Shows an endpoint in a message with any password replaced. */
function describeEndpoint(endpoint: string): string {
  return JSON.stringify(endpoint.replace(/(\/\/[^:/@]*:)[^@]*@/, "$1***@"));
}

function requireIdentifier(name: string, value: string): void {
  if (!SQL_IDENTIFIER.test(value)) {
    throw new TypeError(
      `postgres ${name} ${JSON.stringify(value)} is not valid; use 1 to 63 lowercase letters, digits and '_', not starting with a digit`,
    );
  }
}

function requireInteger(name: string, value: number, min: number): void {
  if (!Number.isSafeInteger(value) || value < min) {
    throw new TypeError(`postgres ${name} must be a whole number >= ${min}, got ${value}`);
  }
}
