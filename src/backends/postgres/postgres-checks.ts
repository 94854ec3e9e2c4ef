/**
 * Startup checks of the key-value table, run as the role the driver connects with.
 * Row-level security only isolates tenants when the table enforces it on that role. A
 * superuser, a role with BYPASSRLS, or the table's owner (who can switch the policy off)
 * would see every tenant's rows, so the driver serves no request until these pass.
 */

import type { ClientBase, Pool } from "pg";

import type { ResolvedTable } from "./postgres-options.js";
import { cleanupFunctionName, TENANT_POLICY } from "./postgres-sql.js";

export interface CheckResult {
  /** The role the checks ran as (current_user). */
  role: string;
  /** Conditions that make the backend unsafe or unusable; each names its fix. Empty when ready. */
  problems: string[];
  /** Conditions that leave the backend usable, such as a missing cleanup function. */
  warnings: string[];
}

interface CheckRow {
  role: string;
  superuser: boolean;
  bypass_rls: boolean;
  schema_exists: boolean;
  schema_usage: boolean;
  table_exists: boolean;
  rls_enabled: boolean;
  rls_forced: boolean;
  owner: string | null;
  owns_table: boolean;
  missing_privileges: string[];
  tenant_column_exists: boolean;
  tenant_policy_exists: boolean;
  widening_policies: string[];
  cleanup_exists: boolean;
  cleanup_executable: boolean;
}

/*
 * One catalog query, readable by any role. A permissive policy other than the tenant
 * policy that applies to this role would widen what it sees (permissive policies are
 * combined with OR), so such policies are listed.
 */
const CHECK_SQL = `
SELECT
  current_user::text AS role,
  member.rolsuper AS superuser,
  member.rolbypassrls AS bypass_rls,
  ns.oid IS NOT NULL AS schema_exists,
  CASE WHEN ns.oid IS NULL THEN false ELSE has_schema_privilege(ns.oid, 'USAGE') END AS schema_usage,
  rel.oid IS NOT NULL AS table_exists,
  coalesce(rel.relrowsecurity, false) AS rls_enabled,
  coalesce(rel.relforcerowsecurity, false) AS rls_forced,
  pg_get_userbyid(rel.relowner)::text AS owner,
  CASE WHEN rel.oid IS NULL THEN false ELSE pg_has_role(current_user, rel.relowner, 'MEMBER') END AS owns_table,
  CASE WHEN rel.oid IS NULL THEN ARRAY[]::text[] ELSE ARRAY(
    SELECT privilege FROM unnest(ARRAY['SELECT', 'INSERT', 'UPDATE', 'DELETE']) AS privilege
    WHERE NOT has_table_privilege(rel.oid, privilege)) END AS missing_privileges,
  EXISTS (SELECT 1 FROM pg_attribute AS a
          WHERE a.attrelid = rel.oid AND a.attname = $3 AND a.attnum > 0 AND NOT a.attisdropped) AS tenant_column_exists,
  EXISTS (SELECT 1 FROM pg_policy AS p WHERE p.polrelid = rel.oid AND p.polname = $4) AS tenant_policy_exists,
  ARRAY(SELECT p.polname::text FROM pg_policy AS p
        WHERE p.polrelid = rel.oid AND p.polpermissive AND p.polname <> $4
          AND EXISTS (SELECT 1 FROM unnest(p.polroles) AS grantee
                      WHERE grantee = 0 OR pg_has_role(current_user, grantee, 'MEMBER'))
        ORDER BY p.polname) AS widening_policies,
  EXISTS (SELECT 1 FROM pg_proc AS fn
          WHERE fn.pronamespace = ns.oid AND fn.proname = $5 AND fn.pronargs = 1) AS cleanup_exists,
  EXISTS (SELECT 1 FROM pg_proc AS fn
          WHERE fn.pronamespace = ns.oid AND fn.proname = $5 AND fn.pronargs = 1
            AND has_function_privilege(fn.oid, 'EXECUTE')) AS cleanup_executable
FROM pg_roles AS member
LEFT JOIN pg_namespace AS ns ON ns.nspname = $1
LEFT JOIN pg_class AS rel ON rel.relnamespace = ns.oid AND rel.relname = $2 AND rel.relkind IN ('r', 'p')
WHERE member.rolname = current_user`;

