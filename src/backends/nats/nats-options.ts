/**
 * Options of the NATS driver, with units and defaults. The proxy builds them from the
 * `backends.nats` section of the configuration; tests and benchmarks build them directly,
 * so nothing here depends on the configuration loader.
 */

import { resolveBackoff, type BackoffOptions, type ResolvedBackoff } from "../backoff.js";
import { DEFAULT_SUBJECT_FORMAT, PrefixStrategy } from "../../isolation/prefix-strategy.js";
import type { Logger } from "../../observability/logger.js";

export const DEFAULT_NATS_PORT = 4222;
/**
 * Time one publish, subscribe or unsubscribe may wait for the server's confirmation, and
 * time a call waits for a connection that is still being opened for the first time.
 */
export const DEFAULT_OPERATION_TIMEOUT_MS = 5000;
/** Time one connection attempt (TCP connect plus the NATS handshake) may take. */
export const DEFAULT_CONNECT_TIMEOUT_MS = 5000;
/**
 * Interval of the client's keep-alive PINGs. With DEFAULT_MAX_PINGS_OUT unanswered PINGs
 * the client treats the connection as stale and reconnects, so a silent network failure
 * is noticed after about a minute.
 */
export const DEFAULT_PING_INTERVAL_MS = 20_000;
export const DEFAULT_MAX_PINGS_OUT = 3;
/**
 * Maximum physical subject the driver sends, in bytes, prefix included. A nats-server
 * rejects protocol lines longer than max_control_line (4 KiB by default) and closes the
 * connection. "HPUB <subject> <header bytes> <total bytes>" must fit that line, so
 * subjects stay far below it.
 */
export const DEFAULT_MAX_SUBJECT_BYTES = 1024;
/** Upper bound of maxSubjectBytes: 4096 bytes of control line minus room for the verb, the lengths and CRLF. */
export const MAX_SUBJECT_BYTES_LIMIT = 4000;
/** Prefix of each tenant's NATS user name; the tenant id follows it. */
export const DEFAULT_TENANT_USER_PREFIX = "prism-tenant-";
/** Shortest accepted credentials secret, in characters: the HMAC key should carry at least 128 bits. */
export const MIN_CREDENTIALS_SECRET_LENGTH = 32;
/** Name the proxy's connections report to the server, shown by its monitoring endpoints. */
export const DEFAULT_CLIENT_NAME = "prism-proxy";

/** Per-tenant NATS users as a second line of defence behind the subject prefix. */
export interface NatsTenantCredentialsOptions {
  /**
   * Key of the password derivation: each tenant's password is the lowercase hex
   * HMAC-SHA256 of the tenant id under this secret, so no per-tenant password is stored.
   * At least MIN_CREDENTIALS_SECRET_LENGTH characters.
   */
  secret: string;
  /** Prefix of the tenant user names; default DEFAULT_TENANT_USER_PREFIX. */
  userPrefix?: string;
}

export interface NatsDriverOptions {
  /**
   * Server address: "host:port", a comma-separated list of them, or nats:// URLs.
   * A missing port is DEFAULT_NATS_PORT.
   */
  endpoint: string;
  /** Isolation format of subjects; default "tenant.{tenant_id}.{subject}". */
  subjectFormat?: string;
  /** User of the proxy's own connection; omitted, the connection sends no credentials. */
  username?: string;
  password?: string;
  /** Confirmation timeout of each call in milliseconds; default DEFAULT_OPERATION_TIMEOUT_MS. */
  operationTimeoutMs?: number;
  /** Timeout of one connection attempt in milliseconds; default DEFAULT_CONNECT_TIMEOUT_MS. */
  connectTimeoutMs?: number;
  /** Keep-alive PING interval in milliseconds; default DEFAULT_PING_INTERVAL_MS. */
  pingIntervalMs?: number;
  /** Unanswered PINGs before the connection counts as stale; default DEFAULT_MAX_PINGS_OUT. */
  maxPingsOut?: number;
  /** Maximum physical subject in UTF-8 bytes; default DEFAULT_MAX_SUBJECT_BYTES. */
  maxSubjectBytes?: number;
  /** Delays between connection attempts; defaults from src/backends/backoff.ts. */
  reconnect?: BackoffOptions;
  /** Per-tenant users; omitted, every tenant shares the proxy's connection. */
  tenantCredentials?: NatsTenantCredentialsOptions;
  /** Client name reported to the server; default DEFAULT_CLIENT_NAME. */
  clientName?: string;
  logger: Logger;
}

