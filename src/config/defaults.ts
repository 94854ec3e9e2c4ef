/**
 * Default values of the configuration file. The loader applies each one once, when the
 * key is absent, so an explicit 0 or false in the file is kept.
 */

import type { DeploymentModel, IsolationLevel, ObservabilityConfig } from "./model.js";

const KIB = 1024;
const MIB = 1024 * KIB;

export const DEFAULT_DEPLOYMENT_MODEL: DeploymentModel = "single_tenant";
/** Tenant that owns every namespace when the file has neither a deployment section nor tenants. */
export const DEFAULT_TENANT_ID = "default";
/** Namespace pattern of a tenant synthesized for a single-tenant deployment: every namespace. */
export const DEFAULT_SINGLE_TENANT_NAMESPACES: readonly string[] = ["*"];

export const DEFAULT_LISTEN = "127.0.0.1:8080";
export const DEFAULT_ADMIN_LISTEN = "127.0.0.1:9090";
export const DEFAULT_SHUTDOWN_GRACE_MS = 10_000;
export const DEFAULT_ISOLATION_LEVEL: IsolationLevel = "namespace";

export const DEFAULT_CONNECTION_REUSE = true;
export const DEFAULT_MAX_SESSIONS = 10_000;
export const DEFAULT_SESSION_TIMEOUT_MS = 300_000;
export const DEFAULT_MAX_SESSIONS_PER_PRINCIPAL = 100;

export const DEFAULT_MAX_KEY_BYTES = 1024;
export const DEFAULT_MAX_VALUE_BYTES = 1 * MIB;
/** Upper bound for request_limits.max_value_bytes, so one request cannot make the proxy buffer more. */
export const MAX_VALUE_BYTES_LIMIT = 64 * MIB;
export const DEFAULT_MAX_BATCH_SIZE = 1000;
export const DEFAULT_MAX_SUBSCRIPTIONS_PER_SESSION = 64;
export const DEFAULT_MAX_TOPIC_BYTES = 256;
export const DEFAULT_MAX_METADATA_ENTRIES = 64;
export const DEFAULT_MAX_METADATA_BYTES = 16 * KIB;

export const DEFAULT_MEMORY_KEY_FORMAT = "tenant:{tenant_id}:{key}";
export const DEFAULT_REDIS_KEY_FORMAT = "tenant:{tenant_id}:{key}";
export const DEFAULT_NATS_SUBJECT_FORMAT = "tenant.{tenant_id}.{subject}";
export const DEFAULT_KAFKA_TOPIC_FORMAT = "{tenant_id}.{topic}";
export const DEFAULT_ENABLE_RLS = true;
export const DEFAULT_RLS_TENANT_COLUMN = "tenant_id";

export const DEFAULT_TENANT_LABEL = "prism_tenant_id";
export const DEFAULT_LOG_LEVEL: ObservabilityConfig["log_level"] = "info";
