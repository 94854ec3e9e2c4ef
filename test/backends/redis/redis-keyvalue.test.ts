import { after, before, describe, it } from "node:test";
import assert from "node:assert/strict";
import { randomBytes } from "node:crypto";
import type { Redis } from "ioredis";
import { RedisKeyValueDriver, REDIS_MAX_KEY_BYTES } from "../../../src/backends/redis/redis-keyvalue.js";
import { Code, PrismError } from "../../../src/errors/prism-error.js";
import { KEYS, TEST_REDIS, deleteTenantKeys, rawClient, scanTenantKeys, silentLogger, uniqueTenant } from "./redis-test-support.js";

const bytes = (...values: number[]): Uint8Array => new Uint8Array(values);

describe("redis key-value driver", () => {
  const tenant = uniqueTenant();
  let driver: RedisKeyValueDriver;
  let raw: Redis;

  before(() => {
    driver = new RedisKeyValueDriver({ ...TEST_REDIS, logger: silentLogger() });
    raw = rawClient();
  });

  after(async () => {
    await deleteTenantKeys(raw, tenant);
    await driver.close();
    raw.disconnect();
  });

  it("round-trips binary values", async () => {
    const store = driver.forTenant(tenant);
    const value = new Uint8Array(256).map((_, index) => index);
    await store.set("binary", value);

    assert.deepEqual(new Uint8Array((await store.get("binary")) ?? []), value);
    assert.deepEqual(await raw.getBuffer(KEYS.toPhysical(tenant, "binary")), Buffer.from(value));
  });

  it("finds an empty value", async () => {
    const store = driver.forTenant(tenant);
    await store.set("empty", new Uint8Array(0));

    const value = await store.get("empty");
    assert.ok(value !== undefined, "an empty value must be found");
    assert.equal(value.byteLength, 0);
    assert.equal(await store.exists("empty"), true);
  });

  it("returns undefined for a missing key", async () => {
    const store = driver.forTenant(tenant);
    assert.equal(await store.get("missing"), undefined);
    assert.equal(await store.exists("missing"), false);
  });

  it("reports whether delete found the key", async () => {
    const store = driver.forTenant(tenant);
    await store.set("doomed", bytes(1));

    assert.equal(await store.delete("doomed"), true);
    assert.equal(await store.delete("doomed"), false);
    assert.equal(await store.exists("doomed"), false);
  });

  it("reports TTL states like Redis", async () => {
    const store = driver.forTenant(tenant);
    await store.set("ttl", bytes(1));

    assert.equal(await store.getTtl("ttl"), -1);
    assert.equal(await store.getTtl("ttl-missing"), -2);
    assert.equal(await store.expire("ttl", 100), true);
    const ttl = await store.getTtl("ttl");
    assert.ok(ttl > 90, `TTL ${ttl} is below 91`);
    assert.ok(ttl <= 100, `TTL ${ttl} is above 100`);
  });

  it("clears the TTL on overwrite", async () => {
    const store = driver.forTenant(tenant);
    await store.set("overwrite", bytes(1));
    await store.expire("overwrite", 100);

    await store.set("overwrite", bytes(2));
    assert.equal(await store.getTtl("overwrite"), -1);
    assert.deepEqual(new Uint8Array((await store.get("overwrite")) ?? []), bytes(2));
  });

  it("deletes at expire 0 and reports the key existed", async () => {
    const store = driver.forTenant(tenant);
    await store.set("expire-now", bytes(1));

    assert.equal(await store.expire("expire-now", 0), true);
    assert.equal(await store.exists("expire-now"), false);
    assert.equal(await store.expire("expire-now", 0), false);
    assert.equal(await store.expire("expire-now", 10), false);
  });

  it("rejects a negative TTL", async () => {
    const store = driver.forTenant(tenant);
    await assert.rejects(store.expire("any", -1), (error: unknown) => {
      assert.ok(error instanceof PrismError);
      assert.equal(error.code, Code.InvalidArgument);
      return true;
    });
  });

  it("persists only a key with a TTL", async () => {
    const store = driver.forTenant(tenant);
    await store.set("persist", bytes(1));

    assert.equal(await store.persist("persist"), false);
    await store.expire("persist", 100);
    assert.equal(await store.persist("persist"), true);
    assert.equal(await store.getTtl("persist"), -1);
    assert.equal(await store.persist("persist-missing"), false);
  });

  it("sets, gets and deletes in batches", async () => {
    const store = driver.forTenant(tenant);
    await store.set("batch-a", bytes(9));
    await store.expire("batch-a", 100);

    await store.batchSet([
      { key: "batch-a", value: bytes(1) },
      { key: "batch-b", value: new Uint8Array(0) },
    ]);
    assert.equal(await store.getTtl("batch-a"), -1, "batch set must clear the TTL like SET");

    const values = await store.batchGet(["batch-a", "batch-missing", "batch-b"]);
    assert.deepEqual(new Uint8Array(values[0] ?? []), bytes(1));
    assert.equal(values[1], undefined);
    assert.equal(values[2]?.byteLength, 0);

    assert.deepEqual(await store.batchDelete(["batch-a", "batch-missing", "batch-b", "batch-a"]), [true, false, true, false]);
    assert.deepEqual(await store.batchGet(["batch-a", "batch-b"]), [undefined, undefined]);
  });

  it("accepts empty batches without a round trip", async () => {
    const store = driver.forTenant(tenant);
    await store.batchSet([]);
    assert.deepEqual(await store.batchGet([]), []);
    assert.deepEqual(await store.batchDelete([]), []);
  });

  it("keeps the last of duplicate keys in a batch set", async () => {
    const store = driver.forTenant(tenant);
    await store.batchSet([
      { key: "dup", value: bytes(1) },
      { key: "dup", value: bytes(2) },
    ]);
    assert.deepEqual(new Uint8Array((await store.get("dup")) ?? []), bytes(2));
  });

  it("round-trips a value of a few megabytes", async () => {
    const store = driver.forTenant(tenant);
    const value = randomBytes(4 * 1024 * 1024);
    await store.set("large", value);
    assert.ok(Buffer.from((await store.get("large")) ?? []).equals(value));
  });

  it("stores every key under the tenant prefix", async () => {
    const store = driver.forTenant(tenant);
    await store.set("prefixed", bytes(1));

    const keys = await scanTenantKeys(raw, tenant);
    assert.ok(keys.includes(`tenant:${tenant}:prefixed`));
    assert.ok(keys.every((key) => key.startsWith(`tenant:${tenant}:`)));
  });

  it("limits keys to the Redis maximum minus the prefix", () => {
    const prefixBytes = Buffer.byteLength(`tenant:${tenant}:`);
    assert.equal(driver.maxKeyBytes(tenant), REDIS_MAX_KEY_BYTES - prefixBytes);
  });

  it("reports ready health after a call", async () => {
    await driver.forTenant(tenant).exists("health");
    assert.deepEqual(driver.health(), { backend: "redis", state: "ready" });
  });
});

describe("redis key-value driver lifecycle", () => {
  it("closes idempotently and rejects later calls", async () => {
    const driver = new RedisKeyValueDriver({ ...TEST_REDIS, logger: silentLogger() });
    const store = driver.forTenant(uniqueTenant());
    await store.exists("warm-up");

    await Promise.all([driver.close(), driver.close()]);
    await driver.close();
    assert.equal(driver.health().state, "closed");

    await assert.rejects(store.get("after-close"), (error: unknown) => {
      assert.ok(error instanceof PrismError);
      assert.equal(error.code, Code.Unavailable);
      assert.equal(error.reason, "SHUTTING_DOWN");
      return true;
    });
  });

  it("closes a driver that never connected", async () => {
    const driver = new RedisKeyValueDriver({ ...TEST_REDIS, logger: silentLogger() });
    await driver.close();
    assert.equal(driver.health().state, "closed");
  });
});
