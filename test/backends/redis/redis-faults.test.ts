import { after, before, describe, it } from "node:test";
import assert from "node:assert/strict";
import { setImmediate as nextMacrotask } from "node:timers/promises";
import type { Redis } from "ioredis";
import type { DeliveredMessage } from "../../../src/backends/driver.js";
import { RedisKeyValueDriver } from "../../../src/backends/redis/redis-keyvalue.js";
import type { RedisDriverOptions } from "../../../src/backends/redis/redis-options.js";
import { RedisPubSubDriver } from "../../../src/backends/redis/redis-pubsub.js";
import { Code, PrismError, type ErrorReason } from "../../../src/errors/prism-error.js";
import {
  PrivateRedis,
  captureLogger,
  freePort,
  rawClient,
  uniqueTenant,
  waitUntil,
  type CapturedLog,
} from "./redis-test-support.js";

const COMMAND_TIMEOUT_MS = 500;
/** Slack for scheduling on a loaded machine, on top of the timeout under test. */
const SLACK_MS = 700;

function faultOptions(target: { host: string; port: number }, logger: RedisDriverOptions["logger"]): RedisDriverOptions {
  return {
    ...target,
    commandTimeoutMs: COMMAND_TIMEOUT_MS,
    connectTimeoutMs: 500,
    reconnect: { initialDelayMs: 20, maxDelayMs: 200 },
    logger,
  };
}

/** Awaits the call's rejection and returns the PrismError with the time it took. */
async function failure(call: Promise<unknown>): Promise<{ error: PrismError; elapsedMs: number }> {
  const startedAt = Date.now();
  try {
    await call;
  } catch (error: unknown) {
    assert.ok(error instanceof PrismError, `expected a PrismError, got ${String(error)}`);
    return { error, elapsedMs: Date.now() - startedAt };
  }
  assert.fail("the call succeeded against an unavailable server");
}

function assertUnavailable(error: PrismError, reason: ErrorReason, message: RegExp): void {
  assert.equal(error.code, Code.Unavailable, error.message);
  assert.equal(error.reason, reason, error.message);
  assert.match(error.rawMessage, message);
}

function stateChanges(log: CapturedLog): string[] {
  return log.messages().filter((message) => message.startsWith("redis connection "));
}

