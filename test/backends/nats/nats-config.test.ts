/** From `backends.nats` in a configuration file to a working NATS driver. */

import assert from "node:assert/strict";
import { describe, test } from "node:test";

import { createPubSubDriver } from "../../../src/backends/create-drivers.js";
import type { DeliveredMessage } from "../../../src/backends/driver.js";
import { natsDriverOptionsFromConfig } from "../../../src/backends/nats/nats-config.js";
import { parseConfig } from "../../../src/config/load.js";
import type { BackendConfig } from "../../../src/config/model.js";
import { Collector, message, readText, testLogger, uniqueTenantId } from "./nats-test-helpers.js";
import { SHARED_NATS_ENDPOINT } from "./nats-test-server.js";

describe("NATS configuration", () => {
  test("selects the NATS driver and honours the subject format", async () => {
    const tenantId = uniqueTenantId("config");
    const config = parseConfig(
      [
        "interfaces:",
        "  pubsub: { backend: nats }",
        "backends:",
        "  nats:",
        `    endpoint: "${SHARED_NATS_ENDPOINT}"`,
        "    isolation:",
        "      type: subject_hierarchy",
        '      format: "prism-test.{tenant_id}.{subject}"',
        "",
      ].join("\n"),
      "nats-config.test.yaml",
      {},
    );
    const driver = createPubSubDriver("nats", config, testLogger());
    try {
      const channel = driver.forTenant(tenantId);
      const received = new Collector<DeliveredMessage>();
      const subscription = await channel.subscribe("orders", received.push);
      await channel.publish("orders", message("configured"));

      const [delivered] = await received.waitFor(1);
      assert.equal(driver.name, "nats");
      assert.equal(readText(delivered?.payload ?? new Uint8Array()), "configured");
      assert.equal(driver.maxTopicBytes(tenantId), 1024 - `prism-test.${tenantId}.`.length);
      await subscription.close();
    } finally {
      await driver.close();
    }
  });

  test("maps physical isolation to the default hierarchy", () => {
    const backend: BackendConfig = { endpoint: "127.0.0.1:4222", isolation: { type: "physical" } };
    assert.equal(natsDriverOptionsFromConfig(backend, testLogger()).subjectFormat, "tenant.{tenant_id}.{subject}");
  });

  test("maps timeouts, limits and tenant credentials", () => {
    const options = natsDriverOptionsFromConfig(
      {
        endpoint: "127.0.0.1:4222",
        isolation: { type: "subject_hierarchy", format: "tenant.{tenant_id}.{subject}" },
        operation_timeout: 1500,
        connect_timeout: 2500,
        max_subject_bytes: 512,
        reconnect: { initial_delay: 50, max_delay: 800 },
        tenant_credentials: { enabled: true, secret: "s".repeat(32), user_prefix: "t-" },
      },
      testLogger(),
    );

    assert.equal(options.operationTimeoutMs, 1500);
    assert.equal(options.connectTimeoutMs, 2500);
    assert.equal(options.maxSubjectBytes, 512);
    assert.deepEqual(options.reconnect, { initialDelayMs: 50, maxDelayMs: 800 });
    assert.deepEqual(options.tenantCredentials, { secret: "s".repeat(32), userPrefix: "t-" });
  });

  test("rejects settings the driver cannot honour", () => {
    const base: BackendConfig = {
      endpoint: "127.0.0.1:4222",
      isolation: { type: "subject_hierarchy", format: "tenant.{tenant_id}.{subject}" },
    };
    assert.throws(() => natsDriverOptionsFromConfig({ ...base, ssl_mode: "require" }, testLogger()), TypeError);
    assert.throws(() => natsDriverOptionsFromConfig({ ...base, client_cert_auth: true }, testLogger()), TypeError);
    assert.throws(() => natsDriverOptionsFromConfig({ ...base, database: "x" }, testLogger()), TypeError);
    assert.throws(
      () => natsDriverOptionsFromConfig({ ...base, tenant_credentials: { enabled: true } }, testLogger()),
      /tenant_credentials\.secret is required/,
    );
    assert.equal(
      natsDriverOptionsFromConfig({ ...base, tenant_credentials: { enabled: false, secret: "x" } }, testLogger())
        .tenantCredentials,
      undefined,
    );
  });
});
