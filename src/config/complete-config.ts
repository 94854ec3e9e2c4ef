/** Defaults that depend on other sections: the deployment, the tenants and the interfaces. */

import {
  DEFAULT_DEPLOYMENT_MODEL,
  DEFAULT_SINGLE_TENANT_NAMESPACES,
  DEFAULT_TENANT_ID,
} from "./defaults.js";
import type { BackendKind, BackendsConfig, DeploymentConfig, PrismConfig, TenantConfig } from "./model.js";
import type { ParsedConfig } from "./schema.js";

/** Returns the backend that serves keyvalue when the file does not choose: redis, else postgres, else memory. */
export function defaultKeyValueBackend(backends: BackendsConfig): BackendKind {
  if (backends.redis !== undefined) {
    return "redis";
  }
  return backends.postgres !== undefined ? "postgres" : "memory";
}

/** Returns the backend that serves pubsub when the file does not choose: nats, else redis, else memory. */
export function defaultPubSubBackend(backends: BackendsConfig): BackendKind {
  if (backends.nats !== undefined) {
    return "nats";
  }
  return backends.redis !== undefined ? "redis" : "memory";
}

/**
 * Fills in the deployment, the tenants and the interfaces. Runs after the cross-field
 * checks, which guarantee that a single-tenant deployment has a tenant id.
 */
export function completeConfig(parsed: ParsedConfig): PrismConfig {
  const deployment: DeploymentConfig = parsed.deployment ?? {
    model: DEFAULT_DEPLOYMENT_MODEL,
    tenant_id: DEFAULT_TENANT_ID,
  };

  return {
    ...parsed,
    deployment,
    interfaces: {
      keyvalue: { backend: parsed.interfaces?.keyvalue?.backend ?? defaultKeyValueBackend(parsed.backends) },
      pubsub: { backend: parsed.interfaces?.pubsub?.backend ?? defaultPubSubBackend(parsed.backends) },
    },
    tenants: parsed.tenants ?? synthesizedTenants(deployment),
  };
}

/** Returns the one tenant of a single-tenant file without a tenants list, which owns every namespace. */
function synthesizedTenants(deployment: DeploymentConfig): TenantConfig[] {
  if (deployment.model !== "single_tenant" || deployment.tenant_id === undefined) {
    return [];
  }
  return [{ id: deployment.tenant_id, namespaces: [...DEFAULT_SINGLE_TENANT_NAMESPACES], api_keys: [] }];
}
