/** Resolution of a tenant's isolation level when several sections set one. */

import { compareNumber } from "./comparison.js";
import type { IsolationLevel, PrismConfig, RoutingRule, TenantConfig } from "./model.js";

/**
 * Returns the isolation level of `tenant`. The first setting found wins:
 * 1. the tenant's own isolation_level,
 * 2. the isolation_level of the first tenant_routing rule that matches the tenant,
 * 3. the isolation_level of the tenant's pool in proxy_pools, where the pool is the
 *    tenant's own pool or else the pool of that first matching rule,
 * 4. proxy.isolation_level.
 */
export function resolveIsolationLevel(config: PrismConfig, tenant: TenantConfig): IsolationLevel {
  if (tenant.isolation_level !== undefined) {
    return tenant.isolation_level;
  }

  const rule = findRoutingRule(config, tenant);
  if (rule?.action.isolation_level !== undefined) {
    return rule.action.isolation_level;
  }

  const pool = tenant.pool ?? rule?.action.pool;
  const poolLevel = pool === undefined ? undefined : config.proxy_pools?.[pool]?.isolation_level;
  return poolLevel ?? config.proxy.isolation_level;
}

/** Returns the first tenant_routing rule that matches `tenant`, or undefined. */
export function findRoutingRule(config: PrismConfig, tenant: TenantConfig): RoutingRule | undefined {
  return config.tenant_routing?.rules.find((rule) => routingRuleMatches(rule, tenant));
}

/**
 * Returns whether every condition present in the rule's match holds for `tenant`. A rule
 * with an empty match applies to every tenant. A tenant without annual_revenue never
 * matches an annual_revenue condition, and a contracts condition holds when it lists the
 * tenant's id or one of the tenant's contracts.
 */
export function routingRuleMatches(rule: RoutingRule, tenant: TenantConfig): boolean {
  const { tier, annual_revenue: revenue, contracts } = rule.match;

  if (tier !== undefined && tenant.tier !== tier) {
    return false;
  }
  if (revenue !== undefined && (tenant.annual_revenue === undefined || !compareNumber(tenant.annual_revenue, revenue))) {
    return false;
  }
  if (contracts !== undefined) {
    const tenantNames = [tenant.id, ...(tenant.contracts ?? [])];
    return tenantNames.some((name) => contracts.includes(name));
  }
  return true;
}
