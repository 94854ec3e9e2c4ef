/**
 * Checks that span several keys or sections. They run once every key has passed its own
 * schema, and each problem carries the path of the key to fix.
 */

import { INTERFACE_BACKENDS } from "./backends-schema.js";
import { DEFAULT_DEPLOYMENT_MODEL } from "./defaults.js";
import type { BackendIsolation, DataInterface } from "./model.js";
import { validatePoolName } from "./names.js";
import { namespacePatternCovers, namespacePatternsOverlap } from "./namespace-pattern.js";
import type { ParsedConfig } from "./schema.js";

export type ConfigPath = (string | number)[];

export interface ConfigProblem {
  path: ConfigPath;
  message: string;
  /** Location in the file to report when `path` itself is absent, for example a missing section. */
  locationPath?: ConfigPath;
  /** Flag that reports the key of `path` instead of its value, for problems with the key's name. */
  locateKey?: boolean;
}

const SHARED_BACKENDS = ["redis", "nats", "postgres", "kafka"] as const;

/** Logical isolation type that each shared backend uses in place of "physical". */
const LOGICAL_ISOLATION: Readonly<Record<(typeof SHARED_BACKENDS)[number], BackendIsolation["type"]>> = {
  redis: "keyspace_prefix",
  nats: "subject_hierarchy",
  postgres: "row_level_security",
  kafka: "topic_prefix",
};

/** Returns every cross-field problem of a configuration whose keys are individually valid. */
export function findConfigProblems(config: ParsedConfig): ConfigProblem[] {
  return [
    ...checkDeployment(config),
    ...checkSharedBackendIsolation(config),
    ...checkTenantIds(config),
    ...checkNamespaceOwnership(config),
    ...checkApiKeys(config),
    ...checkPoolReferences(config),
    ...checkInterfaces(config),
  ];
}

function checkDeployment(config: ParsedConfig): ConfigProblem[] {
  const model = config.deployment?.model ?? DEFAULT_DEPLOYMENT_MODEL;
  const tenantId = config.deployment?.tenant_id;
  const tenants = config.tenants;

  if (model !== "single_tenant") {
    if (tenantId === undefined) {
      return [];
    }
    return [
      {
        path: ["deployment", "tenant_id"],
        message: `allowed only when deployment.model is single_tenant, but the model is ${model}. List the tenants under tenants instead`,
      },
    ];
  }

  if (tenantId === undefined) {
    const implicit = config.deployment === undefined ? " (the default when the file has no deployment section)" : "";
    if (tenants !== undefined) {
      return [
        {
          path: ["deployment", "tenant_id"],
          locationPath: config.deployment === undefined ? ["tenants"] : ["deployment"],
          message: `required when deployment.model is single_tenant${implicit}. Set it to the id of the one tenant in tenants, or set deployment.model to multi_tenant`,
        },
      ];
    }
    if (config.deployment !== undefined) {
      return [
        {
          path: ["deployment", "tenant_id"],
          message: "required when deployment.model is single_tenant. Set it to the id of the tenant that this deployment serves",
        },
      ];
    }
    return [];
  }

  if (tenants === undefined) {
    return [];
  }
  const [onlyTenant] = tenants;
  if (tenants.length !== 1 || onlyTenant === undefined) {
    return [
      {
        path: ["tenants"],
        message: `a single_tenant deployment serves exactly one tenant, "${tenantId}", but tenants lists ${tenants.length}. List only that tenant, or remove tenants to give it every namespace`,
      },
    ];
  }
  if (onlyTenant.id !== tenantId) {
    return [
      {
        path: ["tenants", 0, "id"],
        message: `tenant "${onlyTenant.id}" differs from deployment.tenant_id "${tenantId}". A single_tenant deployment serves only deployment.tenant_id`,
      },
    ];
  }
  return [];
}

