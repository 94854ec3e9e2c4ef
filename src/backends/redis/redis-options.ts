/**
 * Options of the Redis drivers, with units and defaults. The proxy builds them from
 * the `backends.redis` section of the configuration; tests and benchmarks build them
 * directly, so nothing here depends on the configuration loader.
 */

import { resolveBackoff, type BackoffOptions, type ResolvedBackoff } from "../backoff.js";
import { DEFAULT_KEY_FORMAT, PrefixStrategy } from "../../isolation/prefix-strategy.js";
import type { Logger } from "../../observability/logger.js";

export const DEFAULT_REDIS_PORT = 6379;
/** Time one command may wait for its reply before it fails with UNAVAILABLE. */
export const DEFAULT_COMMAND_TIMEOUT_MS = 2000;
/** Time one TCP connect may take before the attempt counts as failed. */
export const DEFAULT_CONNECT_TIMEOUT_MS = 5000;
/** Prefix of each tenant's ACL user name; the tenant id follows it. */
export const DEFAULT_TENANT_ACL_USER_PREFIX = "prism-tenant-";
export const DEFAULT_TENANT_ACL_MANAGE_USERS = true;
/** Shortest accepted ACL secret, in characters: the HMAC key should carry at least 128 bits. */
export const MIN_TENANT_ACL_SECRET_LENGTH = 32;

/** Per-tenant Redis ACL users as a second line of defence behind the key prefix. */
export interface RedisTenantAclOptions {
  /**
   * Key of the password derivation: each tenant's password is the lowercase hex
   * HMAC-SHA256 of the tenant id under this secret, so no per-tenant password is stored.
   * At least MIN_TENANT_ACL_SECRET_LENGTH characters.
   */
  secret: string;
  /**
   * Secrets that the ACL users still accept during a rotation. Connections always
   * authenticate with `secret`; user syncs add a password for each of these as well.
   */
  previousSecrets?: readonly string[];
  /** Prefix of the ACL user names; default DEFAULT_TENANT_ACL_USER_PREFIX. */
  userPrefix?: string;
  /**
   * Whether the driver creates or updates a tenant's ACL user, through its main
   * connection, before it opens that tenant's first connection. The main connection's
   * user then needs the ACL SETUSER right. Default DEFAULT_TENANT_ACL_MANAGE_USERS.
   */
  manageUsers?: boolean;
}

export interface RedisDriverOptions {
  /** Host name or IP address of the Redis server. */
  host: string;
  /** TCP port; default DEFAULT_REDIS_PORT. */
  port?: number;
  /** ACL user of the main connection; omitted, the `default` user. */
  username?: string;
  password?: string;
  /** Logical database index for keys; default 0. Redis channels are global across databases. */
  db?: number;
  /** Isolation format of keys and channels; default "tenant:{tenant_id}:{key}". */
  keyFormat?: string;
  /** Reply timeout of each command in milliseconds; default DEFAULT_COMMAND_TIMEOUT_MS. */
  commandTimeoutMs?: number;
  /** TCP connect timeout in milliseconds; default DEFAULT_CONNECT_TIMEOUT_MS. */
  connectTimeoutMs?: number;
  /** Delays between reconnect attempts; defaults from src/backends/backoff.ts. */
  reconnect?: BackoffOptions;
  /** Per-tenant ACL users; omitted, every tenant shares the main connection. */
  tenantAcl?: RedisTenantAclOptions;
  logger: Logger;
}

export interface ResolvedTenantAcl {
  secret: string;
  previousSecrets: readonly string[];
  userPrefix: string;
  manageUsers: boolean;
}

