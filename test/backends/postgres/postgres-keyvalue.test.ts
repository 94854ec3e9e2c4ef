import { after, before, describe, it } from "node:test";
import assert from "node:assert/strict";
import { randomBytes } from "node:crypto";
import { PostgresKeyValueDriver } from "../../../src/backends/postgres/postgres-keyvalue.js";
import { MAX_KEY_BYTES } from "../../../src/backends/postgres/postgres-options.js";
import type { KeyValueStore } from "../../../src/backends/driver.js";
import { bytes, PostgresFixture, silentLogger, uniqueName } from "./postgres-test-support.js";

describe("postgres key-value semantics", () => {
  const fixture = new PostgresFixture();
  const tenant = uniqueName("t");
  let driver: PostgresKeyValueDriver;
  let store: KeyValueStore;

  before(async () => {
    await fixture.migrate();
    driver = new PostgresKeyValueDriver(fixture.driverOptions(silentLogger()));
    store = driver.forTenant(tenant);
    assert.equal((await driver.ready()).state, "ready");
  });

  after(async () => {
    await driver.close();
    await fixture.drop();
  });

  /** Moves a key's expiry into the past as the superuser, instead of sleeping through a TTL. */
  async function expireInThePast(key: string): Promise<void> {
    await fixture.superuser.query(
      `UPDATE ${fixture.qualifiedTable} SET expires_at = now() - interval '1 second' WHERE tenant_id = $1 AND key = $2`,
      [tenant, key],
    );
  }

  it("round-trips bytes, including an empty value", async () => {
    const binary = new Uint8Array([0, 1, 2, 255, 0, 128]);
    await store.set("binary", binary);
    await store.set("empty", new Uint8Array());

    assert.deepEqual(await store.get("binary"), binary);
    assert.deepEqual(await store.get("empty"), new Uint8Array());
    assert.equal(await store.exists("empty"), true);
  });

  it("returns a plain Uint8Array", async () => {
    await store.set("plain", bytes("v"));
    const value = await store.get("plain");
    assert.equal(Object.getPrototypeOf(value), Uint8Array.prototype);
  });

  it("round-trips a value of a few megabytes", async () => {
    const large = new Uint8Array(3 * 1024 * 1024).map((_, index) => index % 251);
    await store.set("large", large);
    assert.deepEqual(await store.get("large"), large);
  });

  it("overwrites a value and reports missing keys", async () => {
    await store.set("overwrite", bytes("one"));
    await store.set("overwrite", bytes("two"));
    assert.deepEqual(await store.get("overwrite"), bytes("two"));

    assert.equal(await store.get("never-set"), undefined);
    assert.equal(await store.exists("never-set"), false);
  });

  it("deletes a key and succeeds on a missing one", async () => {
    await store.set("doomed", bytes("x"));
    assert.equal(await store.delete("doomed"), true);
    assert.equal(await store.delete("doomed"), false);
    assert.equal(await store.exists("doomed"), false);
  });

  it("lets concurrent deletes of one key all succeed", async () => {
    await store.set("contended", bytes("x"));
    const results = await Promise.all([1, 2, 3, 4].map(() => store.delete("contended")));
    assert.equal(results.filter(Boolean).length, 1);
  });

  it("stores keys of Unicode text", async () => {
    const key = "ключ/键/🔑:{tenant_id}";
    await store.set(key, bytes("unicode"));
    assert.deepEqual(await store.get(key), bytes("unicode"));
  });

  it("stores a key of the maximum length", async () => {
    // Random characters do not compress, and a 63-byte tenant id is the longest the configuration allows.
    const key = randomBytes(MAX_KEY_BYTES).toString("base64").slice(0, MAX_KEY_BYTES);
    const longTenant = driver.forTenant(`t${randomBytes(31).toString("hex")}`);
    await longTenant.set(key, bytes("long"));
    assert.deepEqual(await longTenant.get(key), bytes("long"));
    assert.equal(driver.maxKeyBytes(tenant), MAX_KEY_BYTES);
  });

  describe("TTL", () => {
    it("reports -2 for a missing key and -1 without expiry", async () => {
      assert.equal(await store.getTtl("ttl-missing"), -2);
      await store.set("ttl-none", bytes("x"));
      assert.equal(await store.getTtl("ttl-none"), -1);
    });

    it("sets a TTL and reports the remaining seconds", async () => {
      await store.set("ttl-set", bytes("x"));
      assert.equal(await store.expire("ttl-set", 100), true);
      const ttl = await store.getTtl("ttl-set");
      assert.ok(ttl >= 99, `TTL ${ttl} is below 99`);
      assert.ok(ttl <= 100, `TTL ${ttl} is above 100`);
    });

    it("returns false when expiring a missing key", async () => {
      assert.equal(await store.expire("ttl-absent", 10), false);
    });

    it("deletes the key at once for a TTL of 0", async () => {
      await store.set("ttl-zero", bytes("x"));
      assert.equal(await store.expire("ttl-zero", 0), true);
      assert.equal(await store.exists("ttl-zero"), false);
      assert.equal((await fixture.rawRows()).some((row) => row.key === "ttl-zero"), false);
    });

    it("accepts the largest TTL the API allows", async () => {
      await store.set("ttl-huge", bytes("x"));
      const maxTtlSeconds = Math.floor(Number.MAX_SAFE_INTEGER / 1000);
      assert.equal(await store.expire("ttl-huge", maxTtlSeconds), true);
      assert.ok((await store.getTtl("ttl-huge")) > 1e12);
    });

    it("removes an expiry with persist", async () => {
      await store.set("ttl-persist", bytes("x"));
      assert.equal(await store.persist("ttl-persist"), false);
      await store.expire("ttl-persist", 100);
      assert.equal(await store.persist("ttl-persist"), true);
      assert.equal(await store.getTtl("ttl-persist"), -1);
      assert.equal(await store.persist("ttl-missing-persist"), false);
    });

    it("clears the TTL when a key is overwritten", async () => {
      await store.set("ttl-overwrite", bytes("x"));
      await store.expire("ttl-overwrite", 100);
      await store.set("ttl-overwrite", bytes("y"));
      assert.equal(await store.getTtl("ttl-overwrite"), -1);
    });

    it("treats an expired row as missing for every read", async () => {
      await store.set("expired", bytes("old"));
      await store.expire("expired", 100);
      await expireInThePast("expired");

      assert.equal(await store.get("expired"), undefined);
      assert.equal(await store.exists("expired"), false);
      assert.equal(await store.getTtl("expired"), -2);
      assert.equal(await store.expire("expired", 10), false);
      assert.equal(await store.persist("expired"), false);
      assert.deepEqual(await store.batchGet(["expired"]), [undefined]);
      assert.equal(await store.delete("expired"), false, "deleting an expired key reported that it existed");
    });

    it("treats a set on an expired row as a new key", async () => {
      await store.set("revived", bytes("old"));
      await store.expire("revived", 100);
      await expireInThePast("revived");

      await store.set("revived", bytes("new"));
      assert.deepEqual(await store.get("revived"), bytes("new"));
      assert.equal(await store.getTtl("revived"), -1);
    });

    it("expires a key once its TTL passes", async () => {
      await store.set("short-lived", bytes("x"));
      await store.expire("short-lived", 1);
      assert.equal(await store.exists("short-lived"), true);
      // The server's clock decides expiry; nothing else signals it, so the test waits it out.
      await new Promise((resolve) => setTimeout(resolve, 1100));
      assert.equal(await store.exists("short-lived"), false);
    });

    it("deletes expired rows of every tenant in the cleanup and keeps the others", async () => {
      const other = driver.forTenant(uniqueName("t"));
      await store.set("cleanup-expired", bytes("x"));
      await store.expire("cleanup-expired", 100);
      await expireInThePast("cleanup-expired");
      await other.set("cleanup-live", bytes("y"));
      await other.expire("cleanup-live", 100);
      await other.set("cleanup-forever", bytes("z"));

      await driver.cleanExpiredNow();

      const keys = (await fixture.rawRows()).map((row) => row.key);
      assert.equal(keys.includes("cleanup-expired"), false, "the cleanup left an expired row");
      assert.equal(keys.includes("cleanup-live"), true, "the cleanup deleted a row that has not expired");
      assert.equal(keys.includes("cleanup-forever"), true, "the cleanup deleted a row without expiry");
      assert.equal((await fixture.rawRows()).some((row) => row.expiresAt !== null && row.expiresAt <= new Date()), false);
    });
  });

  describe("batches", () => {
    it("sets, gets and deletes many keys", async () => {
      const keys = ["b1", "b2", "b3"];
      await store.batchSet(keys.map((key) => ({ key, value: bytes(`value-${key}`) })));

      assert.deepEqual(await store.batchGet(["b3", "missing", "b1", "b3"]), [
        bytes("value-b3"),
        undefined,
        bytes("value-b1"),
        bytes("value-b3"),
      ]);
      assert.deepEqual(await store.batchDelete(["b1", "missing", "b2", "b1"]), [true, false, true, false]);
      assert.deepEqual(await store.batchGet(keys), [undefined, undefined, bytes("value-b3")]);
    });

    it("keeps the last value of a repeated key and clears TTLs", async () => {
      await store.set("batch-ttl", bytes("x"));
      await store.expire("batch-ttl", 100);
      await store.batchSet([
        { key: "batch-repeat", value: bytes("first") },
        { key: "batch-ttl", value: bytes("y") },
        { key: "batch-repeat", value: bytes("last") },
      ]);
      assert.deepEqual(await store.get("batch-repeat"), bytes("last"));
      assert.equal(await store.getTtl("batch-ttl"), -1);
    });

    it("stores empty values in a batch", async () => {
      await store.batchSet([{ key: "batch-empty", value: new Uint8Array() }]);
      assert.deepEqual(await store.batchGet(["batch-empty"]), [new Uint8Array()]);
    });

    it("handles empty batches without a query", async () => {
      await store.batchSet([]);
      assert.deepEqual(await store.batchGet([]), []);
      assert.deepEqual(await store.batchDelete([]), []);
    });

    it("runs concurrent overlapping batches without deadlock", async () => {
      const keys = Array.from({ length: 50 }, (_, index) => `overlap-${index}`);
      const reversed = [...keys].reverse();
      await Promise.all([
        store.batchSet(keys.map((key) => ({ key, value: bytes("a") }))),
        store.batchSet(reversed.map((key) => ({ key, value: bytes("b") }))),
        store.batchSet(keys.map((key) => ({ key, value: bytes("c") }))),
      ]);
      const values = await store.batchGet(keys);
      assert.equal(values.every((value) => value !== undefined), true);
    });
  });
});
