import type { Logger } from "../../../src/observability/logger.js";
import { randomBytes } from "node:crypto";
import { once } from "node:events";
import { createServer, type Server, type Socket } from "node:net";
import pg from "pg";
import { migratePostgres, type MigrationReport, type PostgresMigrationOptions } from "../../../src/backends/postgres/postgres-migration.js";
import type { PostgresKeyValueOptions } from "../../../src/backends/postgres/postgres-options.js";
export { ParsedLog as CapturedLog, captureLogger, silentLogger } from "../../support/test-logs.js";

/** The shared PostgreSQL the tests use, as its superuser; override with PRISM_TEST_POSTGRES_URL. */
export const SUPERUSER_URL = process.env["PRISM_TEST_POSTGRES_URL"] ?? "postgres://postgres@127.0.0.1:5432/test";

/** Returns a name no other run uses, valid as a schema, role and tenant id. */
export function uniqueName(prefix: string): string {
  return `${prefix}_${randomBytes(5).toString("hex")}`;
}



/** A row as the superuser reads it, bypassing row-level security. */
export interface RawRow {
  tenant: string;
  key: string;
  value: Uint8Array;
  expiresAt: Date | null;
}

/**
 * One test's own schema with its own owner and proxy roles, so runs never collide.
 * The proxy role gets a random password, which works with trust and password auth alike.
 */
export class PostgresFixture {
  readonly schema = uniqueName("prism_test");
  readonly table = "keyvalue";
  readonly ownerRole = `${this.schema}_owner`;
  readonly proxyRole = `${this.schema}_proxy`;
  readonly proxyPassword = randomBytes(12).toString("hex");
  /** Superuser connections for setup, raw reads and faults. */
  readonly superuser = new pg.Pool({ connectionString: SUPERUSER_URL, max: 3 });
  readonly #extraRoles: string[] = [];

  constructor(readonly tenantColumn = "tenant_id") {
    this.superuser.on("error", () => undefined);
  }

  /** Runs the migration as the superuser, creating both roles on the first run. */
  async migrate(overrides: Partial<PostgresMigrationOptions> = {}): Promise<MigrationReport> {
    const client = await this.superuser.connect();
    try {
      return await migratePostgres(client, {
        schema: this.schema,
        table: this.table,
        tenantColumn: this.tenantColumn,
        ownerRole: this.ownerRole,
        proxyRole: this.proxyRole,
        proxyPassword: this.proxyPassword,
        createOwnerRole: true,
        createProxyRole: true,
        ...overrides,
      });
    } finally {
      client.release();
    }
  }

  /** postgres:// URL of the shared server, signed in as the given role. */
  urlFor(role: string, password: string | undefined): string {
    const url = new URL(SUPERUSER_URL);
    url.username = role;
    url.password = password ?? "";
    return url.toString();
  }

  get proxyUrl(): string {
    return this.urlFor(this.proxyRole, this.proxyPassword);
  }

  /** Driver options for this fixture's table, connecting as the proxy role. */
  driverOptions(logger: Logger, overrides: Partial<PostgresKeyValueOptions> = {}): PostgresKeyValueOptions {
    return {
      endpoint: this.proxyUrl,
      schema: this.schema,
      table: this.table,
      tenantColumn: this.tenantColumn,
      cleanupIntervalMs: 0,
      recheckIntervalMs: 0,
      logger,
      ...overrides,
    };
  }

  /** Creates a role dropped with the fixture. */
  async createRole(role: string, attributes: string): Promise<void> {
    await this.superuser.query(`CREATE ROLE ${pg.escapeIdentifier(role)} ${attributes}`);
    this.#extraRoles.push(role);
  }

  /** Reads every row of the table as the superuser, expired ones included. */
  async rawRows(): Promise<RawRow[]> {
    const column = pg.escapeIdentifier(this.tenantColumn);
    const result = await this.superuser.query<{ tenant: string; key: string; value: Buffer; expires_at: Date | null }>(
      `SELECT ${column} AS tenant, key, value, expires_at FROM ${this.qualifiedTable} ORDER BY ${column}, key`,
    );
    return result.rows.map((row) => ({
      tenant: row.tenant,
      key: row.key,
      value: new Uint8Array(row.value),
      expiresAt: row.expires_at,
    }));
  }

  get qualifiedTable(): string {
    return `${pg.escapeIdentifier(this.schema)}.${pg.escapeIdentifier(this.table)}`;
  }