/** Driver options with every default applied, resolved once at construction. */
export interface ResolvedRedisOptions {
  host: string;
  port: number;
  /** "host:port" as error messages and logs show it. */
  endpoint: string;
  username: string | undefined;
  password: string | undefined;
  db: number;
  /** Rewrites keys and channel names into the tenant's part of the server. */
  strategy: PrefixStrategy;
  commandTimeoutMs: number;
  connectTimeoutMs: number;
  reconnect: ResolvedBackoff;
  tenantAcl: ResolvedTenantAcl | undefined;
  logger: Logger;
}

/** Applies the defaults and rejects impossible values with a TypeError naming the option. */
export function resolveRedisOptions(options: RedisDriverOptions): ResolvedRedisOptions {
  const port = options.port ?? DEFAULT_REDIS_PORT;
  const db = options.db ?? 0;
  const commandTimeoutMs = options.commandTimeoutMs ?? DEFAULT_COMMAND_TIMEOUT_MS;
  const connectTimeoutMs = options.connectTimeoutMs ?? DEFAULT_CONNECT_TIMEOUT_MS;

  if (options.host === "") {
    throw new TypeError("redis host must not be empty");
  }
  requireInteger("port", port, 1, 65535);
  requireInteger("db", db, 0, Number.MAX_SAFE_INTEGER);
  requireInteger("commandTimeoutMs", commandTimeoutMs, 1, Number.MAX_SAFE_INTEGER);
  requireInteger("connectTimeoutMs", connectTimeoutMs, 1, Number.MAX_SAFE_INTEGER);

  return {
    host: options.host,
    port,
    endpoint: formatEndpoint(options.host, port),
    username: options.username,
    password: options.password,
    db,
    strategy: new PrefixStrategy(options.keyFormat ?? DEFAULT_KEY_FORMAT, "key"),
    commandTimeoutMs,
    connectTimeoutMs,
    reconnect: resolveBackoff(options.reconnect),
    tenantAcl: options.tenantAcl === undefined ? undefined : resolveTenantAcl(options.tenantAcl),
    logger: options.logger,
  };
}

function resolveTenantAcl(options: RedisTenantAclOptions): ResolvedTenantAcl {
  const secrets = [options.secret, ...(options.previousSecrets ?? [])];
  if (secrets.some((secret) => secret.length < MIN_TENANT_ACL_SECRET_LENGTH)) {
    throw new TypeError(
      `redis tenant ACL secrets must be at least ${MIN_TENANT_ACL_SECRET_LENGTH} characters; generate one with "openssl rand -hex 32"`,
    );
  }
  return {
    secret: options.secret,
    previousSecrets: options.previousSecrets ?? [],
    userPrefix: options.userPrefix ?? DEFAULT_TENANT_ACL_USER_PREFIX,
    manageUsers: options.manageUsers ?? DEFAULT_TENANT_ACL_MANAGE_USERS,
  };
}

/**
 * Splits a configured endpoint ("host:port", "[::1]:6379", "host", or a redis:// URL)
 * into host and port; a missing port is DEFAULT_REDIS_PORT.
 */
export function parseRedisEndpoint(endpoint: string): { host: string; port: number } {
  const url = new URL(endpoint.includes("://") ? endpoint : `redis://${endpoint}`);
  if (url.protocol !== "redis:") {
    throw new TypeError(`redis endpoint ${JSON.stringify(endpoint)} must be host:port or a redis:// URL`);
  }

  const host = url.hostname.startsWith("[") ? url.hostname.slice(1, -1) : url.hostname;
  if (host === "") {
    throw new TypeError(`redis endpoint ${JSON.stringify(endpoint)} has no host`);
  }
  return { host, port: url.port === "" ? DEFAULT_REDIS_PORT : Number(url.port) };
}

function formatEndpoint(host: string, port: number): string {
  return host.includes(":") ? `[${host}]:${port}` : `${host}:${port}`;
}

function requireInteger(name: string, value: number, min: number, max: number): void {
  if (!Number.isInteger(value) || value < min || value > max) {
    throw new TypeError(`redis ${name} must be an integer from ${min} to ${max}, got ${value}`);
  }
}
