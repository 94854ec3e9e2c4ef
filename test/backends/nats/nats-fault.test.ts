/** NatsPubSubDriver while its own nats-server is killed and restarted on the same port. */

import assert from "node:assert/strict";
import { after, before, describe, test } from "node:test";

import type { DeliveredMessage } from "../../../src/backends/driver.js";
import { NatsPubSubDriver } from "../../../src/backends/nats/nats-pubsub.js";
import { Code, PrismError } from "../../../src/errors/prism-error.js";
import { Collector, message, readText, testLogger, uniqueTenantId, waitUntil } from "./nats-test-helpers.js";
import { NatsTestServer, freePort } from "./nats-test-server.js";

/** Short enough that a publish failing by timeout is distinguishable from one failing fast. */
const OPERATION_TIMEOUT_MS = 3000;
/** A publish during an outage must fail well before the operation timeout. */
const FAST_FAILURE_MS = 500;
const RECONNECT = { initialDelayMs: 20, maxDelayMs: 200 };

function isUnavailable(error: unknown): boolean {
  return error instanceof PrismError && error.code === Code.Unavailable;
}

describe("NatsPubSubDriver when the server dies", () => {
  let server: NatsTestServer;
  let driver: NatsPubSubDriver;

  before(async () => {
    server = await NatsTestServer.start();
    driver = new NatsPubSubDriver({
      endpoint: server.endpoint,
      operationTimeoutMs: OPERATION_TIMEOUT_MS,
      reconnect: RECONNECT,
      logger: testLogger(),
    });
  });

  after(async () => {
    await driver.close();
    await server.stop();
  });

  test("fails publishes fast and resumes subscriptions after a restart", async () => {
    const tenant = driver.forTenant(uniqueTenantId("fault"));
    const received = new Collector<DeliveredMessage>();
    const subscription = await tenant.subscribe("telemetry.>", received.push);

    for (let index = 0; index < 20; index++) {
      await tenant.publish(`telemetry.before`, message(`before ${index}`));
    }
    await received.waitFor(20);

    await server.kill();

    const started = Date.now();
    const failures = await Promise.allSettled(
      Array.from({ length: 10 }, (_, index) => tenant.publish("telemetry.during", message(`during ${index}`))),
    );
    const elapsedMs = Date.now() - started;

    for (const failure of failures) {
      assert.equal(failure.status, "rejected");
      const reason: unknown = failure.status === "rejected" ? failure.reason : undefined;
      assert.ok(isUnavailable(reason), `expected UNAVAILABLE, got ${String(reason)}`);
    }
    assert.ok(elapsedMs < FAST_FAILURE_MS, `publishes took ${elapsedMs} ms to fail`);
    const reason = failures[0]?.status === "rejected" ? (failures[0].reason as PrismError) : undefined;
    assert.match(reason?.rawMessage ?? "", new RegExp(`nats ${server.endpoint} is unavailable`));
    await waitUntil(() => driver.health().state === "degraded", 2000, "health to turn degraded");

    // Once the driver has seen the disconnect, calls fail without touching the socket.
    const quick = Date.now();
    await assert.rejects(tenant.publish("telemetry.during", message("late")), isUnavailable);
    await assert.rejects(tenant.subscribe("other", () => undefined), isUnavailable);
    assert.ok(Date.now() - quick < FAST_FAILURE_MS);

    await server.restart();
    await waitUntil(() => driver.health().state === "ready", 5000, "the driver to reconnect");

    await tenant.publish("telemetry.after", message("after restart"));
    const items = await received.waitFor(21);
    assert.equal(readText(items[20]?.payload ?? new Uint8Array()), "after restart");
    assert.equal(items[20]?.topic, "telemetry.after");
    assert.equal(driver.subscriptionCount(), 1);
    await subscription.close();
  });
});

describe("NatsPubSubDriver before the server exists", () => {
  test("fails calls, then connects once the server starts", async () => {
    const port = await freePort();
    const driver = new NatsPubSubDriver({
      endpoint: `127.0.0.1:${port}`,
      operationTimeoutMs: 300,
      reconnect: RECONNECT,
      logger: testLogger(),
    });
    const tenant = driver.forTenant(uniqueTenantId("late"));
    let server: NatsTestServer | undefined;

    try {
      assert.equal(driver.health().state, "connecting");
      await assert.rejects(tenant.publish("x", message("too early")), (error: unknown) => {
        assert.ok(isUnavailable(error));
        assert.match((error as PrismError).rawMessage, /connection was refused/);
        assert.match((error as PrismError).rawMessage, /was not published/);
        return true;
      });

      server = await NatsTestServer.start({ port });
      await waitUntil(() => driver.health().state === "ready", 5000, "the driver to connect");
      await tenant.publish("x", message("on time"));
    } finally {
      await driver.close();
      await server?.stop();
    }
    assert.equal(driver.health().state, "closed");
  });
});
