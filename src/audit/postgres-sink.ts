import pg from "pg";

import type { Logger } from "../observability/logger.js";
import {
  DEFAULT_AUDIT_POSTGRES_CONNECT_TIMEOUT_MS,
  DEFAULT_AUDIT_POSTGRES_STATEMENT_TIMEOUT_MS,
} from "./audit-defaults.js";
import { namespaceOf, sessionOf, tenantOf } from "./audit-event.js";
import type { AuditRecord } from "./audit-record.js";
import type { AuditSink } from "./audit-sink.js";

/** The audit table's name. Its schema is the sink's schema option, or the first one on the search_path. */
export const AUDIT_TABLE = "prism_audit_events";
/** Key of the advisory lock that serializes table creation across proxies starting together. */
const CREATE_TABLE_LOCK_KEY = 0x70726973_6d617564n; // "prismaud" in ASCII

/** SQLSTATE of a statement on a table that does not exist. */
const UNDEFINED_TABLE = "42P01";

export interface PostgresSinkOptions {
  /** postgres:// or postgresql:// URL; query parameters such as sslmode and options are passed to the client. */
  url: string;
  logger: Logger;
  /** Default "postgres". */
  name?: string;
  /** Schema of the table; it must exist. Default: unqualified, resolved by the connection's search_path. */
  schema?: string;
  /** Password, when it is not in the URL. */
  password?: string;
  /** Default DEFAULT_AUDIT_POSTGRES_CONNECT_TIMEOUT_MS. */
  connectTimeoutMs?: number;
  /** Default DEFAULT_AUDIT_POSTGRES_STATEMENT_TIMEOUT_MS. */
  statementTimeoutMs?: number;
}

/** Returns "postgres://host:port/database" of a URL, without its credentials and parameters. */
export function describePostgresUrl(url: string): string {
  try {
    const parsed = new URL(url);
    return `${parsed.protocol}//${parsed.host}${parsed.pathname}`;
  } catch {
    return "postgres (unparsable URL)";
  }
}

/**
 * Stores each batch with one INSERT into prism_audit_events, one row per event: the
 * timestamp, type, tenant, namespace and session as columns for queries, and the whole
 * record as jsonb. The table and its indexes on (tenant_id, ts) and (session_id) are
 * created before the first batch when missing. A role that may not create tables can
 * use a table created beforehand with the same columns, given USAGE on the schema,
 * INSERT on the table and USAGE on its sequence.
 */
export class PostgresSink implements AuditSink {
  readonly name: string;
  readonly target: string;
  readonly #pool: pg.Pool;
  readonly #table: string;
  readonly #tableName: string;
  readonly #log: Logger;
  #tableReady = false;
  #closed = false;

  constructor(options: PostgresSinkOptions) {
    this.name = options.name ?? "postgres";
    this.target = describePostgresUrl(options.url);
    this.#log = options.logger;
    this.#tableName =
      options.schema === undefined ? AUDIT_TABLE : `${options.schema}.${AUDIT_TABLE}`;
    this.#table =
      options.schema === undefined
        ? pg.escapeIdentifier(AUDIT_TABLE)
        : `${pg.escapeIdentifier(options.schema)}.${pg.escapeIdentifier(AUDIT_TABLE)}`;

    const statementTimeoutMs = options.statementTimeoutMs ?? DEFAULT_AUDIT_POSTGRES_STATEMENT_TIMEOUT_MS;
    // The client waits a second longer than the server's limit, so the server's error arrives first.
    // Batches are written one at a time, so one connection is enough.
    this.#pool = new pg.Pool({
      connectionString: options.url,
      ...(options.password === undefined ? {} : { password: options.password }),
      max: 1,
      connectionTimeoutMillis: options.connectTimeoutMs ?? DEFAULT_AUDIT_POSTGRES_CONNECT_TIMEOUT_MS,
      statement_timeout: statementTimeoutMs,
      query_timeout: statementTimeoutMs + 1000,
      application_name: "prism-audit",
      keepAlive: true,
    });
    // An idle connection that breaks is replaced on the next batch, so the error only needs a log record.
    this.#pool.on("error", (error) => {
      this.#log.warn({ err: error, target: this.target }, "idle audit database connection failed");
    });
  }

  async write(records: readonly AuditRecord[]): Promise<void> {
    if (this.#closed) {
      throw new Error(`the audit PostgreSQL sink for ${this.target} is closed`);
    }
    if (!this.#tableReady) {
      await this.#ensureTable();
    }

    const columns = {
      ts: [] as string[],
      event: [] as string[],
      tenant: [] as (string | null)[],
      namespace: [] as (string | null)[],
      session: [] as (string | null)[],
      payload: [] as string[],
    };
    for (const record of records) {
      columns.ts.push(record.event.timestamp);
      columns.event.push(record.event.event);
      columns.tenant.push(tenantOf(record.event) ?? null);
      columns.namespace.push(namespaceOf(record.event) ?? null);
      columns.session.push(sessionOf(record.event) ?? null);
      columns.payload.push(record.json);
    }

    try {
      await this.#pool.query(
        `INSERT INTO ${this.#table} (ts, event, tenant_id, namespace, session_id, payload)
         SELECT * FROM unnest($1::timestamptz[], $2::text[], $3::text[], $4::text[], $5::text[], $6::jsonb[])`,
        [columns.ts, columns.event, columns.tenant, columns.namespace, columns.session, columns.payload],
      );
    } catch (error) {
      // A table dropped while the proxy runs is created again before the retry.
      if (error instanceof pg.DatabaseError && error.code === UNDEFINED_TABLE) {
        this.#tableReady = false;
      }
      throw error;
    }
  }

  async close(): Promise<void> {
    if (this.#closed) {
      return;
    }
    this.#closed = true;
    await this.#pool.end();
  }

  /** Creates the table and its indexes unless the table exists. */
  async #ensureTable(): Promise<void> {
    const found = await this.#pool.query<{ found: boolean }>("SELECT to_regclass($1) IS NOT NULL AS found", [
      this.#table,
    ]);
    if (found.rows[0]?.found === true) {
      this.#tableReady = true;
      return;
    }

    const client = await this.#pool.connect();
    let failure: Error | undefined;
    try {
      await client.query("BEGIN");
      await client.query("SELECT pg_advisory_xact_lock($1)", [CREATE_TABLE_LOCK_KEY.toString()]);
      await client.query(
        `CREATE TABLE IF NOT EXISTS ${this.#table} (
           id bigserial PRIMARY KEY,
           ts timestamptz NOT NULL,
           event text NOT NULL,
           tenant_id text,
           namespace text,
           session_id text,
           payload jsonb NOT NULL
         )`,
      );
      await client.query(
        `CREATE INDEX IF NOT EXISTS ${pg.escapeIdentifier(`${AUDIT_TABLE}_tenant_ts`)} ON ${this.#table} (tenant_id, ts)`,
      );
      await client.query(
        `CREATE INDEX IF NOT EXISTS ${pg.escapeIdentifier(`${AUDIT_TABLE}_session`)} ON ${this.#table} (session_id)`,
      );
      await client.query("COMMIT");
    } catch (error) {
      failure = error instanceof Error ? error : new Error(String(error));
      await client.query("ROLLBACK").catch(() => undefined);
      throw error;
    } finally {
      // A connection that failed is discarded rather than returned to the pool.
      client.release(failure);
    }

    this.#tableReady = true;
    this.#log.info({ table: this.#tableName, target: this.target }, "created the audit table");
  }
}
