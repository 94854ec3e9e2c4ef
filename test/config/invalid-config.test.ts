import assert from "node:assert/strict";
import { describe, it } from "node:test";

import { assertRejected, parseError, TEST_FILE, yaml } from "./helpers.js";

const MULTI_TENANT = ["deployment:", "  model: multi_tenant"];

void describe("invalid configuration", () => {
  void it("unknown key names the allowed keys", () => {
    const issue = assertRejected(yaml("proxy:", "  replica: 3"), {
      line: 2,
      path: "proxy.replica",
      mentions: ['unknown key "replica"', 'Did you mean "replicas"?', "listen, admin_listen, shutdown_grace, replicas"],
    });
    assert.equal(issue.column, 3, "points at the key itself");
  });

  void it("unknown keys are reported one per line", () => {
    const error = parseError(yaml("proxy:", "  foo: 1", "  bar: 2"));
    assert.deepEqual(
      error.issues.map((issue) => [issue.line, issue.path]),
      [
        [2, "proxy.foo"],
        [3, "proxy.bar"],
      ],
    );
  });

  void it("unknown top-level section", () => {
    assertRejected(yaml("proxy_pool:", "  standard: {}"), {
      line: 1,
      path: "proxy_pool",
      mentions: ['unknown key "proxy_pool"', "deployment, proxy, backends, interfaces, observability, prism_bridge, proxy_pools, tenant_routing, compliance, tenants"],
    });
  });

  void it("wrong type names expected and found", () => {
    assertRejected(yaml("proxy:", "  replicas: three"), {
      line: 2,
      path: "proxy.replicas",
      mentions: ["expected a number", 'the string "three"'],
    });
  });

  void it("section that is not a mapping", () => {
    assertRejected(yaml("proxy: 5"), { line: 1, path: "proxy", mentions: ["expected a mapping with keys listen, admin_listen", "the number 5"] });
  });

  void it("fractional count is rejected", () => {
    assertRejected(yaml("proxy:", "  replicas: 2.5"), { line: 2, path: "proxy.replicas", mentions: ["expected a whole number", "2.5"] });
  });

  void it("non-positive count is rejected", () => {
    assertRejected(yaml("proxy:", "  replicas: 0"), { line: 2, path: "proxy.replicas", mentions: ["must be greater than 0"] });
  });

  void it("unknown isolation_level in proxy", () => {
    assertRejected(yaml("proxy:", "  isolation_level: strict"), {
      line: 2,
      path: "proxy.isolation_level",
      mentions: ['invalid value "strict"', "Allowed values: none, namespace, session"],
    });
  });

  void it("unknown isolation_level in a pool", () => {
    assertRejected(yaml("proxy_pools:", "  standard:", "    isolation_level: tenant"), {
      line: 3,
      path: "proxy_pools.standard.isolation_level",
      mentions: ["Allowed values: none, namespace, session"],
    });
  });

  void it("unknown isolation_level in a routing rule", () => {
    assertRejected(
      yaml("tenant_routing:", "  rules:", "    - match:", "        tier: gold", "      action:", "        isolation_level: Session"),
      { line: 6, path: "tenant_routing.rules[0].action.isolation_level", mentions: ['"Session"', "none, namespace, session"] },
    );
  });

  void it("unknown isolation_level in a tenant", () => {
    assertRejected(
      yaml(...MULTI_TENANT, "tenants:", "  - id: a", "    namespaces: [a]", "    isolation_level: full"),
      { line: 6, path: "tenants[0].isolation_level", mentions: ["none, namespace, session"] },
    );
  });

  void it("per_session_limit above max_connections", () => {
    assertRejected(
      yaml("proxy:", "  connection_pools:", "    redis:", "      max_connections: 5", "      per_session_limit: 10"),
      {
        line: 5,
        path: "proxy.connection_pools.redis.per_session_limit",
        mentions: ["per_session_limit (10) must be at most max_connections (5)"],
      },
    );
  });

  void it("connections_per_namespace above max_total_connections", () => {
    assertRejected(
      yaml("proxy:", "  connection_pools:", "    nats:", "      connections_per_namespace: 300", "      max_total_connections: 250"),
      {
        line: 4,
        path: "proxy.connection_pools.nats.connections_per_namespace",
        mentions: ["connections_per_namespace (300) must be at most max_total_connections (250)"],
      },
    );
  });

  void it("pool limits inside a routing action are checked", () => {
    assertRejected(
      yaml(
        "tenant_routing:",
        "  rules:",
        "    - match: {tier: standard}",
        "      action:",
        "        connection_pools:",
        "          redis:",
        "            connections_per_namespace: 50",
        "            max_total_connections: 10",
      ),
      { line: 7, path: "tenant_routing.rules[0].action.connection_pools.redis.connections_per_namespace", mentions: ["at most max_total_connections (10)"] },
    );
  });

  void it("bad duration lists the units", () => {
    assertRejected(yaml("proxy:", "  session_management:", "    session_timeout: 5 minutes"), {
      line: 3,
      path: "proxy.session_management.session_timeout",
      mentions: ['invalid duration "5 minutes"', "ms, s, m or h", "bare number of seconds"],
    });
  });

  void it("zero session timeout is rejected", () => {
    assertRejected(yaml("proxy:", "  session_management:", "    session_timeout: 0s"), {
      line: 3,
      path: "proxy.session_management.session_timeout",
      mentions: ["longer than 0"],
    });
  });

  void it("bad memory size lists the units", () => {
    assertRejected(yaml("proxy:", "  resources:", "    memory: 8GB"), {
      line: 3,
      path: "proxy.resources.memory",
      mentions: ['invalid size "8GB"', "Ki, Mi, Gi, Ti", "k, M, G, T"],
    });
  });

  void it("bad cpu amount lists the forms", () => {
    assertRejected(yaml("proxy:", "  resources:", "    cpu: two"), { line: 3, path: "proxy.resources.cpu", mentions: ['"500m"'] });
  });

  void it("max_value_bytes above 64Mi", () => {
    assertRejected(yaml("proxy:", "  request_limits:", "    max_value_bytes: 65Mi"), {
      line: 3,
      path: "proxy.request_limits.max_value_bytes",
      mentions: ["at most 67108864 bytes (64Mi)"],
    });
  });

  void it("format without the name placeholder", () => {
    assertRejected(
      yaml("backends:", "  redis:", "    endpoint: redis:6379", "    isolation:", "      type: keyspace_prefix", '      format: "tenant:{tenant_id}"'),
      {
        line: 6,
        path: "backends.redis.isolation.format",
        mentions: ["{tenant_id} and {key} exactly once each", '"tenant:{tenant_id}:{key}"'],
      },
    );
  });

  void it("format with the tenant part second", () => {
    assertRejected(
      yaml("backends:", "  nats:", "    endpoint: nats:4222", "    isolation:", "      type: subject_hierarchy", '      format: "{subject}.{tenant_id}"'),
      {
        line: 6,
        path: "backends.nats.isolation.format",
        mentions: ["must put {tenant_id} before {subject}", '"tenant.{tenant_id}.{subject}"'],
      },
    );
  });

  void it("format with an unknown placeholder", () => {
    assertRejected(
      yaml("backends:", "  kafka:", "    endpoint: kafka:9092", "    isolation:", "      type: topic_prefix", '      format: "{tenant}.{topic}"'),
      { line: 6, path: "backends.kafka.isolation.format", mentions: ["unknown placeholder {tenant}", "{tenant_id} and {topic}"] },
    );
  });

  void it("format without a separating character", () => {
    assertRejected(
      yaml("backends:", "  redis:", "    endpoint: redis:6379", "    isolation:", "      type: keyspace_prefix", '      format: "t-{tenant_id}-{key}"'),
      { line: 6, path: "backends.redis.isolation.format", mentions: ["separator", "such as ':' or '.'"] },
    );
  });

  void it("isolation type that does not fit the backend", () => {
    assertRejected(
      yaml("backends:", "  redis:", "    endpoint: redis:6379", "    isolation:", "      type: subject_hierarchy"),
      {
        line: 5,
        path: "backends.redis.isolation.type",
        mentions: ['isolation type "subject_hierarchy" does not fit the redis backend', "Allowed types: keyspace_prefix, physical"],
      },
    );
  });

  void it("row-level security on kafka", () => {
    assertRejected(
      yaml("backends:", "  kafka:", "    endpoint: kafka:9092", "    isolation:", "      type: row_level_security"),
      { line: 5, path: "backends.kafka.isolation.type", mentions: ["Allowed types: topic_prefix, physical"] },
    );
  });

  void it("physical isolation on the memory backend", () => {
    assertRejected(yaml("backends:", "  memory:", "    isolation: physical"), {
      line: 3,
      path: "backends.memory.isolation.type",
      mentions: ['"physical" does not fit the memory backend', "Allowed types: keyspace_prefix"],
    });
  });

  void it("isolation string other than physical", () => {
    assertRejected(yaml("backends:", "  redis:", "    endpoint: redis:6379", "    isolation: keyspace_prefix"), {
      line: 4,
      path: "backends.redis.isolation",
      mentions: ['expected "physical" or a mapping with a type key (keyspace_prefix, physical)'],
    });
  });

  void it("tenant_column that is not an identifier", () => {
    assertRejected(
      yaml("backends:", "  postgres:", "    endpoint: pg:5432", "    isolation:", "      type: row_level_security", '      tenant_column: "tenant id; drop"'),
      { line: 6, path: "backends.postgres.isolation.tenant_column", mentions: ["plain SQL identifier"] },
    );
  });

  void it("physical isolation in a multi-tenant deployment", () => {
    assertRejected(yaml(...MULTI_TENANT, "backends:", "  redis:", "    endpoint: redis:6379", "    isolation: physical"), {
      line: 6,
      path: "backends.redis.isolation",
      mentions: ["allowed only when deployment.model is single_tenant", "Use keyspace_prefix"],
    });
  });

  void it("disabled row-level security in a multi-tenant deployment", () => {
    assertRejected(
      yaml(...MULTI_TENANT, "backends:", "  postgres:", "    endpoint: pg:5432", "    isolation:", "      type: row_level_security", "      enable_rls: false"),
      { line: 8, path: "backends.postgres.isolation.enable_rls", mentions: ["allowed only when deployment.model is single_tenant"] },
    );
  });

  void it("interface bound to an unconfigured backend", () => {
    assertRejected(yaml("backends:", "  postgres:", "    endpoint: pg:5432", "interfaces:", "  pubsub:", "    backend: nats"), {
      line: 6,
      path: "interfaces.pubsub.backend",
      mentions: ['backend "nats" is not configured', "backends.nats", "can serve pubsub: memory"],
    });
  });

  void it("interface bound to a backend that cannot serve it", () => {
    assertRejected(yaml("interfaces:", "  keyvalue:", "    backend: kafka"), {
      line: 3,
      path: "interfaces.keyvalue.backend",
      mentions: ['backend "kafka" cannot serve keyvalue', "Allowed backends: memory, redis, postgres"],
    });
  });

  void it("invalid listen address", () => {
    assertRejected(yaml("proxy:", "  listen: localhost"), {
      line: 2,
      path: "proxy.listen",
      mentions: ['invalid listen address "localhost"', "the port is missing", "host:port"],
    });
  });

  void it("admin listener on the data listener's address", () => {
    assertRejected(yaml("proxy:", "  listen: 127.0.0.1:8080", "  admin_listen: 127.0.0.1:8080"), {
      line: 3,
      path: "proxy.admin_listen",
      mentions: ["same address as listen"],
    });
  });

  void it("invalid backend endpoint", () => {
    assertRejected(yaml("backends:", "  redis:", "    endpoint: redis:port"), {
      line: 3,
      path: "backends.redis.endpoint",
      mentions: ['port "port" is not a number', "host:port"],
    });
  });

  void it("invalid endpoint hides credentials", () => {
    const text = yaml("backends:", "  redis:", "    endpoint: admin:s3cret@redis:6379x");
    assertRejected(text, { line: 3, path: "backends.redis.endpoint", mentions: ['"***@redis:6379x"'] });
    assert.ok(!parseError(text).message.includes("s3cret"));
  });

  void it("missing required key points at its mapping", () => {
    const issue = assertRejected(yaml("backends:", "  redis:", "    isolation: physical"), {
      line: 2,
      path: "backends.redis.endpoint",
      mentions: ["required key is missing"],
    });
    assert.equal(issue.column, 3);
  });

  void it("enum value lists the allowed values", () => {
    assertRejected(yaml("observability:", "  log_level: verbose"), {
      line: 2,
      path: "observability.log_level",
      mentions: ["fatal, error, warn, info, debug, trace"],
    });
  });

  void it("literal value lists its only allowed value", () => {
    assertRejected(yaml("deployment:", "  model: multi_tenant", "  control_plane: bridge"), {
      line: 3,
      path: "deployment.control_plane",
      mentions: ["The only allowed value is prism-bridge"],
    });
  });

  void it("unknown deployment model", () => {
    assertRejected(yaml("deployment:", "  model: shared"), {
      line: 2,
      path: "deployment.model",
      mentions: ["single_tenant, multi_tenant, hybrid"],
    });
  });

  void it("audit backend with an unsupported scheme", () => {
    assertRejected(yaml("proxy:", "  audit:", "    audit_backend: ftp://logs"), {
      line: 3,
      path: "proxy.audit.audit_backend",
      mentions: ['"ftp:"', '"stdout"'],
    });
  });

  void it("bad revenue comparison", () => {
    assertRejected(yaml("tenant_routing:", "  rules:", "    - match:", '        annual_revenue: "=>100"', "      action: {pool: standard}"), {
      line: 4,
      path: "tenant_routing.rules[0].match.annual_revenue",
      mentions: ['">100000"', ">, >=, <, <= or ="],
    });
  });

  void it("Kubernetes resource is not a configuration", () => {
    const error = parseError(yaml("apiVersion: prism.io/v1alpha1", "kind: PrismTenant", "metadata:", "  name: tenant-x", "spec:", "  pool: standard"));
    assert.deepEqual(
      error.issues.map((issue) => issue.path),
      ["apiVersion", "kind", "metadata", "spec"],
    );
  });

  void it("alerting rules are not a configuration", () => {
    assertRejected(yaml("alerts:", "  - name: PoolExhausted", "    severity: warning"), {
      line: 1,
      path: "alerts",
      mentions: ['unknown key "alerts"'],
    });
  });

  void it("YAML syntax error names file and line", () => {
    const error = parseError(yaml("proxy:", "  listen: [1, 2", "  replicas: 3"));
    assert.equal(error.issues.length, 1);
    assert.equal(error.issues[0]?.line, 3);
    assert.equal(error.issues[0]?.path, "");
    assert.match(error.message, /^test\.yaml:3:\d+: invalid YAML: /);
  });

  void it("unclosed quote is a syntax error", () => {
    const error = parseError(yaml("proxy:", "  listen: '127.0.0.1:8080"));
    assert.match(error.message, /^test\.yaml:\d+:\d+: invalid YAML: .*quote/);
  });

  void it("duplicate key names the key", () => {
    const error = parseError(yaml("proxy:", "  listen: 127.0.0.1:1", "  listen: 127.0.0.1:2"));
    assert.equal(error.message, 'test.yaml:3:3: duplicate key "listen". A key may appear only once in a mapping');
  });

  void it("top level must be a mapping", () => {
    const error = parseError(yaml("- proxy", "- backends"));
    assert.match(error.message, /^test\.yaml:1:1: the file must be a mapping of sections/);
  });

  void it("unknown alias names the anchor", () => {
    const error = parseError(yaml("proxy:", "  replicas: *count"));
    assert.equal(error.message, 'test.yaml:2:13: unknown YAML alias "*count". Define the anchor "&count" before using it');
  });

  void it("every issue is listed in line order", () => {
    const error = parseError(
      yaml("proxy:", "  replicas: -1", "  isolation_level: strict", "observability:", "  log_level: loud", "bogus: 1"),
    );
    assert.deepEqual(
      error.issues.map((issue) => issue.line),
      [2, 3, 5, 6],
    );
    const lines = error.message.split("\n");
    assert.equal(lines.length, 4);
    for (const line of lines) {
      assert.match(line, new RegExp(`^${TEST_FILE.replace(".", "\\.")}:\\d+:\\d+: [a-z_.]+: `));
    }
  });
});
