/**
 * The schema migration of the key-value table, run as an administrator or as the owner
 * role. It is idempotent: every step creates what is missing and resets what it
 * defines (policies, the cleanup function, grants), so running it again repairs a
 * table whose security settings were changed.
 */

import pg, { escapeIdentifier, escapeLiteral, type ClientBase } from "pg";

import { resolveConnection, resolveTable, type PostgresTableOptions, type ResolvedTable } from "./postgres-options.js";
import { tlsOptions } from "./postgres-pool.js";
import {
  CLEANUP_DELETE_POLICY,
  CLEANUP_SELECT_POLICY,
  expiryIndexName,
  qualifiedCleanupFunction,
  qualifiedTableName,
  TENANT_POLICY,
  TENANT_SETTING,
} from "./postgres-sql.js";

/** Role names the migration accepts; they are always quoted in SQL. */
const ROLE_NAME = /^[A-Za-z_][A-Za-z0-9_.@-]{0,62}$/;
/** Key of the transaction-scoped advisory lock that serializes concurrent migrations. */
const MIGRATION_LOCK_KEY = "prism.postgres.migrate";
/** Time the migration waits for locks held by running requests before it gives up. */
export const DEFAULT_MIGRATION_LOCK_TIMEOUT_MS = 10_000;

/** A migration that cannot proceed safely; the message names the role or table and the fix. Nothing was changed. */
export class MigrationError extends Error {
  override name = "MigrationError";
}

export interface PostgresMigrationOptions extends PostgresTableOptions {
  /** Role the proxy connects as: granted SELECT, INSERT, UPDATE and DELETE, never the owner. */
  proxyRole: string;
  /** Role that owns the schema objects and the cleanup function; default the connected role (current_user). */
  ownerRole?: string;
  /** Creates the proxy role (LOGIN, no special attributes) when it does not exist. */
  createProxyRole?: boolean;
  /** Password of a proxy role that this migration creates; ignored for an existing role. */
  proxyPassword?: string;
  /** Creates the owner role (NOLOGIN) when it does not exist. */
  createOwnerRole?: boolean;
  /** lock_timeout of the migration's statements in milliseconds; default DEFAULT_MIGRATION_LOCK_TIMEOUT_MS. */
  lockTimeoutMs?: number;
}

export interface MigrationReport {
  schema: string;
  table: string;
  tenantColumn: string;
  ownerRole: string;
  proxyRole: string;
  /** Roles this run created. */
  createdRoles: string[];
  /** Whether this run created the table; false when it existed. */
  tableCreated: boolean;
}

interface RoleRow {
  superuser: boolean;
  bypass_rls: boolean;
  member_of_owner: boolean;
}

/**
 * Creates or repairs the key-value table and its security: schema, table, expiry index,
 * enabled and forced row-level security, the tenant policy, the owner's cleanup
 * policies, the SECURITY DEFINER cleanup function and the proxy role's grants. Runs in
 * one transaction, so a failed run changes nothing. `admin` is a connected client or a
 * postgres:// URL (the connection is closed afterwards). Rejects when the proxy role is
 * the owner, a member of it, a superuser or has BYPASSRLS, because row-level security
 * would not bind it.
 */
export async function migratePostgres(admin: ClientBase | string, options: PostgresMigrationOptions): Promise<MigrationReport> {
  const settings = validateOptions(options);
  if (typeof admin !== "string") {
    return migrateWith(admin, settings);
  }

  const connection = resolveConnection({ endpoint: admin });
  const client = new pg.Client({
    host: connection.host,
    port: connection.port,
    database: connection.database,
    user: connection.user,
    password: connection.password,
    ssl: tlsOptions(connection.sslMode),
    application_name: "prismctl-migrate",
  });
  // A connection error outside a query arrives as an event; the failing query reports it.
  client.on("error", () => undefined);
  await client.connect();
  try {
    return await migrateWith(client, settings);
  } finally {
    await client.end();
  }
}

interface MigrationSettings {
  table: ResolvedTable;
  options: PostgresMigrationOptions;
  lockTimeoutMs: number;
}

/** Rejects invalid names and values with a TypeError before anything is sent. */
function validateOptions(options: PostgresMigrationOptions): MigrationSettings {
  const table = resolveTable(options);
  requireRoleName("proxyRole", options.proxyRole);
  if (options.ownerRole !== undefined) {
    requireRoleName("ownerRole", options.ownerRole);
  }
  const lockTimeoutMs = options.lockTimeoutMs ?? DEFAULT_MIGRATION_LOCK_TIMEOUT_MS;
  if (!Number.isSafeInteger(lockTimeoutMs) || lockTimeoutMs < 1) {
    throw new TypeError(`lockTimeoutMs must be a whole number >= 1, got ${lockTimeoutMs}`);
  }
  return { table, options, lockTimeoutMs };
}

