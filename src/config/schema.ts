/**
 * The zod schema of the configuration file. Every mapping rejects unknown keys, every
 * default is applied here, and the output of `prismConfigSchema` is a complete PrismConfig.
 */

import * as z from "zod";

import { auditSchema } from "./audit-schema.js";
import { backendsSchema, interfacesSchema } from "./backends-schema.js";
import { parseNumericComparison } from "./comparison.js";
import { completeConfig } from "./complete-config.js";
import {
  DEFAULT_ADMIN_LISTEN,
  DEFAULT_CONNECTION_REUSE,
  DEFAULT_DEPLOYMENT_MODEL,
  DEFAULT_ISOLATION_LEVEL,
  DEFAULT_LISTEN,
  DEFAULT_LOG_LEVEL,
  DEFAULT_MAX_BATCH_SIZE,
  DEFAULT_MAX_KEY_BYTES,
  DEFAULT_MAX_METADATA_BYTES,
  DEFAULT_MAX_METADATA_ENTRIES,
  DEFAULT_MAX_SESSIONS,
  DEFAULT_MAX_SESSIONS_PER_PRINCIPAL,
  DEFAULT_MAX_SUBSCRIPTIONS_PER_SESSION,
  DEFAULT_MAX_TOPIC_BYTES,
  DEFAULT_MAX_VALUE_BYTES,
  DEFAULT_SESSION_TIMEOUT_MS,
  DEFAULT_SHUTDOWN_GRACE_MS,
  DEFAULT_TENANT_LABEL,
  MAX_VALUE_BYTES_LIMIT,
} from "./defaults.js";
import type { PrismConfig } from "./model.js";
import {
  validateApiKeyHash,
  validateApiKeyName,
  validateListenAddress,
  validatePoolName,
  validatePrometheusLabel,
  validateTenantId,
} from "./names.js";
import { validateNamespacePattern } from "./namespace-pattern.js";
import {
  byteSize,
  checkedString,
  cpuCores,
  durationMs,
  nonNegativeInteger,
  parsedValue,
  positiveByteSize,
  positiveInteger,
  strictObject,
  trimmedString,
} from "./schema-helpers.js";
import { findConfigProblems } from "./semantic-checks.js";

// The defaults are declared in their own file and re-exported here next to the schema that applies them.
export * from "./defaults.js";

export const ISOLATION_LEVELS = ["none", "namespace", "session"] as const;
export const DEPLOYMENT_MODELS = ["single_tenant", "multi_tenant", "hybrid"] as const;
export const LOG_LEVELS = ["fatal", "error", "warn", "info", "debug", "trace"] as const;
export const LOAD_BALANCERS = ["haproxy", "nginx", "envoy"] as const;

const isolationLevel = z.enum(ISOLATION_LEVELS);
const namespacePattern = checkedString(validateNamespacePattern);

const resourcesSchema = strictObject({
  cpu: cpuCores().optional(),
  memory: positiveByteSize().optional(),
});

const deploymentSchema = strictObject({
  model: z.enum(DEPLOYMENT_MODELS).default(DEFAULT_DEPLOYMENT_MODEL),
  tenant_id: checkedString(validateTenantId).optional(),
  control_plane: z.literal("prism-bridge").optional(),
});

const backendPoolSchema = strictObject({
  max_connections: positiveInteger().optional(),
  shared: z.boolean().optional(),
  connections_per_namespace: positiveInteger().optional(),
  max_total_connections: positiveInteger().optional(),
  per_session_limit: positiveInteger().optional(),
}).superRefine((pool, context) => {
  const { per_session_limit: perSession, max_connections: maxConnections } = pool;
  if (perSession !== undefined && maxConnections !== undefined && perSession > maxConnections) {
    context.addIssue({
      code: "custom",
      path: ["per_session_limit"],
      message: `per_session_limit (${perSession}) must be at most max_connections (${maxConnections}), because one session cannot hold more connections than the whole pool`,
    });
  }

  const { connections_per_namespace: perNamespace, max_total_connections: maxTotal } = pool;
  if (perNamespace !== undefined && maxTotal !== undefined && perNamespace > maxTotal) {
    context.addIssue({
      code: "custom",
      path: ["connections_per_namespace"],
      message: `connections_per_namespace (${perNamespace}) must be at most max_total_connections (${maxTotal}), because one namespace cannot hold more connections than all namespaces together`,
    });
  }
});

