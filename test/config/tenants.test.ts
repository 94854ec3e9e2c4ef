import assert from "node:assert/strict";
import { describe, it } from "node:test";

import { parseConfig } from "../../src/config/load.js";
import { assertRejected, parseError, TEST_FILE, yaml } from "./helpers.js";

const MULTI_TENANT = ["deployment:", "  model: multi_tenant"];
const HASH_A = `sha256:${"a".repeat(64)}`;
const HASH_B = `sha256:${"b".repeat(64)}`;

void describe("tenants", () => {
  void it("multi-tenant list is kept with api key defaults", () => {
    const config = parseConfig(
      yaml(
        ...MULTI_TENANT,
        "tenants:",
        "  - id: tenant-a",
        '    namespaces: ["tenant-a-*"]',
        "    tier: premium",
        "    annual_revenue: 250000",
        "    api_keys:",
        "      - name: tenant-a-ci",
        `        hash: ${HASH_A}`,
        '        namespaces: ["tenant-a-staging"]',
        "  - id: tenant-b",
        "    namespaces: [tenant-b-prod]",
      ),
      TEST_FILE,
      {},
    );
    assert.deepEqual(config.tenants, [
      {
        id: "tenant-a",
        namespaces: ["tenant-a-*"],
        tier: "premium",
        annual_revenue: 250000,
        api_keys: [{ name: "tenant-a-ci", hash: HASH_A, namespaces: ["tenant-a-staging"] }],
      },
      { id: "tenant-b", namespaces: ["tenant-b-prod"], api_keys: [] },
    ]);
  });

  void it("invalid tenant id", () => {
    assertRejected(yaml(...MULTI_TENANT, "tenants:", "  - id: Tenant_A", "    namespaces: [a]"), {
      line: 4,
      path: "tenants[0].id",
      mentions: ['invalid tenant id "Tenant_A"', "1 to 63 characters of lowercase letters, digits, '-' and '_'"],
    });
  });

  void it("tenant id longer than 63 characters", () => {
    assertRejected(yaml(...MULTI_TENANT, "tenants:", `  - id: ${"t".repeat(64)}`, "    namespaces: [a]"), {
      line: 4,
      path: "tenants[0].id",
      mentions: ["1 to 63 characters"],
    });
  });

  void it("duplicate tenant id", () => {
    assertRejected(
      yaml(...MULTI_TENANT, "tenants:", "  - id: a", "    namespaces: [a-prod]", "  - id: a", "    namespaces: [b-prod]"),
      { line: 6, path: "tenants[1].id", mentions: ['duplicate tenant id "a"', "tenants[0]", "must be unique"] },
    );
  });

  void it("tenant without namespaces", () => {
    assertRejected(yaml(...MULTI_TENANT, "tenants:", "  - id: a", "    namespaces: []"), {
      line: 5,
      path: "tenants[0].namespaces",
      mentions: ["must contain at least 1 item"],
    });
  });

  void it("invalid namespace pattern", () => {
    assertRejected(yaml(...MULTI_TENANT, "tenants:", "  - id: a", '    namespaces: ["Tenant-A-*"]'), {
      line: 5,
      path: "tenants[0].namespaces[0]",
      mentions: ['invalid namespace pattern "Tenant-A-*"', "lowercase letters"],
    });
  });

  void it("overlapping tenant namespaces", () => {
    assertRejected(
      yaml(
        ...MULTI_TENANT,
        "tenants:",
        "  - id: a",
        '    namespaces: ["tenant-a-*"]',
        "  - id: b",
        "    namespaces:",
        '      - "b-prod"',
        '      - "tenant-*"',
      ),
      {
        line: 9,
        path: "tenants[1].namespaces[1]",
        mentions: ['"tenant-*" overlaps "tenant-a-*" of tenant "a"', "tenants[0].namespaces[0]", "disjoint"],
      },
    );
  });

  void it("catch-all pattern overlaps every tenant", () => {
    assertRejected(
      yaml(...MULTI_TENANT, "tenants:", "  - id: a", "    namespaces: [a-prod]", "  - id: b", '    namespaces: ["*"]'),
      { line: 7, path: "tenants[1].namespaces[0]", mentions: ['"*" overlaps "a-prod"'] },
    );
  });

  void it("disjoint namespaces are accepted", () => {
    const config = parseConfig(
      yaml(...MULTI_TENANT, "tenants:", "  - id: a", '    namespaces: ["a-*", "shared-a"]', "  - id: b", '    namespaces: ["b-*", "x-*-b"]'),
      TEST_FILE,
      {},
    );
    assert.equal(config.tenants.length, 2);
  });

  void it("bad api key hash", () => {
    assertRejected(
      yaml(...MULTI_TENANT, "tenants:", "  - id: a", "    namespaces: [a]", "    api_keys:", "      - name: ci", "        hash: sha256:ABC"),
      { line: 8, path: "tenants[0].api_keys[0].hash", mentions: ['"sha256:" followed by the 64 lowercase hex digits'] },
    );
  });

  void it("duplicate api key name across tenants", () => {
    assertRejected(
      yaml(
        ...MULTI_TENANT,
        "tenants:",
        "  - id: a",
        "    namespaces: [a]",
        "    api_keys:",
        `      - {name: ci, hash: "${HASH_A}"}`,
        "  - id: b",
        "    namespaces: [b]",
        "    api_keys:",
        `      - {name: ci, hash: "${HASH_B}"}`,
      ),
      { line: 11, path: "tenants[1].api_keys[0].name", mentions: ['duplicate API key name "ci"', "tenants[0].api_keys[0]", "unique across the file"] },
    );
  });

  void it("duplicate api key hash", () => {
    assertRejected(
      yaml(
        ...MULTI_TENANT,
        "tenants:",
        "  - id: a",
        "    namespaces: [a]",
        "    api_keys:",
        `      - {name: ci, hash: "${HASH_A}"}`,
        `      - {name: deploy, hash: "${HASH_A}"}`,
      ),
      { line: 8, path: "tenants[0].api_keys[1].hash", mentions: ['already used by API key "ci"'] },
    );
  });

  void it("api key narrowing outside its tenant", () => {
    assertRejected(
      yaml(
        ...MULTI_TENANT,
        "tenants:",
        "  - id: a",
        '    namespaces: ["a-*"]',
        "    api_keys:",
        "      - name: ci",
        `        hash: ${HASH_A}`,
        '        namespaces: ["a-prod", "b-prod"]',
      ),
      { line: 9, path: "tenants[0].api_keys[0].namespaces[1]", mentions: ['"b-prod" is not within the namespaces of tenant "a" (a-*)'] },
    );
  });

  void it("api key may not widen a glob", () => {
    assertRejected(
      yaml(
        ...MULTI_TENANT,
        "tenants:",
        "  - id: a",
        '    namespaces: ["a-prod-*"]',
        "    api_keys:",
        "      - name: ci",
        `        hash: ${HASH_A}`,
        '        namespaces: ["a-*"]',
      ),
      { line: 9, path: "tenants[0].api_keys[0].namespaces[0]", mentions: ["can only narrow"] },
    );
  });

  void it("invalid api key name", () => {
    assertRejected(
      yaml(...MULTI_TENANT, "tenants:", "  - id: a", "    namespaces: [a]", "    api_keys:", '      - name: "ci key"', `        hash: ${HASH_A}`),
      { line: 7, path: "tenants[0].api_keys[0].name", mentions: ['invalid API key name "ci key"'] },
    );
  });
});

