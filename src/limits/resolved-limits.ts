import type { PerNamespaceLimits, TenantConfig } from "../config/model.js";

/**
 * Burst when `burst` is not set: the requests of this many milliseconds at max_rps, at
 * least 1. Clients with connection pools and event loops send requests in clumps, and
 * with burst 0 two requests in the same millisecond would already exceed a 500 rps
 * limit. 100 ms of traffic absorbs that jitter while keeping any one second within 10%
 * (plus one request) of max_rps.
 */
export const DEFAULT_BURST_WINDOW_MS = 100;

/**
 * Concurrent requests and open streams per namespace when `max_in_flight` is not set.
 * It stops one namespace from holding an unbounded share of the process. Subscription
 * streams count while open, so a namespace with many subscribers needs a higher value.
 */
export const DEFAULT_MAX_IN_FLIGHT = 1000;

/** The per-namespace limits, by their configuration key. */
export type LimitName = "max_rps" | "max_in_flight" | "cpu" | "memory";

export const LIMIT_NAMES: readonly LimitName[] = ["max_rps", "max_in_flight", "cpu", "memory"];

/** The limits that apply to each namespace of one tenant, with defaults filled in. */
export interface ResolvedLimits {
  /** Steady rate in requests per second, or undefined for no rate limit. */
  readonly maxRps: number | undefined;
  /** Requests admitted at once above maxRps; 0 when there is no rate limit. */
  readonly burst: number;
  /** Concurrent requests and open streams. */
  readonly maxInFlight: number;
  /** CPU time budget in cores (CPU seconds per second), or undefined for none. */
  readonly cpuCores: number | undefined;
  /** Budget for bytes held in flight, or undefined for none. */
  readonly memoryBytes: number | undefined;
  /** The setting each limit comes from, quoted in rejection messages after "set by". */
  readonly sources: Readonly<Record<LimitName | "burst", string>>;
}

const DEPLOYMENT_PATH = "proxy.resource_limits.per_namespace";

/** Returns the default burst for a rate: DEFAULT_BURST_WINDOW_MS of traffic, at least 1. */
export function defaultBurst(maxRps: number): number {
  return Math.max(1, Math.ceil((maxRps * DEFAULT_BURST_WINDOW_MS) / 1000));
}

/**
 * Merges the deployment-wide limits with a tenant's `limits`, key by key: a key the tenant
 * sets wins, the others come from the deployment, then from the defaults. A tenant that
 * sets `max_rps` without `burst` gets the default burst for its own rate, not the
 * deployment's burst, because a burst is sized for the rate it was written with.
 */
export function resolveLimits(
  deploymentWide: PerNamespaceLimits | undefined,
  tenant?: { id: string; limits?: PerNamespaceLimits | undefined },
): ResolvedLimits {
  const own = tenant?.limits ?? {};
  const inherited = deploymentWide ?? {};
  const tenantPath = (key: string): string => `limits.${key} of tenant "${tenant?.id ?? ""}"`;
  const sourceOf = (key: keyof PerNamespaceLimits, fallback = "not set"): string => {
    if (own[key] !== undefined) {
      return tenantPath(key);
    }
    return inherited[key] !== undefined ? `${DEPLOYMENT_PATH}.${key}` : fallback;
  };

  const maxRps = own.max_rps ?? inherited.max_rps;
  const burst = resolveBurst(maxRps, own, inherited, tenantPath);

  return {
    maxRps,
    burst: burst.value,
    maxInFlight: own.max_in_flight ?? inherited.max_in_flight ?? DEFAULT_MAX_IN_FLIGHT,
    cpuCores: own.cpu ?? inherited.cpu,
    memoryBytes: own.memory ?? inherited.memory,
    sources: {
      max_rps: sourceOf("max_rps"),
      burst: burst.source,
      max_in_flight: sourceOf("max_in_flight", `the default max_in_flight of ${DEFAULT_MAX_IN_FLIGHT}`),
      cpu: sourceOf("cpu"),
      memory: sourceOf("memory"),
    },
  };
}

function resolveBurst(
  maxRps: number | undefined,
  own: PerNamespaceLimits,
  inherited: PerNamespaceLimits,
  tenantPath: (key: string) => string,
): { value: number; source: string } {
  if (maxRps === undefined) {
    return { value: 0, source: "no rate limit" };
  }
  if (own.burst !== undefined) {
    return { value: own.burst, source: tenantPath("burst") };
  }
  if (own.max_rps === undefined && inherited.burst !== undefined) {
    return { value: inherited.burst, source: `${DEPLOYMENT_PATH}.burst` };
  }
  return {
    value: defaultBurst(maxRps),
    source: `the default burst, max(1, ceil(max_rps × ${DEFAULT_BURST_WINDOW_MS / 1000}))`,
  };
}

/**
 * Resolves and caches the limits of each tenant. The cache is keyed by the tenant's
 * configuration object, so a reloaded configuration, which has new objects, is resolved again.
 */
export class LimitsResolver {
  readonly #cache = new WeakMap<TenantConfig, ResolvedLimits>();

  constructor(private readonly deploymentWide: PerNamespaceLimits | undefined) {}

  forTenant(tenant: TenantConfig): ResolvedLimits {
    let limits = this.#cache.get(tenant);
    if (limits === undefined) {
      limits = resolveLimits(this.deploymentWide, tenant);
      this.#cache.set(tenant, limits);
    }
    return limits;
  }
}