export interface ResolvedTenantCredentials {
  secret: string;
  userPrefix: string;
}

/** Driver options with every default applied, resolved once at construction. */
export interface ResolvedNatsOptions {
  /** Addresses handed to the NATS client. */
  servers: string[];
  /** The endpoint as error messages and logs show it, without credentials. */
  endpoint: string;
  username: string | undefined;
  password: string | undefined;
  /** Rewrites topics into the tenant's subtree; every prefix ends with ".". */
  strategy: PrefixStrategy;
  operationTimeoutMs: number;
  connectTimeoutMs: number;
  pingIntervalMs: number;
  maxPingsOut: number;
  maxSubjectBytes: number;
  reconnect: ResolvedBackoff;
  tenantCredentials: ResolvedTenantCredentials | undefined;
  clientName: string;
  logger: Logger;
}

/** Applies the defaults and rejects impossible values with a TypeError naming the option. */
export function resolveNatsOptions(options: NatsDriverOptions): ResolvedNatsOptions {
  const operationTimeoutMs = options.operationTimeoutMs ?? DEFAULT_OPERATION_TIMEOUT_MS;
  const connectTimeoutMs = options.connectTimeoutMs ?? DEFAULT_CONNECT_TIMEOUT_MS;
  const pingIntervalMs = options.pingIntervalMs ?? DEFAULT_PING_INTERVAL_MS;
  const maxPingsOut = options.maxPingsOut ?? DEFAULT_MAX_PINGS_OUT;
  const maxSubjectBytes = options.maxSubjectBytes ?? DEFAULT_MAX_SUBJECT_BYTES;

  requireInteger("operationTimeoutMs", operationTimeoutMs, 1, Number.MAX_SAFE_INTEGER);
  requireInteger("connectTimeoutMs", connectTimeoutMs, 1, Number.MAX_SAFE_INTEGER);
  requireInteger("pingIntervalMs", pingIntervalMs, 1, Number.MAX_SAFE_INTEGER);
  requireInteger("maxPingsOut", maxPingsOut, 1, 1000);
  requireInteger("maxSubjectBytes", maxSubjectBytes, 16, MAX_SUBJECT_BYTES_LIMIT);
  if (options.password !== undefined && options.username === undefined) {
    throw new TypeError("nats password is set without a username; set both or neither");
  }

  const strategy = subjectStrategy(options.subjectFormat ?? DEFAULT_SUBJECT_FORMAT);
  if (byteLengthOf(strategy.prefixFor("")) >= maxSubjectBytes) {
    throw new TypeError(`nats maxSubjectBytes (${maxSubjectBytes}) leaves no room for topics after the subject prefix`);
  }

  return {
    servers: parseNatsServers(options.endpoint),
    endpoint: describeEndpoint(options.endpoint),
    username: options.username,
    password: options.password,
    strategy,
    operationTimeoutMs,
    connectTimeoutMs,
    pingIntervalMs,
    maxPingsOut,
    maxSubjectBytes,
    reconnect: resolveBackoff(options.reconnect),
    tenantCredentials:
      options.tenantCredentials === undefined ? undefined : resolveTenantCredentials(options.tenantCredentials),
    clientName: options.clientName ?? DEFAULT_CLIENT_NAME,
    logger: options.logger,
  };
}

