/**
 * Builds the NATS driver options from the `backends.nats` section of the configuration.
 */

import type { BackendConfig, DurationMs } from "../../config/model.js";
import { DEFAULT_SUBJECT_FORMAT } from "../../isolation/prefix-strategy.js";
import type { Logger } from "../../observability/logger.js";
import type { NatsDriverOptions } from "./nats-options.js";

/**
 * Keys of `backends.nats` beyond the ones every backend has, in the YAML spelling.
 * The configuration schema (src/config/backends-schema.ts) accepts exactly these keys.
 */
export interface NatsBackendSettings {
  tenant_credentials?: {
    enabled: boolean;
    /** A ${VAR} reference; at least 32 characters once resolved. */
    secret?: string;
    /** Prefix of the tenant user names; default "prism-tenant-". */
    user_prefix?: string;
  };
  /** Confirmation timeout of each call; default 5000 ms. */
  operation_timeout?: DurationMs;
  /** Timeout of one connection attempt; default 5000 ms. */
  connect_timeout?: DurationMs;
  /** Maximum physical subject in bytes, prefix included; default 1024. */
  max_subject_bytes?: number;
  reconnect?: {
    /** Upper bound of the first reconnect delay; default 100 ms. */
    initial_delay?: DurationMs;
    /** Cap of every reconnect delay; default 5 s. */
    max_delay?: DurationMs;
  };
}

/**
 * Maps `backends.nats` to driver options. Throws a TypeError naming the key for settings
 * the NATS driver cannot honour.
 */
export function natsDriverOptionsFromConfig(
  backend: BackendConfig & NatsBackendSettings,
  logger: Logger,
): NatsDriverOptions {
  if (backend.ssl_mode !== undefined && backend.ssl_mode !== "disable") {
    // NOTE: TLS to NATS is not implemented; the client would silently use plain TCP.
    throw new TypeError(
      `backends.nats.ssl_mode ${JSON.stringify(backend.ssl_mode)} is not supported by the NATS driver yet; remove it or set "disable"`,
    );
  }
  if (backend.client_cert_auth === true) {
    throw new TypeError("backends.nats.client_cert_auth is not supported by the NATS driver yet; remove it");
  }
  if (backend.database !== undefined) {
    throw new TypeError("backends.nats.database has no meaning for NATS; remove it");
  }

  return {
    endpoint: backend.endpoint,
    // A dedicated (physical) server still gets the default hierarchy: the prefix costs
    // nothing and keeps the per-tenant checks and permissions working.
    subjectFormat: backend.isolation.type === "subject_hierarchy" ? backend.isolation.format : DEFAULT_SUBJECT_FORMAT,
    username: backend.username,
    password: backend.password,
    operationTimeoutMs: backend.operation_timeout,
    connectTimeoutMs: backend.connect_timeout,
    maxSubjectBytes: backend.max_subject_bytes,
    reconnect: { initialDelayMs: backend.reconnect?.initial_delay, maxDelayMs: backend.reconnect?.max_delay },
    tenantCredentials: tenantCredentials(backend),
    logger,
  };
}

function tenantCredentials(backend: NatsBackendSettings): NatsDriverOptions["tenantCredentials"] {
  const settings = backend.tenant_credentials;
  if (settings === undefined || !settings.enabled) {
    return undefined;
  }
  if (settings.secret === undefined || settings.secret === "") {
    throw new TypeError(
      'backends.nats.tenant_credentials.secret is required when enabled; set it to a reference such as "${PRISM_NATS_CREDENTIALS_SECRET}"',
    );
  }
  return { secret: settings.secret, userPrefix: settings.user_prefix };
}
