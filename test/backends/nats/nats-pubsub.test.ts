/** NatsPubSubDriver against the shared NATS server (PRISM_TEST_NATS_URL, default 127.0.0.1:4222). */

import assert from "node:assert/strict";
import { after, before, describe, test } from "node:test";

import { connect, NoRespondersError, type NatsConnection } from "@nats-io/transport-node";

import type { DeliveredMessage } from "../../../src/backends/driver.js";
import { NatsPubSubDriver } from "../../../src/backends/nats/nats-pubsub.js";
import { DEFAULT_MAX_SUBJECT_BYTES } from "../../../src/backends/nats/nats-options.js";
import { Code, PrismError } from "../../../src/errors/prism-error.js";
import { Collector, message, readText, testLogger, text, uniqueTenantId } from "./nats-test-helpers.js";
import { SHARED_NATS_ENDPOINT } from "./nats-test-server.js";

interface RawMessage {
  subject: string;
  payload: string;
}

describe("NatsPubSubDriver on the shared server", () => {
  let driver: NatsPubSubDriver;
  let raw: NatsConnection;

  before(async () => {
    driver = new NatsPubSubDriver({ endpoint: SHARED_NATS_ENDPOINT, logger: testLogger() });
    raw = await connect({ servers: SHARED_NATS_ENDPOINT, name: "prism-nats-test-raw" });
  });

  after(async () => {
    await driver.close();
    await raw.close();
  });

  /** Subscribes a plain NATS client outside the driver and resolves once the server has processed the SUB. */
  async function rawSubscribe(
    subject: string,
    keep: (subject: string) => boolean,
  ): Promise<{ messages: Collector<RawMessage>; close: () => void }> {
    const messages = new Collector<RawMessage>();
    const subscription = raw.subscribe(subject, {
      callback: (error, received) => {
        if (error === null && keep(received.subject)) {
          messages.push({ subject: received.subject, payload: readText(received.data) });
        }
      },
    });
    await raw.flush();
    return { messages, close: () => subscription.unsubscribe() };
  }

  test("delivers with the tenant-relative topic", async () => {
    const tenant = driver.forTenant(uniqueTenantId("delivery"));
    const received = new Collector<DeliveredMessage>();
    const subscription = await tenant.subscribe("orders.created", received.push);

    await tenant.publish("orders.created", message("first"));
    const [delivered] = await received.waitFor(1);

    assert.equal(delivered?.topic, "orders.created");
    assert.equal(readText(delivered?.payload ?? new Uint8Array()), "first");
    await subscription.close();
  });

  test("round-trips id, timestamp, metadata and raw payload bytes", async () => {
    const tenant = driver.forTenant(uniqueTenantId("headers"));
    const received = new Collector<DeliveredMessage>();
    const subscription = await tenant.subscribe("events", received.push);
    const metadata = {
      "content-type": "application/json",
      "key with spaces": "  value with surrounding spaces  ",
      "colon:key": "line one\r\nline two",
      "ünïcødé-ключ": "значение ✓ 😀",
      "percent%20key": "100%",
      empty: "",
    };
    const payload = new Uint8Array([0, 255, 13, 10, 0x50, 0x55, 0x42, 32]);

    await tenant.publish("events", { payload, metadata, messageId: "message-1", timestampMs: 1_700_000_000_123 });
    const [delivered] = await received.waitFor(1);

    assert.deepEqual(delivered?.metadata, metadata);
    assert.equal(delivered?.messageId, "message-1");
    assert.equal(delivered?.timestampMs, 1_700_000_000_123);
    assert.deepEqual(new Uint8Array(delivered?.payload ?? []), payload);
    await subscription.close();
  });

  test("round-trips an empty payload", async () => {
    const tenant = driver.forTenant(uniqueTenantId("empty"));
    const received = new Collector<DeliveredMessage>();
    const subscription = await tenant.subscribe("empty", received.push);

    await tenant.publish("empty", { payload: new Uint8Array(), metadata: {}, messageId: "m", timestampMs: 1 });
    const [delivered] = await received.waitFor(1);

    assert.equal(delivered?.payload.byteLength, 0);
    assert.deepEqual(delivered?.metadata, {});
    await subscription.close();
  });

  test("matches * and > inside the tenant's subtree", async () => {
    const tenant = driver.forTenant(uniqueTenantId("wildcards"));
    const oneToken = new Collector<DeliveredMessage>();
    const rest = new Collector<DeliveredMessage>();
    const everything = new Collector<DeliveredMessage>();
    const subscriptions = [
      await tenant.subscribe("orders.*", oneToken.push),
      await tenant.subscribe("orders.>", rest.push),
      await tenant.subscribe(">", everything.push),
    ];

    await tenant.publish("orders.eu", message("eu"));
    await tenant.publish("orders.eu.paris", message("paris"));
    await tenant.publish("invoices", message("invoice"));
    // Publishes share one connection, so the last one arriving means the others have.
    await everything.waitFor(3);

    assert.deepEqual(
      oneToken.items.map((item) => item.topic),
      ["orders.eu"],
    );
    assert.deepEqual(
      rest.items.map((item) => item.topic),
      ["orders.eu", "orders.eu.paris"],
    );
    assert.deepEqual(
      everything.items.map((item) => item.topic),
      ["orders.eu", "orders.eu.paris", "invoices"],
    );
    await Promise.all(subscriptions.map((subscription) => subscription.close()));
  });

  test("keeps two tenants apart on the same topic", async () => {
    const alphaId = uniqueTenantId("alpha");
    const betaId = uniqueTenantId("beta");
    const alpha = driver.forTenant(alphaId);
    const beta = driver.forTenant(betaId);
    const alphaReceived = new Collector<DeliveredMessage>();
    const betaReceived = new Collector<DeliveredMessage>();
    const alphaSubscription = await alpha.subscribe(">", alphaReceived.push);
    const betaSubscription = await beta.subscribe(">", betaReceived.push);
    // Everything on the server, narrowed to subjects that name either tenant anywhere.
    const observer = await rawSubscribe(">", (subject) => subject.includes(alphaId) || subject.includes(betaId));

    await alpha.publish("orders", message(`from ${alphaId}`));
    await beta.publish("orders", message(`from ${betaId}`));
    await alpha.publish("barrier", message("alpha barrier"));
    await beta.publish("barrier", message("beta barrier"));
    await alphaReceived.waitFor(2);
    await betaReceived.waitFor(2);
    const seen = await observer.messages.waitFor(4);
    observer.close();

    assert.deepEqual(
      alphaReceived.items.map((item) => readText(item.payload)),
      [`from ${alphaId}`, "alpha barrier"],
    );
    assert.deepEqual(
      betaReceived.items.map((item) => readText(item.payload)),
      [`from ${betaId}`, "beta barrier"],
    );
    assert.deepEqual(seen, [
      { subject: `tenant.${alphaId}.orders`, payload: `from ${alphaId}` },
      { subject: `tenant.${betaId}.orders`, payload: `from ${betaId}` },
      { subject: `tenant.${alphaId}.barrier`, payload: "alpha barrier" },
      { subject: `tenant.${betaId}.barrier`, payload: "beta barrier" },
    ]);
    await alphaSubscription.close();
    await betaSubscription.close();
  });

  test("delivers messages a plain client publishes into the subtree", async () => {
    const tenantId = uniqueTenantId("foreign");
    const tenant = driver.forTenant(tenantId);
    const received = new Collector<DeliveredMessage>();
    const subscription = await tenant.subscribe("inbound.>", received.push);

    raw.publish(`tenant.${tenantId}.inbound.raw`, text("plain"));
    await raw.flush();
    const [delivered] = await received.waitFor(1);

    assert.equal(delivered?.topic, "inbound.raw");
    assert.equal(delivered?.messageId, "");
    assert.deepEqual(delivered?.metadata, {});
    assert.ok((delivered?.timestampMs ?? 0) > 0);
    await subscription.close();
  });

  test("close leaves no interest on the server", async () => {
    const tenantId = uniqueTenantId("unsubscribe");
    const tenant = driver.forTenant(tenantId);
    const initial = driver.subscriptionCount();
    const subscription = await tenant.subscribe("jobs", () => undefined);
    assert.equal(driver.subscriptionCount(), initial + 1);

    await subscription.close();
    await subscription.close();

    assert.equal(driver.subscriptionCount(), initial);
    // The server replies to a request at once with "no responders" when nothing subscribes.
    await assert.rejects(
      raw.request(`tenant.${tenantId}.jobs`, text("anyone?"), { timeout: 2000 }),
      (error: unknown) => error instanceof NoRespondersError || (error as Error).cause instanceof NoRespondersError,
    );
  });

  test("counts subscriptions exactly", async () => {
    const tenant = driver.forTenant(uniqueTenantId("count"));
    const start = driver.subscriptionCount();
    const first = await tenant.subscribe("a", () => undefined);
    const second = await tenant.subscribe("b.>", () => undefined);
    assert.equal(driver.subscriptionCount(), start + 2);

    await first.close();
    assert.equal(driver.subscriptionCount(), start + 1);
    await second.close();
    assert.equal(driver.subscriptionCount(), start);
  });

  test("stops delivering once close resolves", async () => {
    const tenant = driver.forTenant(uniqueTenantId("stop"));
    const closed = new Collector<DeliveredMessage>();
    const open = new Collector<DeliveredMessage>();
    const closing = await tenant.subscribe("ticks", closed.push);
    const staying = await tenant.subscribe("ticks", open.push);

    await closing.close();
    await tenant.publish("ticks", message("after close"));
    await open.waitFor(1);

    assert.equal(closed.items.length, 0);
    await staying.close();
  });

  test("rejects topics that could leave the subtree", async () => {
    const tenant = driver.forTenant(uniqueTenantId("reject"));
    const initial = driver.subscriptionCount();
    const invalid = (error: unknown): boolean => error instanceof PrismError && error.code === Code.InvalidArgument;

    await assert.rejects(tenant.publish("orders created", message("x")), invalid);
    await assert.rejects(tenant.publish("orders\r\nSUB > 1", message("x")), invalid);
    await assert.rejects(tenant.publish("orders.*", message("x")), invalid);
    await assert.rejects(tenant.publish("orders.>", message("x")), invalid);
    await assert.rejects(tenant.publish("", message("x")), invalid);
    await assert.rejects(tenant.publish("orders..eu", message("x")), invalid);
    await assert.rejects(tenant.subscribe("orders.>.eu", () => undefined), invalid);
    await assert.rejects(tenant.subscribe("orders.eu*", () => undefined), invalid);
    await assert.rejects(tenant.subscribe("orders\teu", () => undefined), invalid);
    assert.equal(driver.subscriptionCount(), initial);
  });

  test("limits topics to the subject budget after the prefix", async () => {
    const tenantId = uniqueTenantId("limit");
    const tenant = driver.forTenant(tenantId);
    const limit = driver.maxTopicBytes(tenantId);

    assert.equal(limit, DEFAULT_MAX_SUBJECT_BYTES - `tenant.${tenantId}.`.length);
    await tenant.publish("a".repeat(limit), message("fits"));
    await assert.rejects(
      tenant.publish("a".repeat(limit + 1), message("too long")),
      (error: unknown) => error instanceof PrismError && error.code === Code.InvalidArgument,
    );
  });

  test("rejects a message above the server's max_payload", async () => {
    const tenant = driver.forTenant(uniqueTenantId("payload"));
    const maxPayload = raw.info?.max_payload ?? 1024 * 1024;
    const tooLarge = { ...message(""), payload: new Uint8Array(maxPayload + 1) };

    await assert.rejects(
      tenant.publish("big", tooLarge),
      (error: unknown) => error instanceof PrismError && error.code === Code.ResourceExhausted,
    );
  });

  test("reports ready while connected", () => {
    const health = driver.health();
    assert.equal(health.backend, "nats");
    assert.equal(health.state, "ready");
  });
});

describe("NatsPubSubDriver close", () => {
  test("is idempotent and fails later calls with UNAVAILABLE", async () => {
    const driver = new NatsPubSubDriver({ endpoint: SHARED_NATS_ENDPOINT, logger: testLogger() });
    const tenant = driver.forTenant(uniqueTenantId("close"));
    const received = new Collector<DeliveredMessage>();
    const subscription = await tenant.subscribe("x", received.push);
    assert.equal(driver.subscriptionCount(), 1);

    await Promise.all([driver.close(), driver.close()]);
    await driver.close();
    await subscription.close();

    assert.equal(driver.subscriptionCount(), 0);
    assert.equal(driver.health().state, "closed");
    await assert.rejects(
      tenant.publish("x", message("late")),
      (error: unknown) => error instanceof PrismError && error.code === Code.Unavailable,
    );
    await assert.rejects(
      tenant.subscribe("x", () => undefined),
      (error: unknown) => error instanceof PrismError && error.code === Code.Unavailable,
    );
  });
});