const connectionPoolsSchema = strictObject({
  shared: z.boolean().optional(),
  per_namespace: z.boolean().optional(),
  idle_pool_timeout: durationMs().optional(),
  acquire_timeout: durationMs().optional(),
  idle_connection_timeout: durationMs().optional(),
  redis: backendPoolSchema.optional(),
  nats: backendPoolSchema.optional(),
  postgres: backendPoolSchema.optional(),
  kafka: backendPoolSchema.optional(),
});

const sessionManagementSchema = strictObject({
  connection_reuse: z.boolean().default(DEFAULT_CONNECTION_REUSE),
  max_sessions: positiveInteger().default(DEFAULT_MAX_SESSIONS),
  session_timeout: durationMs()
    .refine((milliseconds) => milliseconds > 0, "must be longer than 0")
    .default(DEFAULT_SESSION_TIMEOUT_MS),
  max_sessions_per_principal: positiveInteger().default(DEFAULT_MAX_SESSIONS_PER_PRINCIPAL),
});

const perNamespaceLimitsSchema = strictObject({
  cpu: cpuCores().optional(),
  memory: positiveByteSize().optional(),
  max_rps: z.number().positive().optional(),
  burst: nonNegativeInteger().optional(),
  max_in_flight: positiveInteger().optional(),
});

const requestLimitsSchema = strictObject({
  max_key_bytes: positiveByteSize().default(DEFAULT_MAX_KEY_BYTES),
  max_value_bytes: positiveByteSize()
    .refine(
      (bytes) => bytes <= MAX_VALUE_BYTES_LIMIT,
      `must be at most ${MAX_VALUE_BYTES_LIMIT} bytes (64Mi), because the proxy buffers each value in memory`,
    )
    .default(DEFAULT_MAX_VALUE_BYTES),
  max_batch_size: positiveInteger().default(DEFAULT_MAX_BATCH_SIZE),
  max_subscriptions_per_session: positiveInteger().default(DEFAULT_MAX_SUBSCRIPTIONS_PER_SESSION),
  max_topic_bytes: positiveByteSize().default(DEFAULT_MAX_TOPIC_BYTES),
  max_metadata_entries: nonNegativeInteger().default(DEFAULT_MAX_METADATA_ENTRIES),
  max_metadata_bytes: byteSize().default(DEFAULT_MAX_METADATA_BYTES),
});

const proxySchema = strictObject({
  listen: checkedString(validateListenAddress).default(DEFAULT_LISTEN),
  admin_listen: checkedString(validateListenAddress).default(DEFAULT_ADMIN_LISTEN),
  shutdown_grace: durationMs().default(DEFAULT_SHUTDOWN_GRACE_MS),
  replicas: positiveInteger().optional(),
  resources: resourcesSchema.optional(),
  cluster: strictObject({
    mode: z.enum(["dedicated", "shared"]).optional(),
    load_balancer: z.enum(LOAD_BALANCERS).optional(),
  }).optional(),
  isolation_level: isolationLevel.default(DEFAULT_ISOLATION_LEVEL),
  connection_pools: connectionPoolsSchema.optional(),
  session_management: sessionManagementSchema.prefault({}),
  resource_limits: strictObject({ per_namespace: perNamespaceLimitsSchema.optional() }).optional(),
  request_limits: requestLimitsSchema.prefault({}),
  audit: auditSchema.optional(),
}).superRefine((proxy, context) => {
  // With port 0 the OS picks a free port, so two such listeners never collide.
  if (proxy.listen === proxy.admin_listen && !proxy.listen.endsWith(":0")) {
    context.addIssue({
      code: "custom",
      path: ["admin_listen"],
      message: `admin_listen ${JSON.stringify(proxy.admin_listen)} is the same address as listen. Use a different port`,
    });
  }
});

