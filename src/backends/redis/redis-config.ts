/**
 * Builds the Redis driver options from the `backends.redis` section of the configuration.
 */

import type { BackendConfig, DurationMs } from "../../config/model.js";
import { DEFAULT_KEY_FORMAT } from "../../isolation/prefix-strategy.js";
import type { Logger } from "../../observability/logger.js";
import { parseRedisEndpoint, type RedisDriverOptions } from "./redis-options.js";

/**
 * Keys of `backends.redis` beyond the ones every backend has, in the YAML spelling.
 * The configuration schema (src/config/backends-schema.ts) accepts exactly these keys.
 */
export interface RedisBackendSettings {
  /** Reply timeout of each command; default 2000 ms. */
  command_timeout?: DurationMs;
  /** TCP connect timeout; default 5000 ms. */
  connect_timeout?: DurationMs;
  reconnect?: {
    /** Upper bound of the first reconnect delay; default 100 ms. */
    initial_delay?: DurationMs;
    /** Cap of every reconnect delay; default 5 s. */
    max_delay?: DurationMs;
  };
  tenant_acl?: {
    enabled: boolean;
    /** A ${VAR} reference; at least 32 characters once resolved. */
    secret?: string;
    /** ${VAR} references to secrets the ACL users still accept during a rotation. */
    previous_secrets?: string[];
    /** Prefix of the ACL user names; default "prism-tenant-". */
    user_prefix?: string;
    /** Whether the proxy creates and updates the ACL users itself; default true. */
    manage_users?: boolean;
  };
}

/**
 * Maps `backends.redis` to driver options. Throws a TypeError naming the key for settings
 * the Redis driver cannot honour.
 */
export function redisDriverOptionsFromConfig(backend: BackendConfig & RedisBackendSettings, logger: Logger): RedisDriverOptions {
  if (backend.ssl_mode !== undefined && backend.ssl_mode !== "disable") {
    // NOTE: TLS to Redis is not implemented; the client would silently use plain TCP.
    throw new TypeError(
      `backends.redis.ssl_mode ${JSON.stringify(backend.ssl_mode)} is not supported by the Redis driver yet; remove it or set "disable"`,
    );
  }
  if (backend.client_cert_auth === true) {
    throw new TypeError("backends.redis.client_cert_auth is not supported by the Redis driver yet; remove it");
  }

  const { host, port } = parseRedisEndpoint(backend.endpoint);
  return {
    host,
    port,
    username: backend.username,
    password: backend.password,
    db: databaseIndex(backend.database),
    // A dedicated (physical) server still gets the default prefix: it costs nothing and
    // keeps the per-tenant ACL patterns working.
    keyFormat: backend.isolation.type === "keyspace_prefix" ? backend.isolation.format : DEFAULT_KEY_FORMAT,
    commandTimeoutMs: backend.command_timeout,
    connectTimeoutMs: backend.connect_timeout,
    reconnect: {
      initialDelayMs: backend.reconnect?.initial_delay,
      maxDelayMs: backend.reconnect?.max_delay,
    },
    tenantAcl: tenantAcl(backend),
    logger,
  };
}

function databaseIndex(database: string | undefined): number | undefined {
  if (database === undefined) {
    return undefined;
  }
  if (!/^\d{1,9}$/.test(database)) {
    throw new TypeError(`backends.redis.database ${JSON.stringify(database)} must be a database index such as "0"`);
  }
  return Number(database);
}

function tenantAcl(backend: RedisBackendSettings): RedisDriverOptions["tenantAcl"] {
  const settings = backend.tenant_acl;
  if (settings === undefined || !settings.enabled) {
    return undefined;
  }
  if (settings.secret === undefined || settings.secret === "") {
    throw new TypeError(
      'backends.redis.tenant_acl.secret is required when enabled; set it to a reference such as "${PRISM_REDIS_ACL_SECRET}"',
    );
  }
  return {
    secret: settings.secret,
    previousSecrets: settings.previous_secrets,
    userPrefix: settings.user_prefix,
    manageUsers: settings.manage_users,
  };
}
