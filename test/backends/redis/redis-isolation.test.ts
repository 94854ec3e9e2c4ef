import { after, before, describe, it } from "node:test";
import assert from "node:assert/strict";
import type { Redis } from "ioredis";
import type { DeliveredMessage } from "../../../src/backends/driver.js";
import { RedisKeyValueDriver } from "../../../src/backends/redis/redis-keyvalue.js";
import { RedisPubSubDriver } from "../../../src/backends/redis/redis-pubsub.js";
import {
  TEST_REDIS,
  deleteTenantKeys,
  nextMatching,
  rawClient,
  scanTenantKeys,
  silentLogger,
  uniqueTenant,
} from "./redis-test-support.js";

describe("redis isolation between tenants", () => {
  const tenantA = uniqueTenant();
  const tenantB = uniqueTenant();
  let keyValue: RedisKeyValueDriver;
  let pubSub: RedisPubSubDriver;
  let raw: Redis;

  before(() => {
    keyValue = new RedisKeyValueDriver({ ...TEST_REDIS, logger: silentLogger() });
    pubSub = new RedisPubSubDriver({ ...TEST_REDIS, logger: silentLogger() });
    raw = rawClient();
  });

  after(async () => {
    await deleteTenantKeys(raw, tenantA);
    await deleteTenantKeys(raw, tenantB);
    await keyValue.close();
    await pubSub.close();
    raw.disconnect();
  });

  it("keeps the same key apart", async () => {
    const a = keyValue.forTenant(tenantA);
    const b = keyValue.forTenant(tenantB);
    await a.set("shared", Buffer.from("from a"));
    await b.set("shared", Buffer.from("from b"));

    assert.deepEqual(await scanTenantKeys(raw, tenantA), [`tenant:${tenantA}:shared`]);
    assert.deepEqual(await scanTenantKeys(raw, tenantB), [`tenant:${tenantB}:shared`]);
    assert.equal(Buffer.from((await a.get("shared")) ?? []).toString(), "from a");
    assert.equal(Buffer.from((await b.get("shared")) ?? []).toString(), "from b");

    assert.equal(await a.delete("shared"), true);
    assert.equal(await b.exists("shared"), true, "A's delete removed B's key");
    assert.deepEqual(await scanTenantKeys(raw, tenantA), []);
    await b.delete("shared");
  });

  it("keeps prefix-looking keys inside the writer's prefix", async () => {
    const a = keyValue.forTenant(tenantA);
    const forged = `tenant:${tenantB}:secret`;
    await a.set(forged, Buffer.from("x"));

    assert.deepEqual(await scanTenantKeys(raw, tenantB), [], "a key of A landed under B's prefix");
    assert.deepEqual(await scanTenantKeys(raw, tenantA), [`tenant:${tenantA}:${forged}`]);
    assert.equal(await keyValue.forTenant(tenantB).exists("secret"), false);
    await a.delete(forged);
  });

  it("keeps TTL and batch operations apart", async () => {
    const a = keyValue.forTenant(tenantA);
    const b = keyValue.forTenant(tenantB);
    await b.batchSet([
      { key: "k1", value: new Uint8Array([1]) },
      { key: "k2", value: new Uint8Array([2]) },
    ]);

    assert.equal(await a.expire("k1", 0), false);
    assert.equal(await a.persist("k1"), false);
    assert.deepEqual(await a.batchGet(["k1", "k2"]), [undefined, undefined]);
    assert.deepEqual(await a.batchDelete(["k1", "k2"]), [false, false]);
    assert.deepEqual(await scanTenantKeys(raw, tenantA), []);
    assert.deepEqual(await scanTenantKeys(raw, tenantB), [`tenant:${tenantB}:k1`, `tenant:${tenantB}:k2`]);
    await b.batchDelete(["k1", "k2"]);
  });

  it("never delivers one tenant's messages to another", async () => {
    const a = pubSub.forTenant(tenantA);
    const b = pubSub.forTenant(tenantB);
    const receivedByB: DeliveredMessage[] = [];
    const everything = await b.subscribe(">", (message) => receivedByB.push(message));
    const sameTopic = await b.subscribe("orders.created", (message) => receivedByB.push(message));
    try {
      await a.publish("orders.created", { payload: new Uint8Array([1]), metadata: {}, messageId: "from-a", timestampMs: 1 });
      await b.publish("orders.created", { payload: new Uint8Array([2]), metadata: {}, messageId: "from-b", timestampMs: 2 });

      await nextMatching(receivedByB, (message) => message.messageId === "from-b", "B's own message");
      assert.deepEqual(
        receivedByB.filter((message) => message.messageId === "from-a"),
        [],
        "B received A's message",
      );
    } finally {
      await everything.close();
      await sameTopic.close();
    }
  });
});
