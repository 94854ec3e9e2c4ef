import assert from "node:assert/strict";
import { describe, it } from "node:test";

import {
  DEFAULT_ADMIN_LISTEN,
  DEFAULT_LISTEN,
  DEFAULT_MAX_VALUE_BYTES,
  DEFAULT_SHUTDOWN_GRACE_MS,
} from "../../src/config/defaults.js";
import { parseConfig } from "../../src/config/load.js";
import { TEST_FILE, yaml } from "./helpers.js";

void describe("configuration defaults", () => {
  void it("empty file is a default single-tenant deployment", () => {
    const config = parseConfig("", TEST_FILE, {});

    assert.deepEqual(config.deployment, { model: "single_tenant", tenant_id: "default" });
    assert.deepEqual(config.tenants, [{ id: "default", namespaces: ["*"], api_keys: [] }]);
    assert.deepEqual(config.interfaces, { keyvalue: { backend: "memory" }, pubsub: { backend: "memory" } });
    assert.deepEqual(config.backends, { memory: { isolation: { type: "keyspace_prefix", format: "tenant:{tenant_id}:{key}" } } });
    assert.deepEqual(config.observability, { tenant_label: "prism_tenant_id", log_level: "info" });
  });

  void it("proxy defaults are complete", () => {
    const config = parseConfig("", TEST_FILE, {});

    assert.deepEqual(config.proxy, {
      listen: DEFAULT_LISTEN,
      admin_listen: DEFAULT_ADMIN_LISTEN,
      shutdown_grace: DEFAULT_SHUTDOWN_GRACE_MS,
      isolation_level: "namespace",
      session_management: {
        connection_reuse: true,
        max_sessions: 10_000,
        session_timeout: 300_000,
        max_sessions_per_principal: 100,
      },
      request_limits: {
        max_key_bytes: 1024,
        max_value_bytes: DEFAULT_MAX_VALUE_BYTES,
        max_batch_size: 1000,
        max_subscriptions_per_session: 64,
        max_topic_bytes: 256,
        max_metadata_entries: 64,
        max_metadata_bytes: 16 * 1024,
      },
    });
    assert.equal(DEFAULT_MAX_VALUE_BYTES, 1024 * 1024);
  });

  void it("explicit zero and false are kept", () => {
    const config = parseConfig(
      yaml(
        "proxy:",
        "  shutdown_grace: 0",
        "  session_management:",
        "    connection_reuse: false",
        "  request_limits:",
        "    max_metadata_entries: 0",
        "    max_metadata_bytes: 0",
      ),
      TEST_FILE,
      {},
    );
    assert.equal(config.proxy.shutdown_grace, 0);
    assert.equal(config.proxy.session_management.connection_reuse, false);
    assert.equal(config.proxy.session_management.max_sessions, 10_000);
    assert.equal(config.proxy.request_limits.max_metadata_entries, 0);
    assert.equal(config.proxy.request_limits.max_metadata_bytes, 0);
  });

  void it("quantities are converted once", () => {
    const config = parseConfig(
      yaml(
        "proxy:",
        "  shutdown_grace: 1m",
        "  session_management:",
        "    session_timeout: 90",
        "  request_limits:",
        "    max_value_bytes: 4Mi",
        "    max_key_bytes: 2Ki",
      ),
      TEST_FILE,
      {},
    );
    assert.equal(config.proxy.shutdown_grace, 60_000);
    assert.equal(config.proxy.session_management.session_timeout, 90_000);
    assert.equal(config.proxy.request_limits.max_value_bytes, 4 * 2 ** 20);
    assert.equal(config.proxy.request_limits.max_key_bytes, 2048);
  });

  void it("backend isolation defaults per backend", () => {
    const config = parseConfig(
      yaml(
        "deployment:",
        "  model: multi_tenant",
        "backends:",
        "  redis:",
        "    endpoint: redis:6379",
        "  nats:",
        "    endpoint: nats:4222",
        "  postgres:",
        "    endpoint: postgres:5432",
        "  kafka:",
        "    endpoint: kafka:9092",
      ),
      TEST_FILE,
      {},
    );
    assert.deepEqual(config.backends.redis?.isolation, { type: "keyspace_prefix", format: "tenant:{tenant_id}:{key}" });
    assert.deepEqual(config.backends.nats?.isolation, { type: "subject_hierarchy", format: "tenant.{tenant_id}.{subject}" });
    assert.deepEqual(config.backends.postgres?.isolation, { type: "row_level_security", enable_rls: true, tenant_column: "tenant_id" });
    assert.deepEqual(config.backends.kafka?.isolation, { type: "topic_prefix", format: "{tenant_id}.{topic}" });
  });

  void it("isolation with only a type gets the default format", () => {
    const config = parseConfig(
      yaml("backends:", "  redis:", "    endpoint: redis:6379", "    isolation:", "      type: keyspace_prefix"),
      TEST_FILE,
      {},
    );
    assert.deepEqual(config.backends.redis?.isolation, { type: "keyspace_prefix", format: "tenant:{tenant_id}:{key}" });
  });

  void it("interfaces default by configured backends", () => {
    const cases: [string[], string, string][] = [
      [[], "memory", "memory"],
      [["redis"], "redis", "redis"],
      [["postgres"], "postgres", "memory"],
      [["nats"], "memory", "nats"],
      [["kafka"], "memory", "memory"],
      [["redis", "nats", "postgres"], "redis", "nats"],
      [["postgres", "kafka"], "postgres", "memory"],
    ];
    for (const [backends, keyvalue, pubsub] of cases) {
      const sections = backends.flatMap((backend) => [`  ${backend}:`, `    endpoint: ${backend}:1000`]);
      const lines = sections.length === 0 ? [] : ["backends:", ...sections];
      const config = parseConfig(yaml(...lines), TEST_FILE, {});
      assert.equal(config.interfaces.keyvalue.backend, keyvalue, `keyvalue with ${backends.join(", ")}`);
      assert.equal(config.interfaces.pubsub.backend, pubsub, `pubsub with ${backends.join(", ")}`);
    }
  });

  void it("explicit interfaces win over defaults", () => {
    const config = parseConfig(
      yaml(
        "backends:",
        "  redis:",
        "    endpoint: redis:6379",
        "  kafka:",
        "    endpoint: kafka:9092",
        "interfaces:",
        "  keyvalue:",
        "    backend: memory",
        "  pubsub:",
        "    backend: kafka",
      ),
      TEST_FILE,
      {},
    );
    assert.deepEqual(config.interfaces, { keyvalue: { backend: "memory" }, pubsub: { backend: "kafka" } });
  });
});