async function migrateWith(client: ClientBase, settings: MigrationSettings): Promise<MigrationReport> {
  await client.query("BEGIN");
  try {
    const report = await migrateInTransaction(client, settings.table, settings.options, settings.lockTimeoutMs);
    await client.query("COMMIT");
    return report;
  } catch (error) {
    await client.query("ROLLBACK").catch(() => undefined);
    throw error;
  }
}

async function migrateInTransaction(
  client: ClientBase,
  table: ResolvedTable,
  options: PostgresMigrationOptions,
  lockTimeoutMs: number,
): Promise<MigrationReport> {
  await client.query(`SELECT set_config('lock_timeout', $1, true)`, [`${lockTimeoutMs}ms`]);
  await client.query("SELECT pg_advisory_xact_lock(hashtext($1))", [MIGRATION_LOCK_KEY]);

  const currentUser = (await client.query<{ name: string }>("SELECT current_user::text AS name")).rows[0]?.name ?? "";
  const ownerRole = options.ownerRole ?? currentUser;
  const proxyRole = options.proxyRole;
  if (proxyRole === ownerRole) {
    throw new MigrationError(
      `the proxy role ${proxyRole} would own the table and could turn row-level security off; pass a different proxy role or owner role`,
    );
  }

  const createdRoles: string[] = [];
  if (await ensureRole(client, ownerRole, options.createOwnerRole === true, "NOLOGIN")) {
    createdRoles.push(ownerRole);
  }
  const proxyAttributes = options.proxyPassword === undefined ? "LOGIN" : `LOGIN PASSWORD ${escapeLiteral(options.proxyPassword)}`;
  if (await ensureRole(client, proxyRole, options.createProxyRole === true, proxyAttributes)) {
    createdRoles.push(proxyRole);
  }
  await requireUnprivilegedProxy(client, proxyRole, ownerRole);

  const schema = escapeIdentifier(table.schema);
  const owner = escapeIdentifier(ownerRole);
  await client.query(`CREATE SCHEMA IF NOT EXISTS ${schema} AUTHORIZATION ${owner}`);

  // Objects created from here on belong to the owner role, which also runs the cleanup function.
  if (ownerRole !== currentUser) {
    await client.query(`SET LOCAL ROLE ${owner}`);
  }
  const tableCreated = await createTable(client, table);
  await secureTable(client, table, ownerRole);
  await createCleanupFunction(client, table);
  await grantProxy(client, table, proxyRole);

  return {
    schema: table.schema,
    table: table.table,
    tenantColumn: table.tenantColumn,
    ownerRole,
    proxyRole,
    createdRoles,
    tableCreated,
  };
}

/** Returns whether the role was created; rejects when it is missing and creating it was not requested. */
async function ensureRole(client: ClientBase, role: string, create: boolean, attributes: string): Promise<boolean> {
  const existing = await client.query("SELECT 1 FROM pg_roles WHERE rolname = $1", [role]);
  if (existing.rows.length > 0) {
    return false;
  }
  if (!create) {
    throw new MigrationError(`role ${role} does not exist; create it first or let the migration create it (--create-roles)`);
  }
  await client.query(`CREATE ROLE ${escapeIdentifier(role)} ${attributes} NOSUPERUSER NOBYPASSRLS NOCREATEDB NOCREATEROLE`);
  return true;
}

async function requireUnprivilegedProxy(client: ClientBase, proxyRole: string, ownerRole: string): Promise<void> {
  const result = await client.query<RoleRow>(
    `SELECT rolsuper AS superuser, rolbypassrls AS bypass_rls, pg_has_role($1, $2, 'MEMBER') AS member_of_owner
     FROM pg_roles WHERE rolname = $1`,
    [proxyRole, ownerRole],
  );
  const row = result.rows[0];
  if (row === undefined) {
    throw new MigrationError(`role ${proxyRole} does not exist`);
  }
  if (row.superuser) {
    throw new MigrationError(`the proxy role ${proxyRole} is a superuser and would bypass row-level security; use an ordinary role`);
  }
  if (row.bypass_rls) {
    throw new MigrationError(`the proxy role ${proxyRole} has BYPASSRLS; run ALTER ROLE ${proxyRole} NOBYPASSRLS or use another role`);
  }
  if (row.member_of_owner) {
    throw new MigrationError(
      `the proxy role ${proxyRole} is a member of the owner role ${ownerRole} and could turn row-level security off; revoke the membership or use another role`,
    );
  }
}

