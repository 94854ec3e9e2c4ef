import { Code, PrismError, invalidArgument } from "../errors/prism-error.js";
import type { IsolationLevel, TenantConfig } from "../config/model.js";
import { quoteName } from "../isolation/names.js";
import { validateNamespaceName } from "../config/namespace-pattern.js";
import { NamespacePattern } from "./namespace-pattern.js";

/** The header that carries the namespace of every data request. */
export const NAMESPACE_HEADER = "x-prism-namespace";


export interface Tenant {
  readonly id: string;
  readonly config: TenantConfig;
  readonly patterns: readonly NamespacePattern[];
  readonly isolationLevel: IsolationLevel;
}

/**
 * Maps a namespace to exactly one tenant. Exact names are looked up first, then globs;
 * the configuration guarantees that no two tenants' patterns can match one namespace.
 */
export class TenantRegistry {
  readonly #byId = new Map<string, Tenant>();
  readonly #exact = new Map<string, Tenant>();
  readonly #globs: { pattern: NamespacePattern; tenant: Tenant }[] = [];

  constructor(tenants: readonly TenantConfig[], levelOf: (tenant: TenantConfig) => IsolationLevel) {
    for (const config of tenants) {
      const tenant: Tenant = {
        id: config.id,
        config,
        patterns: config.namespaces.map((source) => new NamespacePattern(source)),
        isolationLevel: levelOf(config),
      };
      this.#byId.set(tenant.id, tenant);

      for (const pattern of tenant.patterns) {
        if (pattern.exact) {
          this.#exact.set(pattern.source, tenant);
        } else {
          this.#globs.push({ pattern, tenant });
        }
      }
    }
  }

  get size(): number {
    return this.#byId.size;
  }

  tenants(): Tenant[] {
    return [...this.#byId.values()];
  }

  byId(tenantId: string): Tenant | undefined {
    return this.#byId.get(tenantId);
  }

  /** Returns the namespace's tenant; INVALID_ARGUMENT for a missing or malformed header, NOT_FOUND when no tenant owns it. */
  resolve(namespace: string | null): Tenant {
    if (namespace === null || namespace === "") {
      throw invalidArgument(
        `missing ${NAMESPACE_HEADER} header; send the namespace to use, for example "${NAMESPACE_HEADER}: acme-prod"`,
        "NAMESPACE_MISSING",
      );
    }

    if (validateNamespaceName(namespace) !== undefined) {
      throw invalidArgument(
        `namespace ${quoteName(namespace)} is not valid; use lowercase letters, digits, ".", "_" and "-" (at most 128 characters)`,
        "NAMESPACE_MISSING",
      );
    }

    const tenant = this.#exact.get(namespace) ?? this.#globs.find((entry) => entry.pattern.matches(namespace))?.tenant;
    if (tenant === undefined) {
      throw new PrismError(
        Code.NotFound,
        "NAMESPACE_UNKNOWN",
        `namespace ${quoteName(namespace)} is not configured; check ${NAMESPACE_HEADER} or ask the operator to add it`,
      );
    }
    return tenant;
  }
}