describe("redis drivers when the server fails", () => {
  const tenant = uniqueTenant();
  let server: PrivateRedis;
  let admin: Redis;
  let keyValue: RedisKeyValueDriver;
  let pubSub: RedisPubSubDriver;
  let log: CapturedLog;
  let endpoint: string;

  before(async () => {
    server = await PrivateRedis.start();
    endpoint = `127.0.0.1:${server.port}`;
    admin = rawClient(server.target);
    admin.on("error", () => undefined);
    const captured = captureLogger();
    log = captured.log;
    keyValue = new RedisKeyValueDriver(faultOptions(server.target, captured.logger));
    pubSub = new RedisPubSubDriver(faultOptions(server.target, captured.logger));
  });

  after(async () => {
    await keyValue.close();
    await pubSub.close();
    admin.disconnect();
    await server.kill();
  });

  it("times out calls while the server is paused", async () => {
    const store = keyValue.forTenant(tenant);
    await store.set("k", Buffer.from("v"));

    await admin.call("CLIENT", "PAUSE", "1500", "ALL");
    const read = await failure(store.get("k"));
    assertUnavailable(read.error, "BACKEND_TIMEOUT", new RegExp(`^redis ${endpoint} is unavailable: no reply within 500 ms; retry the request$`));
    assert.ok(read.elapsedMs >= COMMAND_TIMEOUT_MS - 50, `failed after ${read.elapsedMs} ms, before the timeout`);
    assert.ok(read.elapsedMs < COMMAND_TIMEOUT_MS + SLACK_MS, `failed after ${read.elapsedMs} ms`);
    assert.equal(keyValue.health().state, "degraded");
    assert.match(keyValue.health().detail ?? "", /commands time out/);

    const write = await failure(store.set("k", Buffer.from("w")));
    assertUnavailable(write.error, "BACKEND_TIMEOUT", /; the request may have been applied$/);

    // A PING of another client returns once the pause is over.
    const waiter = rawClient(server.target);
    await waiter.ping();
    waiter.disconnect();

    assert.equal(Buffer.from((await store.get("k")) ?? []).toString(), "w", "the timed-out write ran after the pause");
    assert.equal(keyValue.health().state, "ready");
  });

  it("fails fast while the server is down and recovers after a restart", async () => {
    const store = keyValue.forTenant(tenant);
    const channel = pubSub.forTenant(tenant);
    const received: DeliveredMessage[] = [];
    const subscription = await channel.subscribe("fault.*", (message) => received.push(message));
    await store.set("before", Buffer.from("1"));

    await server.kill();
    await waitUntil(() => keyValue.health().state === "degraded", "the key-value driver to notice the crash");
    await waitUntil(() => pubSub.health().state === "degraded", "the PubSub driver to notice the crash");

    const read = await failure(store.get("before"));
    assertUnavailable(read.error, "BACKEND_UNAVAILABLE", new RegExp(`^redis ${endpoint} is unavailable: not connected \\(.+\\); the request was not applied$`));
    assert.ok(read.elapsedMs < SLACK_MS, `a call on a broken connection took ${read.elapsedMs} ms`);

    const publish = await failure(channel.publish("fault.x", { payload: new Uint8Array(), metadata: {}, messageId: "lost", timestampMs: 1 }));
    assertUnavailable(publish.error, "BACKEND_UNAVAILABLE", /the request was not applied$/);
    const subscribe = await failure(channel.subscribe("fault.other", () => undefined));
    assertUnavailable(subscribe.error, "BACKEND_UNAVAILABLE", /not connected/);
    assert.equal(pubSub.subscriptionCount(), 1, "a failed subscribe must not count");

    await server.restart();
    await waitUntil(() => keyValue.health().state === "ready", "the key-value driver to reconnect");
    await waitUntil(() => pubSub.health().state === "ready", "the PubSub driver to reconnect");

    await store.set("after", Buffer.from("2"));
    assert.equal(Buffer.from((await store.get("after")) ?? []).toString(), "2");

    // The driver subscribes again on reconnect, so the existing subscription keeps working.
    await waitUntil(async () => {
      await channel.publish("fault.y", { payload: new Uint8Array(), metadata: {}, messageId: "after", timestampMs: 1 });
      return received.some((message) => message.messageId === "after");
    }, "a message on the subscription made before the crash");
    await subscription.close();
    assert.equal(pubSub.subscriptionCount(), 0);

    const changes = stateChanges(log);
    assert.ok(changes.includes("redis connection ready -> degraded"), changes.join("\n"));
    assert.ok(changes.includes("redis connection degraded -> ready"), changes.join("\n"));
    const degraded = log.records.find((record) => record["msg"] === "redis connection ready -> degraded");
    assert.equal(degraded?.["level"], 40, "a lost connection logs at warn");
  });

  it("reports a write in flight during a crash as maybe applied", async () => {
    const store = keyValue.forTenant(tenant);
    await store.exists("warm-up");

    await admin.call("CLIENT", "PAUSE", "5000", "ALL");
    const pending = failure(store.set("in-flight", Buffer.from("x")));
    // One macrotask lets ioredis write the command to the socket.
    await nextMacrotask();
    await server.kill();

    const { error } = await pending;
    assertUnavailable(error, "BACKEND_UNAVAILABLE", /the connection was lost before the reply; the request may have been applied$/);
    await server.restart();
    await waitUntil(() => keyValue.health().state === "ready", "the key-value driver to reconnect");
  });
});

describe("redis driver without a server at start", () => {
  it("fails after the timeout and connects once the server starts", async () => {
    const port = await freePort();
    const { logger, log } = captureLogger();
    const driver = new RedisKeyValueDriver(faultOptions({ host: "127.0.0.1", port }, logger));
    let server: PrivateRedis | undefined;
    try {
      const store = driver.forTenant(uniqueTenant());
      const first = await failure(store.get("k"));
      assertUnavailable(first.error, "BACKEND_UNAVAILABLE", /is unavailable: not connected \(.*ECONNREFUSED.*\); the request was not applied$/);
      assert.ok(first.elapsedMs < COMMAND_TIMEOUT_MS + SLACK_MS, `failed after ${first.elapsedMs} ms`);
      assert.equal(driver.health().state, "degraded");

      server = await PrivateRedis.start(port);
      await waitUntil(() => driver.health().state === "ready", "the first connection");
      assert.equal(await store.get("k"), undefined);
      assert.ok(stateChanges(log).includes("redis connection connecting -> degraded"));
    } finally {
      await driver.close();
      await server?.kill();
    }
    assert.ok(stateChanges(log).includes("redis connection ready -> closed"));
  });
});
