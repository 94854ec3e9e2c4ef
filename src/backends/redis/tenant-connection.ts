import { RedisConnection } from "./redis-connection.js";
import type { ResolvedRedisOptions, ResolvedTenantAcl } from "./redis-options.js";
import { syncTenantAclUsers, tenantAclPassword, tenantAclUserName, type TenantAclSettings } from "./tenant-acl.js";

/** Builds the settings that syncTenantAclUsers needs from the driver options. */
export function aclSettings(options: ResolvedRedisOptions, acl: ResolvedTenantAcl): TenantAclSettings {
  return {
    secret: acl.secret,
    previousSecrets: acl.previousSecrets,
    userPrefix: acl.userPrefix,
    strategy: options.strategy,
    db: options.db,
  };
}

/**
 * Creates a connection that authenticates as the tenant's ACL user. It connects on its
 * first call. When the driver manages the users, it first creates or updates the user
 * through the main connection, and does so again whenever the server rejects the
 * password, for example after a restart without a persisted ACL file.
 */
export function createTenantConnection(
  options: ResolvedRedisOptions,
  acl: ResolvedTenantAcl,
  main: RedisConnection,
  tenantId: string,
  role: string,
): RedisConnection {
  const settings = aclSettings(options, acl);
  const sync = (): Promise<void> => main.run(true, (client) => syncTenantAclUsers(client, [tenantId], settings));
  const log = options.logger.child({ component: "redis", role, endpoint: options.endpoint, tenantId });

  let resyncing = false;
  const resync = (): void => {
    if (resyncing) {
      return;
    }
    resyncing = true;
    log.warn("redis rejected the tenant ACL user's password; syncing the user again");
    sync()
      .catch((error: unknown) => log.warn({ err: error }, "syncing the tenant ACL user failed; the next reconnect retries"))
      .finally(() => {
        resyncing = false;
      });
  };

  return new RedisConnection({
    options,
    role,
    tenantId,
    credentials: {
      username: tenantAclUserName(tenantId, acl.userPrefix),
      password: tenantAclPassword(acl.secret, tenantId),
    },
    prepare: acl.manageUsers ? sync : () => Promise.resolve(),
    ...(acl.manageUsers ? { onAuthenticationFailure: resync } : {}),
  });
}