/** Reports physical isolation and disabled row-level security when the deployment serves more than one tenant, because shared backends need logical isolation then. */
function checkSharedBackendIsolation(config: ParsedConfig): ConfigProblem[] {
  const model = config.deployment?.model ?? DEFAULT_DEPLOYMENT_MODEL;
  if (model === "single_tenant") {
    return [];
  }

  const problems: ConfigProblem[] = [];
  for (const kind of SHARED_BACKENDS) {
    const isolation = config.backends[kind]?.isolation;
    if (isolation?.type === "physical") {
      problems.push({
        path: ["backends", kind, "isolation"],
        message: `physical isolation gives the whole backend to one tenant, so it is allowed only when deployment.model is single_tenant, but the model is ${model}. Use ${LOGICAL_ISOLATION[kind]} for ${kind}`,
      });
    }
    if (isolation?.type === "row_level_security" && !isolation.enable_rls) {
      problems.push({
        path: ["backends", kind, "isolation", "enable_rls"],
        message: `enable_rls: false lets every tenant read every row, so it is allowed only when deployment.model is single_tenant, but the model is ${model}`,
      });
    }
  }
  return problems;
}

function checkTenantIds(config: ParsedConfig): ConfigProblem[] {
  const problems: ConfigProblem[] = [];
  const firstIndexById = new Map<string, number>();

  (config.tenants ?? []).forEach((tenant, index) => {
    const firstIndex = firstIndexById.get(tenant.id);
    if (firstIndex === undefined) {
      firstIndexById.set(tenant.id, index);
      return;
    }
    problems.push({
      path: ["tenants", index, "id"],
      message: `duplicate tenant id "${tenant.id}", already used by tenants[${firstIndex}]. Tenant ids must be unique`,
    });
  });
  return problems;
}

interface PatternEntry {
  tenantIndex: number;
  patternIndex: number;
  pattern: string;
}

/** Reports patterns of different tenants that can match the same namespace, which would then belong to both. */
function checkNamespaceOwnership(config: ParsedConfig): ConfigProblem[] {
  const tenants = config.tenants ?? [];
  const problems: ConfigProblem[] = [];

  // A pattern that starts with a letter or digit can only overlap patterns that start with
  // the same character or with '*', so patterns are grouped by first character.
  const entriesByFirstCharacter = new Map<string, PatternEntry[]>();
  const allEntries: PatternEntry[] = [];

  tenants.forEach((tenant, tenantIndex) => {
    tenant.namespaces.forEach((pattern, patternIndex) => {
      const first = pattern.charAt(0);
      const candidates =
        first === "*" ? allEntries : [...(entriesByFirstCharacter.get(first) ?? []), ...(entriesByFirstCharacter.get("*") ?? [])];

      const clash = candidates.find(
        (other) => other.tenantIndex !== tenantIndex && namespacePatternsOverlap(other.pattern, pattern),
      );
      if (clash !== undefined) {
        const owner = tenants[clash.tenantIndex]?.id ?? "";
        problems.push({
          path: ["tenants", tenantIndex, "namespaces", patternIndex],
          message: `namespace pattern "${pattern}" overlaps "${clash.pattern}" of tenant "${owner}" (tenants[${clash.tenantIndex}].namespaces[${clash.patternIndex}]), so some namespace would belong to two tenants. Make the patterns disjoint`,
        });
      }

      const entry = { tenantIndex, patternIndex, pattern };
      allEntries.push(entry);
      entriesByFirstCharacter.set(first, [...(entriesByFirstCharacter.get(first) ?? []), entry]);
    });
  });
  return problems;
}