/**
 * Builds the prefix strategy and checks that every tenant prefix ends with ".". A NATS
 * wildcard only counts as one when it is a whole token, so the check keeps "*" and ">"
 * in a topic meaningful and makes the tenant permission "<prefix>>" cover its subtree.
 */
export function subjectStrategy(format: string): PrefixStrategy {
  const strategy = new PrefixStrategy(format, "subject");
  const prefix = strategy.prefixFor("tenant");
  if (!prefix.endsWith(".") || strategy.toPhysical("tenant", "") !== prefix) {
    throw new TypeError(
      `nats subject format ${JSON.stringify(format)} must end with ".{subject}", for example "tenant.{tenant_id}.{subject}"`,
    );
  }
  if (/[\s*>]/u.test(prefix) || prefix.startsWith(".") || prefix.includes("..")) {
    throw new TypeError(
      `nats subject format ${JSON.stringify(format)} must not contain whitespace, "*", ">" or an empty token`,
    );
  }
  return strategy;
}

export function resolveTenantCredentials(options: NatsTenantCredentialsOptions): ResolvedTenantCredentials {
  if (options.secret.length < MIN_CREDENTIALS_SECRET_LENGTH) {
    throw new TypeError(
      `nats tenantCredentials.secret has ${options.secret.length} characters; use at least ${MIN_CREDENTIALS_SECRET_LENGTH}, for example from "openssl rand -hex 32"`,
    );
  }

  const userPrefix = options.userPrefix ?? DEFAULT_TENANT_USER_PREFIX;
  if (!/^[A-Za-z0-9._-]*$/.test(userPrefix)) {
    throw new TypeError(
      `nats tenantCredentials.userPrefix ${JSON.stringify(userPrefix)} may only contain letters, digits, ".", "_" and "-"`,
    );
  }
  return { secret: options.secret, userPrefix };
}

/**
 * Splits a configured endpoint into the addresses the NATS client dials. Accepts
 * "host:port", "[::1]:4222", "host", nats:// or tls:// URLs, and comma-separated lists.
 */
export function parseNatsServers(endpoint: string): string[] {
  const servers = endpoint
    .split(",")
    .map((entry) => entry.trim())
    .filter((entry) => entry.length > 0);
  if (servers.length === 0) {
    throw new TypeError("nats endpoint must not be empty; use host:port, for example 127.0.0.1:4222");
  }

  for (const server of servers) {
    const url = parseServerUrl(server);
    if (url === undefined || url.hostname === "") {
      throw new TypeError(`nats endpoint entry ${JSON.stringify(redactUserInfo(server))} must be host:port or a nats:// URL`);
    }
  }
  return servers;
}

/** Returns the endpoint without any user:password part, for messages and logs. */
export function describeEndpoint(endpoint: string): string {
  return endpoint
    .split(",")
    .map((entry) => redactUserInfo(entry.trim()))
    .join(",");
}

function parseServerUrl(server: string): URL | undefined {
  try {
    const url = new URL(server.includes("://") ? server : `nats://${server}`);
    return url.protocol === "nats:" || url.protocol === "tls:" ? url : undefined;
  } catch {
    return undefined;
  }
}

function redactUserInfo(server: string): string {
  const at = server.lastIndexOf("@");
  if (at < 0) {
    return server;
  }
  const scheme = server.indexOf("://");
  return scheme >= 0 && scheme < at ? `${server.slice(0, scheme + 3)}${server.slice(at + 1)}` : server.slice(at + 1);
}

const encoder = new TextEncoder();

function byteLengthOf(text: string): number {
  return encoder.encode(text).byteLength;
}

function requireInteger(name: string, value: number, min: number, max: number): void {
  if (!Number.isInteger(value) || value < min || value > max) {
    throw new TypeError(`nats ${name} must be an integer from ${min} to ${max}, got ${value}`);
  }
}