  /** Process ids of the proxy role's open connections. */
  async proxyBackendPids(): Promise<number[]> {
    const result = await this.superuser.query<{ pid: number }>(
      "SELECT pid FROM pg_stat_activity WHERE usename = $1 AND pid <> pg_backend_pid() ORDER BY pid",
      [this.proxyRole],
    );
    return result.rows.map((row) => row.pid);
  }

  /** Ends every connection of the proxy role from the server side; returns how many. */
  async terminateProxyConnections(): Promise<number> {
    const result = await this.superuser.query<{ ended: boolean }>(
      "SELECT pg_terminate_backend(pid) AS ended FROM pg_stat_activity WHERE usename = $1",
      [this.proxyRole],
    );
    return result.rows.filter((row) => row.ended).length;
  }

  /** Drops the schema and every role the fixture created, and closes the superuser pool. */
  async drop(): Promise<void> {
    await this.terminateProxyConnections();
    await this.superuser.query(`DROP SCHEMA IF EXISTS ${pg.escapeIdentifier(this.schema)} CASCADE`);
    for (const role of [this.proxyRole, this.ownerRole, ...this.#extraRoles]) {
      const exists = await this.superuser.query("SELECT 1 FROM pg_roles WHERE rolname = $1", [role]);
      if (exists.rows.length > 0) {
        const quoted = pg.escapeIdentifier(role);
        await this.superuser.query(`DROP OWNED BY ${quoted}`);
        await this.superuser.query(`DROP ROLE ${quoted}`);
      }
    }
    await this.superuser.end();
  }
}

/**
 * Holds a row lock as the superuser inside an open transaction, so a driver statement
 * that writes the same row waits until its timeout. release() ends the transaction.
 */
export async function lockRow(
  fixture: PostgresFixture,
  tenant: string,
  key: string,
): Promise<{ release: () => Promise<void> }> {
  const client = await fixture.superuser.connect();
  await client.query("BEGIN");
  await client.query(
    `INSERT INTO ${fixture.qualifiedTable} (${pg.escapeIdentifier(fixture.tenantColumn)}, key, value) VALUES ($1, $2, '\\x00')
     ON CONFLICT DO NOTHING`,
    [tenant, key],
  );
  await client.query(
    `SELECT 1 FROM ${fixture.qualifiedTable} WHERE ${pg.escapeIdentifier(fixture.tenantColumn)} = $1 AND key = $2 FOR UPDATE`,
    [tenant, key],
  );
  return {
    release: async () => {
      await client.query("ROLLBACK");
      client.release();
    },
  };
}

/**
 * A TCP server on loopback that accepts connections and never replies, like a
 * PostgreSQL host that stopped responding.
 */
export class SilentServer {
  readonly #sockets = new Set<Socket>();

  private constructor(
    readonly server: Server,
    readonly port: number,
  ) {}

  static async start(): Promise<SilentServer> {
    const server = createServer();
    server.listen(0, "127.0.0.1");
    await once(server, "listening");
    const address = server.address();
    if (address === null || typeof address === "string") {
      throw new Error("could not read the port of the silent server");
    }
    const silent = new SilentServer(server, address.port);
    server.on("connection", (socket) => {
      silent.#sockets.add(socket);
      socket.on("close", () => silent.#sockets.delete(socket));
      socket.on("error", () => undefined);
    });
    return silent;
  }

  async close(): Promise<void> {
    for (const socket of this.#sockets) {
      socket.destroy();
    }
    const closed = once(this.server, "close");
    this.server.close();
    await closed;
  }
}

/** Finds a loopback port with nothing listening, by binding port 0 and closing it. */
export async function closedPort(): Promise<number> {
  const server = createServer();
  server.listen(0, "127.0.0.1");
  await once(server, "listening");
  const address = server.address();
  server.close();
  await once(server, "close");
  if (address === null || typeof address === "string") {
    throw new Error("could not read the port of a bound server");
  }
  return address.port;
}

/** Polls a condition that has no event to await, such as a health state. */
export async function waitUntil(condition: () => boolean | Promise<boolean>, what: string, timeoutMs = 10_000): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (!(await condition())) {
    if (Date.now() > deadline) {
      throw new Error(`timed out after ${timeoutMs} ms waiting for ${what}`);
    }
    await new Promise((resolve) => setTimeout(resolve, 20));
  }
}

export const bytes = (text: string): Uint8Array => new TextEncoder().encode(text);