/** Reports API key names and hashes used twice in the file, and key namespaces outside the key's tenant. */
function checkApiKeys(config: ParsedConfig): ConfigProblem[] {
  const problems: ConfigProblem[] = [];
  const nameLocations = new Map<string, string>();
  const hashOwners = new Map<string, string>();

  (config.tenants ?? []).forEach((tenant, tenantIndex) => {
    tenant.api_keys.forEach((apiKey, keyIndex) => {
      const keyPath: ConfigPath = ["tenants", tenantIndex, "api_keys", keyIndex];

      const firstLocation = nameLocations.get(apiKey.name);
      if (firstLocation !== undefined) {
        problems.push({
          path: [...keyPath, "name"],
          message: `duplicate API key name "${apiKey.name}", already used at ${firstLocation}. API key names must be unique across the file`,
        });
      } else {
        nameLocations.set(apiKey.name, `tenants[${tenantIndex}].api_keys[${keyIndex}]`);
      }

      const hashOwner = hashOwners.get(apiKey.hash);
      if (hashOwner !== undefined) {
        problems.push({
          path: [...keyPath, "hash"],
          message: `duplicate API key hash, already used by API key "${hashOwner}". Generate a separate key for each principal`,
        });
      } else {
        hashOwners.set(apiKey.hash, apiKey.name);
      }

      (apiKey.namespaces ?? []).forEach((pattern, patternIndex) => {
        if (!tenant.namespaces.some((tenantPattern) => namespacePatternCovers(tenantPattern, pattern))) {
          problems.push({
            path: [...keyPath, "namespaces", patternIndex],
            message: `namespace pattern "${pattern}" is not within the namespaces of tenant "${tenant.id}" (${tenant.namespaces.join(", ")}). An API key can only narrow its tenant's namespaces`,
          });
        }
      });
    });
  });
  return problems;
}

/**
 * Reports pool names missing from proxy_pools when that section is present. Without it the
 * pools belong to prism-bridge, and the file cannot be checked against them.
 */
function checkPoolReferences(config: ParsedConfig): ConfigProblem[] {
  if (config.proxy_pools === undefined) {
    return [];
  }

  const pools = Object.keys(config.proxy_pools);
  const problems: ConfigProblem[] = [];
  for (const name of pools) {
    const error = validatePoolName(name);
    if (error !== undefined) {
      problems.push({ path: ["proxy_pools", name], message: error, locateKey: true });
    }
  }

  const checkReference = (pool: string | undefined, path: ConfigPath): void => {
    if (pool !== undefined && !pools.includes(pool)) {
      problems.push({ path, message: `unknown pool "${pool}". Pools defined in proxy_pools: ${pools.join(", ") || "(none)"}` });
    }
  };

  (config.tenants ?? []).forEach((tenant, index) => checkReference(tenant.pool, ["tenants", index, "pool"]));
  (config.tenant_routing?.rules ?? []).forEach((rule, index) =>
    checkReference(rule.action.pool, ["tenant_routing", "rules", index, "action", "pool"]),
  );
  (config.prism_bridge?.namespace_routing ?? []).forEach((route, index) =>
    checkReference(route.pool, ["prism_bridge", "namespace_routing", index, "pool"]),
  );
  return problems;
}

/**
 * Reports interfaces, deployment-wide or of a tenant, bound to a backend that has no
 * section under backends. The memory backend is always configured.
 */
function checkInterfaces(config: ParsedConfig): ConfigProblem[] {
  const tenantProblems = (config.tenants ?? []).flatMap((tenant, index) =>
    checkInterfaceBindings(config, tenant.interfaces, ["tenants", index, "interfaces"]),
  );
  return [...checkInterfaceBindings(config, config.interfaces, ["interfaces"]), ...tenantProblems];
}

function checkInterfaceBindings(
  config: ParsedConfig,
  interfaces: ParsedConfig["interfaces"],
  at: (string | number)[],
): ConfigProblem[] {
  const problems: ConfigProblem[] = [];

  for (const dataInterface of ["keyvalue", "pubsub"] as const satisfies DataInterface[]) {
    const backend = interfaces?.[dataInterface]?.backend;
    if (backend === undefined || backend === "memory" || config.backends[backend] !== undefined) {
      continue;
    }

    const configured = INTERFACE_BACKENDS[dataInterface].filter(
      (kind) => kind === "memory" || config.backends[kind] !== undefined,
    );
    problems.push({
      path: [...at, dataInterface, "backend"],
      message: `backend "${backend}" is not configured. Add a backends.${backend} section, or choose a configured backend that can serve ${dataInterface}: ${configured.join(", ")}`,
    });
  }
  return problems;
}
