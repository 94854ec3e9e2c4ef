import assert from "node:assert/strict";
import { describe, it } from "node:test";

import { findRoutingRule, resolveIsolationLevel, routingRuleMatches } from "../../src/config/isolation-level.js";
import { parseConfig } from "../../src/config/load.js";
import type { PrismConfig, TenantConfig } from "../../src/config/model.js";
import { TEST_FILE, yaml } from "./helpers.js";

function configWith(...lines: string[]): PrismConfig {
  return parseConfig(yaml("deployment:", "  model: hybrid", ...lines), TEST_FILE, {});
}

function tenant(fields: Partial<TenantConfig>): TenantConfig {
  return { id: "t", namespaces: ["t-*"], api_keys: [], ...fields };
}

const ROUTED = [
  "proxy:",
  "  isolation_level: none",
  "proxy_pools:",
  "  standard: {isolation_level: namespace}",
  "  premium: {isolation_level: session}",
  "  bulk: {}",
  "tenant_routing:",
  "  rules:",
  "    - match: {tier: enterprise, contracts: [healthcare-a]}",
  "      action: {deployment: single_tenant, isolation_level: session}",
  '    - match: {tier: premium, annual_revenue: ">10000"}',
  "      action: {pool: standard}",
  "    - match: {tier: premium}",
  "      action: {pool: premium, isolation_level: none}",
];

void describe("resolveIsolationLevel", () => {
  const config = configWith(...ROUTED);

  void it("tenant setting wins", () => {
    assert.equal(resolveIsolationLevel(config, tenant({ tier: "enterprise", contracts: ["healthcare-a"], isolation_level: "none" })), "none");
  });

  void it("first matching rule comes next", () => {
    assert.equal(resolveIsolationLevel(config, tenant({ tier: "enterprise", contracts: ["healthcare-a"], pool: "standard" })), "session");
  });

  void it("rule without a level falls through to its pool", () => {
    // The second rule matches first and names pool standard, so the third rule's "none" is not used.
    assert.equal(resolveIsolationLevel(config, tenant({ tier: "premium", annual_revenue: 50_000 })), "namespace");
  });

  void it("tenant pool wins over the rule's pool", () => {
    assert.equal(resolveIsolationLevel(config, tenant({ tier: "premium", annual_revenue: 50_000, pool: "premium" })), "session");
  });

  void it("pool without a level falls through to proxy", () => {
    assert.equal(resolveIsolationLevel(config, tenant({ pool: "bulk" })), "none");
  });

  void it("proxy level applies last", () => {
    assert.equal(resolveIsolationLevel(config, tenant({ tier: "standard" })), "none");
    assert.equal(resolveIsolationLevel(configWith(), tenant({})), "namespace");
  });

  void it("missing revenue does not match a revenue rule", () => {
    assert.equal(findRoutingRule(config, tenant({ tier: "premium" })), config.tenant_routing?.rules[2]);
    assert.equal(resolveIsolationLevel(config, tenant({ tier: "premium" })), "none");
  });
});

void describe("routingRuleMatches", () => {
  const config = configWith(...ROUTED);
  const [enterprise, premiumRevenue] = config.tenant_routing?.rules ?? [];

  void it("contracts match the tenant id", () => {
    assert.ok(enterprise);
    assert.equal(routingRuleMatches(enterprise, tenant({ id: "healthcare-a", tier: "enterprise" })), true);
  });

  void it("contracts match a tenant contract", () => {
    assert.ok(enterprise);
    assert.equal(routingRuleMatches(enterprise, tenant({ tier: "enterprise", contracts: ["x", "healthcare-a"] })), true);
    assert.equal(routingRuleMatches(enterprise, tenant({ tier: "enterprise", contracts: ["finance-b"] })), false);
  });

  void it("every present condition must hold", () => {
    assert.ok(enterprise);
    assert.ok(premiumRevenue);
    assert.equal(routingRuleMatches(enterprise, tenant({ id: "healthcare-a", tier: "premium" })), false);
    assert.equal(routingRuleMatches(premiumRevenue, tenant({ tier: "premium", annual_revenue: 10_000 })), false);
    assert.equal(routingRuleMatches(premiumRevenue, tenant({ tier: "premium", annual_revenue: 10_001 })), true);
    assert.equal(routingRuleMatches(premiumRevenue, tenant({ annual_revenue: 10_001 })), false);
  });

  void it("empty match applies to every tenant", () => {
    assert.equal(routingRuleMatches({ match: {}, action: {} }, tenant({})), true);
  });
});