void describe("single-tenant deployments", () => {
  void it("single_tenant without tenant_id", () => {
    assertRejected(yaml("deployment:", "  model: single_tenant"), {
      line: 1,
      path: "deployment.tenant_id",
      mentions: ["required when deployment.model is single_tenant"],
    });
  });

  void it("default model with tenants needs tenant_id", () => {
    assertRejected(yaml("tenants:", "  - id: a", "    namespaces: [a]"), {
      line: 2,
      path: "deployment.tenant_id",
      mentions: ["required when deployment.model is single_tenant (the default", "or set deployment.model to multi_tenant"],
    });
  });

  void it("tenants list must hold only the deployment's tenant", () => {
    assertRejected(
      yaml("deployment:", "  model: single_tenant", "  tenant_id: a", "tenants:", "  - id: a", "    namespaces: [a]", "  - id: b", "    namespaces: [b]"),
      { line: 5, path: "tenants", mentions: ['exactly one tenant, "a"', "tenants lists 2"] },
    );
  });

  void it("tenant must match deployment.tenant_id", () => {
    assertRejected(yaml("deployment:", "  model: single_tenant", "  tenant_id: a", "tenants:", "  - id: b", "    namespaces: [b]"), {
      line: 5,
      path: "tenants[0].id",
      mentions: ['tenant "b" differs from deployment.tenant_id "a"'],
    });
  });

  void it("matching tenant list is kept", () => {
    const config = parseConfig(
      yaml("deployment:", "  model: single_tenant", "  tenant_id: a", "tenants:", "  - id: a", '    namespaces: ["a-*"]'),
      TEST_FILE,
      {},
    );
    assert.deepEqual(config.tenants, [{ id: "a", namespaces: ["a-*"], api_keys: [] }]);
  });

  void it("tenant_id outside single_tenant is rejected", () => {
    assertRejected(yaml("deployment:", "  model: hybrid", "  tenant_id: a"), {
      line: 3,
      path: "deployment.tenant_id",
      mentions: ["allowed only when deployment.model is single_tenant", "the model is hybrid"],
    });
  });

  void it("invalid deployment tenant_id", () => {
    assertRejected(yaml("deployment:", "  model: single_tenant", "  tenant_id: Acme Corp"), {
      line: 3,
      path: "deployment.tenant_id",
      mentions: ['invalid tenant id "Acme Corp"'],
    });
  });
});

