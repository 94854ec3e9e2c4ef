/**
 * Per-tenant Redis ACL users, a second line of defence behind the key prefix. The proxy
 * sends each tenant's commands on a connection authenticated as that tenant's user, so
 * Redis itself rejects any key or channel outside the tenant's prefix with NOPERM.
 * Passwords are derived as HMAC-SHA256(secret, tenant id), so nothing per tenant is
 * stored and every proxy with the secret computes the same password.
 */

import { createHmac } from "node:crypto";
import type { Redis } from "ioredis";
import type { PrefixStrategy } from "../../isolation/prefix-strategy.js";
import { tenantGlob } from "./channel-pattern.js";

/** Commands the key-value driver sends. */
export const TENANT_KEYVALUE_COMMANDS = ["get", "set", "mget", "mset", "exists", "unlink", "expire", "ttl", "persist"];
/** Commands the PubSub driver sends. */
export const TENANT_PUBSUB_COMMANDS = ["publish", "subscribe", "unsubscribe", "psubscribe", "punsubscribe"];
/**
 * Commands every connection sends while it connects. ioredis sends INFO as its ready
 * check after AUTH and sends no command before the INFO reply, so a rejected password
 * never leaves a connection running commands as the server's default user. A pooled
 * connection then reads its own id with CLIENT ID, for pool events and stats.
 */
export const TENANT_CONNECTION_COMMANDS = ["info", "client|id"];

/** Tenant ids that are safe inside an ACL user name: the alphabet the configuration allows. */
const TENANT_ID = /^[a-z0-9][a-z0-9_-]*$/;

export interface TenantAclSettings {
  /** Key of the password derivation. */
  secret: string;
  /** Older secrets whose passwords the users keep accepting during a rotation. */
  previousSecrets?: readonly string[];
  /** Prefix of the user names, for example "prism-tenant-". */
  userPrefix: string;
  /** The isolation of keys and channels; the users may touch only the tenant's prefix. */
  strategy: PrefixStrategy;
  /** Database index the connections select; SELECT is granted only when it is not 0. */
  db?: number;
}

/** Returns the ACL user name of a tenant, or throws a TypeError for an id that cannot be part of one. */
export function tenantAclUserName(tenantId: string, userPrefix: string): string {
  if (!TENANT_ID.test(tenantId)) {
    throw new TypeError(
      `tenant id ${JSON.stringify(tenantId)} cannot name a Redis ACL user; use lowercase letters, digits, '-' and '_'`,
    );
  }
  return `${userPrefix}${tenantId}`;
}

/** Derives the tenant's password under one secret: the lowercase hex HMAC-SHA256 of the tenant id. */
export function tenantAclPassword(secret: string, tenantId: string): string {
  return createHmac("sha256", secret).update(tenantId, "utf8").digest("hex");
}

/**
 * Builds the ACL SETUSER rules of a tenant's user. "reset" comes first, so the result is
 * the same whatever the user had before, and ACL SETUSER applies all rules in one step.
 */
export function tenantAclRules(tenantId: string, settings: TenantAclSettings): string[] {
  const secrets = [settings.secret, ...(settings.previousSecrets ?? [])];
  const passwords = [...new Set(secrets.map((secret) => tenantAclPassword(secret, tenantId)))];
  const glob = tenantGlob(settings.strategy, tenantId);
  const commands = [...TENANT_CONNECTION_COMMANDS, ...TENANT_KEYVALUE_COMMANDS, ...TENANT_PUBSUB_COMMANDS];
  if ((settings.db ?? 0) !== 0) {
    commands.push("select");
  }

  return [
    "reset",
    "resetchannels",
    "on",
    ...passwords.map((password) => `>${password}`),
    `~${glob}`,
    `&${glob}`,
    "-@all",
    ...commands.map((command) => `+${command}`),
  ];
}

/**
 * Creates or updates the ACL users of these tenants in one round trip; running it again
 * with the same settings changes nothing. The client's user needs the ACL SETUSER right.
 * Throws the first error Redis returned.
 */
export async function syncTenantAclUsers(
  adminClient: Redis,
  tenantIds: readonly string[],
  settings: TenantAclSettings,
): Promise<void> {
  if (tenantIds.length === 0) {
    return;
  }

  const pipeline = adminClient.pipeline();
  for (const tenantId of tenantIds) {
    pipeline.acl("SETUSER", tenantAclUserName(tenantId, settings.userPrefix), ...tenantAclRules(tenantId, settings));
  }

  const results = (await pipeline.exec()) ?? [];
  const failure = results.find(([error]) => error !== null)?.[0];
  if (failure !== undefined && failure !== null) {
    throw failure;
  }
}

/**
 * Deletes a tenant's ACL user, which also disconnects its connections. Returns whether
 * the user existed. The client's user needs the ACL DELUSER right.
 */
export async function removeTenantAclUser(
  adminClient: Redis,
  tenantId: string,
  settings: Pick<TenantAclSettings, "userPrefix">,
): Promise<boolean> {
  const removed = await adminClient.acl("DELUSER", tenantAclUserName(tenantId, settings.userPrefix));
  return removed === 1;
}
