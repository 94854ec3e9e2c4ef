import { after, before, describe, it } from "node:test";
import assert from "node:assert/strict";
import type { Redis } from "ioredis";
import type { DeliveredMessage, PubSubChannel } from "../../../src/backends/driver.js";
import { RedisPubSubDriver } from "../../../src/backends/redis/redis-pubsub.js";
import { Code, PrismError } from "../../../src/errors/prism-error.js";
import {
  KEYS,
  PrivateRedis,
  TEST_REDIS,
  nextMatching,
  rawClient,
  silentLogger,
  uniqueTenant,
} from "./redis-test-support.js";

let sequence = 0;

function publish(channel: PubSubChannel, topic: string, messageId = `m${++sequence}`): Promise<void> {
  return channel.publish(topic, {
    payload: Buffer.from(messageId),
    metadata: { origin: "test" },
    messageId,
    timestampMs: Date.now(),
  });
}

/**
 * Publishes the topics, then a sentinel that the subscription matches, and returns the
 * message ids that arrived before the sentinel. Redis delivers one publisher's messages
 * to one subscriber in order, so nothing published earlier can still arrive.
 */
async function deliveredIds(
  received: DeliveredMessage[],
  channel: PubSubChannel,
  topics: readonly string[],
  sentinelTopic: string,
): Promise<string[]> {
  const sentinel = `sentinel-${++sequence}`;
  for (const topic of topics) {
    await publish(channel, topic, `${topic}#${++sequence}`);
  }
  await publish(channel, sentinelTopic, sentinel);
  await nextMatching(received, (message) => message.messageId === sentinel, "the sentinel");

  const index = received.findIndex((message) => message.messageId === sentinel);
  const ids = received.slice(0, index).map((message) => message.topic);
  received.splice(0, index + 1);
  return ids;
}

describe("redis pubsub driver", () => {
  const tenant = uniqueTenant();
  let driver: RedisPubSubDriver;

  before(() => {
    driver = new RedisPubSubDriver({ ...TEST_REDIS, logger: silentLogger() });
  });

  after(async () => {
    await driver.close();
  });

  it("delivers payload, metadata, id and timestamp", async () => {
    const channel = driver.forTenant(tenant);
    const received: DeliveredMessage[] = [];
    const subscription = await channel.subscribe("orders.created", (message) => received.push(message));
    try {
      const timestampMs = Date.now();
      await channel.publish("orders.created", {
        payload: new Uint8Array([0, 1, 255]),
        metadata: { "content-type": "application/octet-stream", trace: "abc" },
        messageId: "id-1",
        timestampMs,
      });

      const message = await nextMatching(received, (item) => item.messageId === "id-1", "the message");
      assert.equal(message.topic, "orders.created");
      assert.deepEqual(new Uint8Array(message.payload), new Uint8Array([0, 1, 255]));
      assert.deepEqual(message.metadata, { "content-type": "application/octet-stream", trace: "abc" });
      assert.equal(message.timestampMs, timestampMs);
    } finally {
      await subscription.close();
    }
  });

  it("delivers an empty payload", async () => {
    const channel = driver.forTenant(tenant);
    const received: DeliveredMessage[] = [];
    const subscription = await channel.subscribe("empty", (message) => received.push(message));
    try {
      await channel.publish("empty", { payload: new Uint8Array(0), metadata: {}, messageId: "empty-1", timestampMs: 1 });
      const message = await nextMatching(received, (item) => item.messageId === "empty-1", "the empty message");
      assert.equal(message.payload.byteLength, 0);
    } finally {
      await subscription.close();
    }
  });

  it("matches * to exactly one token", async () => {
    const channel = driver.forTenant(tenant);
    const received: DeliveredMessage[] = [];
    const subscription = await channel.subscribe("orders.*", (message) => received.push(message));
    try {
      const topics = await deliveredIds(
        received,
        channel,
        ["orders.created", "orders.eu.created", "orders", "ordersx.created", "other.created"],
        "orders.sentinel",
      );
      assert.deepEqual(topics, ["orders.created"]);
    } finally {
      await subscription.close();
    }
  });

  it("matches * in the middle of a pattern", async () => {
    const channel = driver.forTenant(tenant);
    const received: DeliveredMessage[] = [];
    const subscription = await channel.subscribe("orders.*.created", (message) => received.push(message));
    try {
      const topics = await deliveredIds(
        received,
        channel,
        ["orders.eu.created", "orders.eu.west.created", "orders.created", "orders.eu.created.late"],
        "orders.sentinel.created",
      );
      assert.deepEqual(topics, ["orders.eu.created"]);
    } finally {
      await subscription.close();
    }
  });

  it("matches > to one or more tokens", async () => {
    const channel = driver.forTenant(tenant);
    const received: DeliveredMessage[] = [];
    const subscription = await channel.subscribe("orders.>", (message) => received.push(message));
    try {
      const topics = await deliveredIds(
        received,
        channel,
        ["orders.a", "orders.a.b.c", "orders", "ordersx.a"],
        "orders.sentinel",
      );
      assert.deepEqual(topics, ["orders.a", "orders.a.b.c"]);
    } finally {
      await subscription.close();
    }
  });

  it("delivers to every listener of one channel", async () => {
    const channel = driver.forTenant(tenant);
    const first: DeliveredMessage[] = [];
    const second: DeliveredMessage[] = [];
    const one = await channel.subscribe("shared.topic", (message) => first.push(message));
    const two = await channel.subscribe("shared.topic", (message) => second.push(message));
    try {
      await publish(channel, "shared.topic", "shared-1");
      await nextMatching(first, (message) => message.messageId === "shared-1", "the first listener's message");
      await nextMatching(second, (message) => message.messageId === "shared-1", "the second listener's message");

      await one.close();
      await publish(channel, "shared.topic", "shared-2");
      await nextMatching(second, (message) => message.messageId === "shared-2", "the message after one closed");
      assert.equal(first.filter((message) => message.messageId === "shared-2").length, 0, "a closed listener received a message");
    } finally {
      await one.close();
      await two.close();
    }
  });

  it("counts subscriptions exactly", async () => {
    const channel = driver.forTenant(tenant);
    const before = driver.subscriptionCount();
    const one = await channel.subscribe("count.a", () => undefined);
    const two = await channel.subscribe("count.a", () => undefined);
    const three = await channel.subscribe("count.*", () => undefined);
    assert.equal(driver.subscriptionCount(), before + 3);

    await one.close();
    await one.close();
    assert.equal(driver.subscriptionCount(), before + 2);
    await Promise.all([two.close(), three.close()]);
    assert.equal(driver.subscriptionCount(), before);
  });

  it("drops a message that is not an envelope", async () => {
    const raw: Redis = rawClient();
    const channel = driver.forTenant(tenant);
    const received: DeliveredMessage[] = [];
    const subscription = await channel.subscribe("raw.topic", (message) => received.push(message));
    try {
      await raw.publish(KEYS.toPhysical(tenant, "raw.topic"), "not json");
      await raw.publish(KEYS.toPhysical(tenant, "raw.topic"), JSON.stringify({ v: 99 }));
      await publish(channel, "raw.topic", "after-garbage");
      await nextMatching(received, (message) => message.messageId === "after-garbage", "the valid message");
      assert.deepEqual(received.map((message) => message.messageId), ["after-garbage"]);
    } finally {
      await subscription.close();
      raw.disconnect();
    }
  });

  it("publishes on the prefixed channel", async () => {
    const raw: Redis = rawClient();
    const received: string[] = [];
    raw.on("message", (channelName: string) => received.push(channelName));
    await raw.subscribe(KEYS.toPhysical(tenant, "physical.check"));
    try {
      await publish(driver.forTenant(tenant), "physical.check");
      await nextMatching(received, () => true, "the raw delivery");
      assert.deepEqual(received, [`tenant:${tenant}:physical.check`]);
    } finally {
      raw.disconnect();
    }
  });

  it("limits topics to the Redis maximum minus the prefix", () => {
    assert.equal(driver.maxTopicBytes(tenant), 512 * 1024 * 1024 - Buffer.byteLength(`tenant:${tenant}:`));
  });
});