const observabilitySchema = strictObject({
  metrics_endpoint: trimmedString().optional(),
  traces_endpoint: trimmedString().optional(),
  logs_endpoint: trimmedString().optional(),
  tenant_label: checkedString(validatePrometheusLabel).default(DEFAULT_TENANT_LABEL),
  log_level: z.enum(LOG_LEVELS).default(DEFAULT_LOG_LEVEL),
});

const bridgeSchema = strictObject({
  listen_addr: checkedString(validateListenAddress).optional(),
  namespace_routing: z
    .array(
      strictObject({
        namespace: namespacePattern,
        pool: checkedString(validatePoolName),
        weight: positiveInteger().optional(),
      }),
    )
    .optional(),
  load_balancer: strictObject({
    type: z.enum(LOAD_BALANCERS),
    config_path: trimmedString().optional(),
    reload_command: trimmedString().optional(),
  }).optional(),
  service_discovery: strictObject({
    type: z.enum(["kubernetes", "nomad", "static"]),
    label_selector: trimmedString().optional(),
  }).optional(),
});

const proxyPoolSchema = strictObject({
  replicas: positiveInteger().optional(),
  resources: resourcesSchema.optional(),
  isolation_level: isolationLevel.optional(),
});

const routingRuleSchema = strictObject({
  match: strictObject({
    tier: trimmedString().optional(),
    annual_revenue: parsedValue(parseNumericComparison).optional(),
    contracts: z.array(trimmedString()).optional(),
  }),
  action: strictObject({
    deployment: z.enum(["single_tenant", "multi_tenant"]).optional(),
    pool: checkedString(validatePoolName).optional(),
    isolation_level: isolationLevel.optional(),
    connection_pools: connectionPoolsSchema.optional(),
  }),
});

const complianceSchema = strictObject({
  frameworks: z.array(trimmedString()).optional(),
  pii_encryption: z.boolean().optional(),
  audit_retention_days: positiveInteger().optional(),
});

const apiKeySchema = strictObject({
  name: checkedString(validateApiKeyName),
  hash: checkedString(validateApiKeyHash),
  namespaces: z.array(namespacePattern).min(1).optional(),
});

const tenantSchema = strictObject({
  id: checkedString(validateTenantId),
  namespaces: z.array(namespacePattern).min(1),
  tier: trimmedString().optional(),
  annual_revenue: z.number().nonnegative().optional(),
  contracts: z.array(trimmedString()).optional(),
  pool: checkedString(validatePoolName).optional(),
  isolation_level: isolationLevel.optional(),
  limits: perNamespaceLimitsSchema.optional(),
  interfaces: interfacesSchema.optional(),
  api_keys: z.array(apiKeySchema).default(() => []),
});

/** The file's sections after per-field validation and defaults, before cross-field checks. */
const configSectionsSchema = strictObject({
  deployment: deploymentSchema.optional(),
  proxy: proxySchema.prefault({}),
  backends: backendsSchema.prefault({}),
  interfaces: interfacesSchema.optional(),
  observability: observabilitySchema.prefault({}),
  prism_bridge: bridgeSchema.optional(),
  proxy_pools: z.record(z.string(), proxyPoolSchema).optional(),
  tenant_routing: strictObject({ rules: z.array(routingRuleSchema) }).optional(),
  compliance: complianceSchema.optional(),
  tenants: z.array(tenantSchema).optional(),
});

export type ParsedConfig = z.output<typeof configSectionsSchema>;

/** Validates a parsed YAML document and returns the complete configuration. */
export const prismConfigSchema = configSectionsSchema
  .superRefine((config, context) => {
    for (const problem of findConfigProblems(config)) {
      context.addIssue({
        code: "custom",
        path: problem.path,
        message: problem.message,
        params: { locationPath: problem.locationPath, locateKey: problem.locateKey },
      });
    }
  })
  .transform((config): PrismConfig => completeConfig(config));
