import assert from "node:assert/strict";
import { readdir } from "node:fs/promises";
import { join } from "node:path";
import { describe, it } from "node:test";

import { loadConfigFile } from "../../src/config/load.js";
import { EXAMPLES_DIR } from "./helpers.js";

const EXPECTED_EXAMPLES = [
  "enterprise-healthcare-single-tenant-session.yaml",
  "hybrid-platform-tiers.yaml",
  "hybrid-tenant-routing.yaml",
  "isolation-namespace.yaml",
  "isolation-none.yaml",
  "isolation-session.yaml",
  "multi-tenant.yaml",
  "saas-startup-multi-tenant-namespace.yaml",
  "single-tenant.yaml",
];

function load(name: string) {
  return loadConfigFile(join(EXAMPLES_DIR, name), {});
}

void describe("configuration examples", () => {
  void it("contains every example", async () => {
    const files = (await readdir(EXAMPLES_DIR)).filter((file) => file.endsWith(".yaml")).sort();
    assert.deepEqual(files, EXPECTED_EXAMPLES);
  });

  for (const name of EXPECTED_EXAMPLES) {
    void it(`loads ${name}`, async () => {
      const config = await load(name);
      assert.ok(config.proxy.listen.length > 0);
    });
  }

  void it("single-tenant gets one tenant with every namespace", async () => {
    const config = await load("single-tenant.yaml");
    assert.deepEqual(config.deployment, { model: "single_tenant", tenant_id: "enterprise-customer-a" });
    assert.deepEqual(config.tenants, [{ id: "enterprise-customer-a", namespaces: ["*"], api_keys: [] }]);
    assert.deepEqual(config.proxy.resources, { cpu: 4, memory: 8 * 2 ** 30 });
    assert.deepEqual(config.proxy.cluster, { mode: "dedicated", load_balancer: "haproxy" });
    assert.deepEqual(config.backends.redis?.isolation, { type: "physical" });
    assert.equal(config.backends.postgres?.database, "tenant_a_db");
    assert.deepEqual(config.interfaces, { keyvalue: { backend: "redis" }, pubsub: { backend: "nats" } });
    assert.equal(config.observability.logs_endpoint, "loki.tenant-a.svc:3100");
  });

  void it("multi-tenant keeps pools, routing and isolation", async () => {
    const config = await load("multi-tenant.yaml");
    assert.equal(config.deployment.model, "multi_tenant");
    assert.equal(config.deployment.control_plane, "prism-bridge");
    assert.deepEqual(config.tenants, []);
    assert.equal(config.prism_bridge?.namespace_routing?.length, 3);
    assert.deepEqual(config.prism_bridge?.namespace_routing?.[2], { namespace: "premium-*", pool: "premium", weight: 1 });
    assert.deepEqual(config.proxy_pools?.["premium"], { replicas: 5, resources: { cpu: 4, memory: 8 * 2 ** 30 }, isolation_level: "session" });
    assert.deepEqual(config.backends.nats?.isolation, { type: "subject_hierarchy", format: "tenant.{tenant_id}.{subject}" });
    assert.deepEqual(config.backends.postgres?.isolation, { type: "row_level_security", enable_rls: true, tenant_column: "tenant_id" });
    assert.deepEqual(config.backends.kafka?.isolation, { type: "topic_prefix", format: "{tenant_id}.{topic}" });
    assert.equal(config.observability.tenant_label, "prism_tenant_id");
  });

  void it("hybrid routing parses revenue comparisons", async () => {
    const config = await load("hybrid-tenant-routing.yaml");
    const [enterprise, premium] = config.tenant_routing?.rules ?? [];
    assert.deepEqual(enterprise?.match, { tier: "enterprise", annual_revenue: { op: ">", value: 100000 } });
    assert.deepEqual(enterprise?.action, { deployment: "single_tenant", pool: "dedicated" });
    assert.equal(premium?.action.isolation_level, "session");
  });

  void it("isolation examples keep their pool settings", async () => {
    const none = await load("isolation-none.yaml");
    assert.equal(none.proxy.isolation_level, "none");
    assert.deepEqual(none.proxy.connection_pools?.nats, { max_connections: 50, shared: true });
    assert.deepEqual(none.deployment, { model: "single_tenant", tenant_id: "default" });

    const namespace = await load("isolation-namespace.yaml");
    assert.deepEqual(namespace.proxy.resource_limits?.per_namespace, { cpu: 1, memory: 2 * 2 ** 30, max_rps: 1000 });
    assert.equal(namespace.proxy.connection_pools?.redis?.max_total_connections, 500);

    const session = await load("isolation-session.yaml");
    assert.deepEqual(session.proxy.session_management, {
      connection_reuse: false,
      max_sessions: 1000,
      session_timeout: 300_000,
      max_sessions_per_principal: 100,
    });
    assert.equal(session.proxy.connection_pools?.redis?.per_session_limit, 5);
    assert.equal(session.proxy.audit?.log_session_lifecycle, true);
  });

  void it("healthcare example defaults postgres to row-level security", async () => {
    const config = await load("enterprise-healthcare-single-tenant-session.yaml");
    assert.deepEqual(config.backends.postgres, {
      endpoint: "postgres.healthcare-a.internal:5432",
      isolation: { type: "row_level_security", enable_rls: true, tenant_column: "tenant_id" },
      ssl_mode: "require",
      client_cert_auth: true,
    });
    assert.equal(config.proxy.audit?.audit_backend, "s3://audit-logs/healthcare-a/");
    assert.deepEqual(config.compliance, { frameworks: ["HIPAA", "SOC2"], pii_encryption: true, audit_retention_days: 2555 });
    assert.deepEqual(config.interfaces, { keyvalue: { backend: "postgres" }, pubsub: { backend: "memory" } });
  });

  void it("platform tiers keep per-rule connection pools", async () => {
    const config = await load("hybrid-platform-tiers.yaml");
    const [enterprise, premium] = config.tenant_routing?.rules ?? [];
    assert.deepEqual(enterprise?.match.contracts, ["healthcare-a", "finance-b"]);
    assert.deepEqual(premium?.match.annual_revenue, { op: ">", value: 10000 });
    assert.deepEqual(premium?.action.connection_pools, { redis: { connections_per_namespace: 20 } });
  });

  void it("startup example serves both interfaces from redis", async () => {
    const config = await load("saas-startup-multi-tenant-namespace.yaml");
    assert.deepEqual(config.interfaces, { keyvalue: { backend: "redis" }, pubsub: { backend: "redis" } });
    assert.deepEqual(config.proxy.resource_limits?.per_namespace, { cpu: 0.5, memory: 2 ** 30, max_rps: 500 });
  });
});