describe("redis pubsub server-side subscriptions", () => {
  let server: PrivateRedis;
  let raw: Redis;
  let driver: RedisPubSubDriver;

  before(async () => {
    server = await PrivateRedis.start();
    raw = rawClient(server.target);
    driver = new RedisPubSubDriver({ ...server.target, logger: silentLogger() });
  });

  after(async () => {
    await driver.close();
    raw.disconnect();
    await server.kill();
  });

  async function numsub(channel: string): Promise<number> {
    const reply = (await raw.call("PUBSUB", "NUMSUB", channel)) as [string, number];
    return Number(reply[1]);
  }

  async function numpat(): Promise<number> {
    return Number(await raw.call("PUBSUB", "NUMPAT"));
  }

  it("unsubscribes a channel after its last listener", async () => {
    const tenant = uniqueTenant();
    const physical = KEYS.toPhysical(tenant, "numsub.topic");
    const channel = driver.forTenant(tenant);

    const one = await channel.subscribe("numsub.topic", () => undefined);
    const two = await channel.subscribe("numsub.topic", () => undefined);
    assert.equal(await numsub(physical), 1, "two listeners must share one Redis subscription");

    await one.close();
    assert.equal(await numsub(physical), 1);
    await two.close();
    assert.equal(await numsub(physical), 0);
  });

  it("unsubscribes a pattern after its last listener", async () => {
    const tenant = uniqueTenant();
    const channel = driver.forTenant(tenant);
    assert.equal(await numpat(), 0);

    const one = await channel.subscribe("numpat.*", () => undefined);
    const two = await channel.subscribe("numpat.>", () => undefined);
    assert.equal(await numpat(), 1, "both patterns map to one Redis glob");

    await one.close();
    assert.equal(await numpat(), 1);
    await two.close();
    assert.equal(await numpat(), 0);
  });

  it("subscribes again after an unsubscribe of the same channel", async () => {
    const tenant = uniqueTenant();
    const channel = driver.forTenant(tenant);
    const received: DeliveredMessage[] = [];

    const first = await channel.subscribe("again", () => undefined);
    const closing = first.close();
    const second = await channel.subscribe("again", (message) => received.push(message));
    await closing;
    try {
      assert.equal(await numsub(KEYS.toPhysical(tenant, "again")), 1);
      await publish(channel, "again", "again-1");
      await nextMatching(received, (message) => message.messageId === "again-1", "the message after resubscribing");
    } finally {
      await second.close();
    }
  });
});

describe("redis pubsub driver lifecycle", () => {
  it("rejects subscribe and publish after close", async () => {
    const driver = new RedisPubSubDriver({ ...TEST_REDIS, logger: silentLogger() });
    const channel = driver.forTenant(uniqueTenant());
    const subscription = await channel.subscribe("lifecycle", () => undefined);
    await driver.close();
    await driver.close();

    assert.equal(driver.health().state, "closed");
    assert.equal(driver.subscriptionCount(), 0);
    await subscription.close();
    for (const call of [channel.subscribe("lifecycle", () => undefined), publish(channel, "lifecycle")]) {
      await assert.rejects(call, (error: unknown) => {
        assert.ok(error instanceof PrismError);
        assert.equal(error.code, Code.Unavailable);
        return true;
      });
    }
  });
});