/** Runs the checks on a connection that has no tenant set. */
export async function checkKeyValueTable(client: ClientBase | Pool, table: ResolvedTable): Promise<CheckResult> {
  const result = await client.query<CheckRow>(CHECK_SQL, [
    table.schema,
    table.table,
    table.tenantColumn,
    TENANT_POLICY,
    cleanupFunctionName(table),
  ]);
  const row = result.rows[0];
  if (row === undefined) {
    // pg_roles always lists current_user; an empty result means a catalog the checks do not understand.
    return { role: "unknown", problems: ["the role of the connection is not listed in pg_roles"], warnings: [] };
  }
  return { role: row.role, problems: findProblems(row, table), warnings: findWarnings(row, table) };
}

function findProblems(row: CheckRow, table: ResolvedTable): string[] {
  const role = row.role;
  const name = table.displayName;
  const migrate = `run prismctl postgres migrate --proxy-role ${role}`;
  const problems: string[] = [];

  if (row.superuser) {
    problems.push(
      `role ${role} is a superuser, and superusers bypass row-level security; connect as an ordinary role that does not own the table (prismctl postgres migrate --create-roles creates one)`,
    );
  }
  if (row.bypass_rls) {
    problems.push(`role ${role} has the BYPASSRLS attribute; run ALTER ROLE ${role} NOBYPASSRLS or connect as another role`);
  }
  if (!row.schema_exists) {
    problems.push(`schema ${table.schema} does not exist; ${migrate}`);
    return problems;
  }
  if (!row.schema_usage) {
    problems.push(`role ${role} has no USAGE privilege on schema ${table.schema}; ${migrate}`);
  }
  if (!row.table_exists) {
    problems.push(`table ${name} does not exist; ${migrate}`);
    return problems;
  }

  if (row.owns_table) {
    problems.push(
      `role ${role} owns table ${name} or is a member of its owner ${row.owner ?? "?"}, so it could turn row-level security off; connect as a role that neither owns the table nor belongs to its owner role`,
    );
  }
  if (!row.rls_enabled) {
    problems.push(`row-level security is disabled on ${name}; ${migrate} (it runs ALTER TABLE ${name} ENABLE ROW LEVEL SECURITY)`);
  }
  if (!row.rls_forced) {
    problems.push(
      `row-level security is not forced on ${name}, so the table owner bypasses it; ${migrate} (it runs ALTER TABLE ${name} FORCE ROW LEVEL SECURITY)`,
    );
  }
  if (!row.tenant_column_exists) {
    problems.push(`table ${name} has no column ${table.tenantColumn}; set the configured tenant column to the one the table was migrated with, or migrate a new table`);
  }
  if (!row.tenant_policy_exists) {
    problems.push(`table ${name} has no policy ${TENANT_POLICY}; ${migrate}`);
  }
  if (row.widening_policies.length > 0) {
    problems.push(
      `table ${name} has permissive policies besides ${TENANT_POLICY} that apply to role ${role} (${row.widening_policies.join(", ")}), which would let it read other tenants' rows; drop them or make them RESTRICTIVE`,
    );
  }
  if (row.missing_privileges.length > 0) {
    problems.push(`role ${role} lacks ${row.missing_privileges.join(", ")} on ${name}; ${migrate}`);
  }
  return problems;
}

function findWarnings(row: CheckRow, table: ResolvedTable): string[] {
  if (!row.table_exists) {
    return [];
  }
  const fn = `${table.schema}.${cleanupFunctionName(table)}`;
  if (!row.cleanup_exists) {
    return [`cleanup function ${fn} does not exist, so expired rows stay until overwritten or deleted; run prismctl postgres migrate`];
  }
  if (!row.cleanup_executable) {
    return [`role ${row.role} may not execute ${fn}, so expired rows stay until overwritten or deleted; run prismctl postgres migrate --proxy-role ${row.role}`];
  }
  return [];
}

