/**
 * SQL text of the key-value operations. Names of the schema, table and column come
 * from validated options and are quoted; every value travels as a bind parameter.
 * Each statement also names the tenant explicitly ($1), so a row must match both that
 * predicate and the row-level security policy to be read or written.
 */

import { escapeIdentifier } from "pg";

import type { ResolvedTable } from "./postgres-options.js";

/** The custom setting that the row-level security policy compares the tenant column with. */
export const TENANT_SETTING = "prism.tenant_id";
/** Name of the policy that limits every role to the rows of the tenant in TENANT_SETTING. */
export const TENANT_POLICY = "prism_tenant_isolation";
/** Names of the policies that let the owner role find and delete expired rows of every tenant. */
export const CLEANUP_SELECT_POLICY = "prism_expired_rows_select";
export const CLEANUP_DELETE_POLICY = "prism_expired_rows_delete";

/** Statements of one table, built once per driver. */
export interface KeyValueStatements {
  qualifiedTable: string;
  /** Name of the SECURITY DEFINER cleanup function, schema-qualified and quoted. */
  cleanupFunction: string;
  set: string;
  get: string;
  delete: string;
  exists: string;
  expire: string;
  getTtl: string;
  persist: string;
  batchSet: string;
  batchGet: string;
  batchDelete: string;
  cleanup: string;
}

/** Returns the index name the migration creates for expiry lookups. */
export function expiryIndexName(table: ResolvedTable): string {
  return `${table.table}_expires_at`;
}

/** Returns the unqualified name of the cleanup function. */
export function cleanupFunctionName(table: ResolvedTable): string {
  return `${table.table}_delete_expired`;
}

export function qualifiedTableName(table: ResolvedTable): string {
  return `${escapeIdentifier(table.schema)}.${escapeIdentifier(table.table)}`;
}

export function qualifiedCleanupFunction(table: ResolvedTable): string {
  return `${escapeIdentifier(table.schema)}.${escapeIdentifier(cleanupFunctionName(table))}`;
}

export function buildStatements(table: ResolvedTable): KeyValueStatements {
  const t = qualifiedTableName(table);
  const tenant = escapeIdentifier(table.tenantColumn);
  const row = `${tenant} = $1 AND key = $2`;
  // An expired row stays until the cleanup deletes it, so every read filters it out.
  const live = "(expires_at IS NULL OR expires_at > now())";
  const upsert = `ON CONFLICT (${tenant}, key) DO UPDATE SET value = EXCLUDED.value, expires_at = NULL`;
  const cleanupFunction = qualifiedCleanupFunction(table);

  return {
    qualifiedTable: t,
    cleanupFunction,
    set: `INSERT INTO ${t} (${tenant}, key, value, expires_at) VALUES ($1, $2, $3, NULL) ${upsert}`,
    get: `SELECT value FROM ${t} WHERE ${row} AND ${live}`,
    // Deleting an expired row reports that no key existed, as for a missing one.
    delete: `DELETE FROM ${t} WHERE ${row} RETURNING ${live} AS live`,
    exists: `SELECT 1 FROM ${t} WHERE ${row} AND ${live}`,
    expire: `UPDATE ${t} SET expires_at = now() + make_interval(secs => $3::double precision) WHERE ${row} AND ${live}`,
    // Redis TTL rounds the remaining milliseconds to the nearest second.
    getTtl:
      `SELECT CASE WHEN expires_at IS NULL THEN -1 ` +
      `ELSE greatest(0, round(extract(epoch FROM expires_at - now())))::double precision END AS ttl ` +
      `FROM ${t} WHERE ${row} AND ${live}`,
    persist: `UPDATE ${t} SET expires_at = NULL WHERE ${row} AND expires_at IS NOT NULL AND expires_at > now()`,
    batchSet:
      `INSERT INTO ${t} (${tenant}, key, value, expires_at) ` +
      `SELECT $1, entry.key, entry.value, NULL FROM unnest($2::text[], $3::bytea[]) AS entry(key, value) ${upsert}`,
    batchGet:
      `SELECT entry.position::integer AS position, stored.value FROM unnest($2::text[]) WITH ORDINALITY AS entry(key, position) ` +
      `JOIN ${t} AS stored ON stored.${tenant} = $1 AND stored.key = entry.key ` +
      `WHERE stored.expires_at IS NULL OR stored.expires_at > now()`,
    batchDelete: `DELETE FROM ${t} WHERE ${tenant} = $1 AND key = ANY($2::text[]) RETURNING key, ${live} AS live`,
    cleanup: `SELECT ${cleanupFunction}($1::integer)::double precision AS deleted`,
  };
}