/** Creates the table and its expiry index; returns whether the table was new. */
async function createTable(client: ClientBase, table: ResolvedTable): Promise<boolean> {
  const name = qualifiedTableName(table);
  const tenant = escapeIdentifier(table.tenantColumn);
  const before = await client.query("SELECT to_regclass($1) IS NOT NULL AS present", [name]);
  const existed = (before.rows[0] as { present: boolean } | undefined)?.present === true;

  // An empty tenant id is what an unset prism.tenant_id compares as, so no row may carry it.
  await client.query(
    `CREATE TABLE IF NOT EXISTS ${name} (
       ${tenant} text NOT NULL CHECK (${tenant} <> ''),
       key text NOT NULL,
       value bytea NOT NULL,
       expires_at timestamptz,
       PRIMARY KEY (${tenant}, key)
     )`,
  );

  const column = await client.query(
    `SELECT 1 FROM pg_attribute WHERE attrelid = to_regclass($1) AND attname = $2 AND attnum > 0 AND NOT attisdropped`,
    [name, table.tenantColumn],
  );
  if (column.rows.length === 0) {
    throw new MigrationError(
      `table ${table.displayName} exists without the tenant column ${table.tenantColumn}; pass the column it was created with or another table name`,
    );
  }

  await client.query(
    `CREATE INDEX IF NOT EXISTS ${escapeIdentifier(expiryIndexName(table))} ON ${name} (expires_at) WHERE expires_at IS NOT NULL`,
  );
  return !existed;
}

/** Enables and forces row-level security and (re)creates the policies. */
async function secureTable(client: ClientBase, table: ResolvedTable, ownerRole: string): Promise<void> {
  const name = qualifiedTableName(table);
  const tenant = escapeIdentifier(table.tenantColumn);
  const owner = escapeIdentifier(ownerRole);
  const matchesTenant = `${tenant} = current_setting('${TENANT_SETTING}', true)`;
  const expired = "expires_at <= now()";

  await client.query(`ALTER TABLE ${name} ENABLE ROW LEVEL SECURITY`);
  // FORCE makes the policies bind the owner too; without it the owner reads every row.
  await client.query(`ALTER TABLE ${name} FORCE ROW LEVEL SECURITY`);

  await client.query(`DROP POLICY IF EXISTS ${escapeIdentifier(TENANT_POLICY)} ON ${name}`);
  await client.query(
    `CREATE POLICY ${escapeIdentifier(TENANT_POLICY)} ON ${name} AS PERMISSIVE FOR ALL TO PUBLIC
     USING (${matchesTenant}) WITH CHECK (${matchesTenant})`,
  );

  // The cleanup function runs as the owner without a tenant; these let it find and
  // delete expired rows of every tenant and nothing else. A DELETE with a WHERE clause
  // also needs a SELECT policy for the rows it reads.
  await client.query(`DROP POLICY IF EXISTS ${escapeIdentifier(CLEANUP_SELECT_POLICY)} ON ${name}`);
  await client.query(`CREATE POLICY ${escapeIdentifier(CLEANUP_SELECT_POLICY)} ON ${name} FOR SELECT TO ${owner} USING (${expired})`);
  await client.query(`DROP POLICY IF EXISTS ${escapeIdentifier(CLEANUP_DELETE_POLICY)} ON ${name}`);
  await client.query(`CREATE POLICY ${escapeIdentifier(CLEANUP_DELETE_POLICY)} ON ${name} FOR DELETE TO ${owner} USING (${expired})`);
}

/**
 * Creates the function that deletes at most `max_rows` expired rows and returns how
 * many it deleted. It runs with its owner's rights (SECURITY DEFINER) with a pinned
 * search_path, so a caller cannot redirect the names it uses.
 */
async function createCleanupFunction(client: ClientBase, table: ResolvedTable): Promise<void> {
  const name = qualifiedTableName(table);
  const tenant = escapeIdentifier(table.tenantColumn);
  const fn = qualifiedCleanupFunction(table);

  await client.query(
    `CREATE OR REPLACE FUNCTION ${fn}(max_rows integer) RETURNS bigint
     LANGUAGE sql VOLATILE SECURITY DEFINER
     SET search_path = pg_catalog, pg_temp
     AS $prism$
       WITH expired AS (
         SELECT ${tenant}, key FROM ${name}
         WHERE expires_at <= now()
         LIMIT greatest(coalesce(max_rows, 0), 0)
       ), deleted AS (
         DELETE FROM ${name} AS stored USING expired
         WHERE stored.${tenant} = expired.${tenant} AND stored.key = expired.key AND stored.expires_at <= now()
         RETURNING 1
       )
       SELECT count(*) FROM deleted
     $prism$`,
  );
  await client.query(`REVOKE ALL ON FUNCTION ${fn}(integer) FROM PUBLIC`);
}

async function grantProxy(client: ClientBase, table: ResolvedTable, proxyRole: string): Promise<void> {
  const proxy = escapeIdentifier(proxyRole);
  await client.query(`GRANT USAGE ON SCHEMA ${escapeIdentifier(table.schema)} TO ${proxy}`);
  await client.query(`GRANT SELECT, INSERT, UPDATE, DELETE ON ${qualifiedTableName(table)} TO ${proxy}`);
  await client.query(`GRANT EXECUTE ON FUNCTION ${qualifiedCleanupFunction(table)}(integer) TO ${proxy}`);
}

function requireRoleName(option: string, role: string): void {
  if (!ROLE_NAME.test(role)) {
    throw new TypeError(
      `${option} ${JSON.stringify(role)} is not a valid role name; use 1 to 63 letters, digits and _ . @ -, starting with a letter or _`,
    );
  }
}