void describe("pool references", () => {
  const pools = ["proxy_pools:", "  standard: {isolation_level: namespace}", "  premium: {isolation_level: session}"];

  void it("tenant pool must exist in proxy_pools", () => {
    assertRejected(yaml(...MULTI_TENANT, ...pools, "tenants:", "  - id: a", "    namespaces: [a]", "    pool: gold"), {
      line: 9,
      path: "tenants[0].pool",
      mentions: ['unknown pool "gold"', "standard, premium"],
    });
  });

  void it("routing and bridge pools must exist", () => {
    const error = parseError(
      yaml(
        ...MULTI_TENANT,
        ...pools,
        "tenant_routing:",
        "  rules:",
        "    - match: {tier: gold}",
        "      action: {pool: gold}",
        "prism_bridge:",
        "  namespace_routing:",
        '    - {namespace: "x-*", pool: silver}',
      ),
    );
    assert.deepEqual(
      error.issues.map((issue) => [issue.line, issue.path]),
      [
        [9, "tenant_routing.rules[0].action.pool"],
        [12, "prism_bridge.namespace_routing[0].pool"],
      ],
    );
  });

  void it("pools are not checked without proxy_pools", () => {
    const config = parseConfig(
      yaml(...MULTI_TENANT, "tenants:", "  - id: a", "    namespaces: [a]", "    pool: anything"),
      TEST_FILE,
      {},
    );
    assert.equal(config.tenants[0]?.pool, "anything");
  });

  void it("invalid pool name in proxy_pools", () => {
    assertRejected(yaml(...MULTI_TENANT, "proxy_pools:", "  Gold Tier:", "    replicas: 2"), {
      line: 4,
      path: "proxy_pools.Gold Tier",
      mentions: ['invalid pool name "Gold Tier"'],
    });
  });
});
