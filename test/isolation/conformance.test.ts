import { after, before, describe, it } from "node:test";
import assert from "node:assert/strict";
import { randomBytes } from "node:crypto";
import fc from "fast-check";
import type { DeliveredMessage, KeyValueStore, PubSubChannel } from "../../src/backends/driver.js";
import { PrismError, Code } from "../../src/errors/prism-error.js";
import { validateKey, validateTopic } from "../../src/isolation/names.js";
import type { ConformanceTarget, RawMessage } from "./conformance-target.js";
import { HOSTILE_KEYS, HOSTILE_PUBLISH_TOPICS, HOSTILE_SUBSCRIBE_TOPICS, PREFIX_ESCAPE_KEYS } from "./hostile-names.js";
import { conformanceTargets } from "./targets/index.js";
import { assertSameBytes } from "../support/test-proxy.js";

const KEY_LIMIT = { maxBytes: 512, source: "test" };
const TOPIC_LIMIT = { maxBytes: 256, source: "test" };
const RUNS = 20;

function tenantIds(): [string, string] {
  const run = randomBytes(4).toString("hex");
  return [`ct${run}a`, `ct${run}b`];
}

function isValidKey(key: string): boolean {
  try {
    validateKey(key, KEY_LIMIT);
    return true;
  } catch {
    return false;
  }
}

/** Keys that pass validation: arbitrary Unicode plus separators and fragments of the prefix format. */
const validKey = fc
  .oneof(
    fc.string({ unit: "grapheme", minLength: 1, maxLength: 40 }),
    fc.stringMatching(/^[a-z0-9:/._{}-]{1,40}$/),
    fc.constantFrom(":", "::", "tenant:", "tenant:x:", "{tenant_id}:{key}"),
  )
  .filter(isValidKey);

const value = fc.uint8Array({ minLength: 0, maxLength: 64 });

describe("name validation", () => {
  for (const [key, reason] of HOSTILE_KEYS) {
    it(`rejects key: ${reason}`, () => {
      assert.throws(() => validateKey(key, KEY_LIMIT), (error: unknown) => {
        assert.ok(error instanceof PrismError);
        assert.equal(error.code, Code.InvalidArgument);
        return true;
      });
    });
  }

  for (const [topic, reason] of HOSTILE_PUBLISH_TOPICS) {
    it(`rejects publish topic: ${reason}`, () => {
      assert.throws(() => validateTopic(topic, { limit: TOPIC_LIMIT, allowWildcards: false }), PrismError);
    });
  }

  for (const [topic, reason] of HOSTILE_SUBSCRIBE_TOPICS) {
    it(`rejects subscribe pattern: ${reason}`, () => {
      assert.throws(() => validateTopic(topic, { limit: TOPIC_LIMIT, allowWildcards: true }), PrismError);
    });
  }

  it("rejects a key one byte over the limit", () => {
    assert.throws(() => validateKey("k".repeat(KEY_LIMIT.maxBytes + 1), KEY_LIMIT), PrismError);
    validateKey("k".repeat(KEY_LIMIT.maxBytes), KEY_LIMIT);
  });
});

for (const target of conformanceTargets()) {
  describe(`isolation conformance: ${target.name}`, () => {
    const [tenantA, tenantB] = tenantIds();
    let kvA: KeyValueStore | undefined;
    let kvB: KeyValueStore | undefined;
    let psA: PubSubChannel | undefined;
    let psB: PubSubChannel | undefined;

    before(async () => {
      const drivers = await target.setup([tenantA, tenantB]);
      kvA = drivers.keyValue?.forTenant(tenantA);
      kvB = drivers.keyValue?.forTenant(tenantB);
      psA = drivers.pubSub?.forTenant(tenantA);
      psB = drivers.pubSub?.forTenant(tenantB);
    });

    after(async () => {
      await target.teardown([tenantA, tenantB]);
    });

    it("keeps the same key apart for two tenants", async (t) => {
      if (kvA === undefined || kvB === undefined) {
        t.skip(`${target.name} has no key-value driver`);
        return;
      }
      const a = kvA;
      const b = kvB;
      await fc.assert(
        fc.asyncProperty(validKey, value, value, async (key, valueA, valueB) => {
          await a.set(key, valueA);
          await b.set(key, valueB);

          assertSameBytes(await a.get(key), valueA);
          assertSameBytes(await b.get(key), valueB);
          await assertRawOwnership(target, [tenantA, tenantB], key, valueA, valueB);

          assert.equal(await a.delete(key), true);
          assert.equal(await b.exists(key), true, "deleting A's key removed B's");
          assertSameBytes(await b.get(key), valueB);
          assert.equal(await b.delete(key), true);
        }),
        { numRuns: RUNS },
      );
    });

    it("keeps TTL operations inside the tenant", async (t) => {
      if (kvA === undefined || kvB === undefined) {
        t.skip(`${target.name} has no key-value driver`);
        return;
      }
      const a = kvA;
      const b = kvB;
      await fc.assert(
        fc.asyncProperty(validKey, async (key) => {
          await b.set(key, new Uint8Array([1]));
          assert.equal(await a.expire(key, 100), false, "A's expire found B's key");
          assert.equal(await b.getTtl(key), -1, "A's expire changed B's TTL");
          assert.equal(await a.getTtl(key), -2);
          assert.equal(await a.persist(key), false);

          await a.set(key, new Uint8Array([2]));
          assert.equal(await a.expire(key, 0), true);
          assert.equal(await b.exists(key), true, "A's expire 0 removed B's key");
          await b.delete(key);
        }),
        { numRuns: RUNS },
      );
    });

    it("keeps batch operations inside the tenant", async (t) => {
      if (kvA === undefined || kvB === undefined) {
        t.skip(`${target.name} has no key-value driver`);
        return;
      }
      const a = kvA;
      const b = kvB;
      await fc.assert(
        fc.asyncProperty(fc.uniqueArray(validKey, { minLength: 1, maxLength: 8 }), async (keys) => {
          await b.batchSet(keys.map((key) => ({ key, value: new Uint8Array([0xb]) })));
          assert.deepEqual(await a.batchGet(keys), keys.map(() => undefined), "A's batch get read B's values");
          assert.deepEqual(await a.batchDelete(keys), keys.map(() => false), "A's batch delete found B's keys");
          const valuesOfB = await b.batchGet(keys);
          valuesOfB.forEach((stored) => assertSameBytes(stored, new Uint8Array([0xb])));

          const raw = (await target.rawEntries?.([tenantA, tenantB])) ?? [];
          assert.equal(raw.filter((entry) => entry.tenantId === tenantA).length, 0, "A owns entries it never wrote");
          await b.batchDelete(keys);
        }),
        { numRuns: RUNS },
      );
    });

    it("stores prefix-escape keys inside the writer's prefix", async (t) => {
      if (kvA === undefined || kvB === undefined) {
        t.skip(`${target.name} has no key-value driver`);
        return;
      }
      for (const template of PREFIX_ESCAPE_KEYS) {
        const key = template.replaceAll("{other}", tenantB);
        await kvA.set(key, new Uint8Array([0xa]));
        assert.equal(await kvB.exists(key), false, `key ${key} written by A is visible to B`);
        assert.equal(await kvB.exists("secret"), false);

        const raw = (await target.rawEntries?.([tenantA, tenantB])) ?? [];
        assert.deepEqual(
          raw.filter((entry) => entry.tenantId === tenantB),
          [],
          `key ${key} written by A landed in B's part of the backend`,
        );
        await kvA.delete(key);
      }
    });

    it("never delivers one tenant's messages to another", async (t) => {
      if (psA === undefined || psB === undefined) {
        t.skip(`${target.name} has no PubSub driver`);
        return;
      }
      const a = psA;
      const b = psB;
      const topic = fc.stringMatching(/^[a-z0-9_-]{1,12}(\.[a-z0-9_-]{1,12}){0,3}$/);
      await fc.assert(
        fc.asyncProperty(topic, async (name) => {
          await assertNoCrossDelivery(target, [tenantA, tenantB], a, b, name);
        }),
        { numRuns: Math.ceil(RUNS / 2) },
      );
    });
  });
}

async function assertRawOwnership(
  target: ConformanceTarget,
  tenants: [string, string],
  key: string,
  valueA: Uint8Array,
  valueB: Uint8Array,
): Promise<void> {
  if (target.rawEntries === undefined) {
    return;
  }
  const raw = await target.rawEntries(tenants);
  const ofA = raw.filter((entry) => entry.tenantId === tenants[0]);
  const ofB = raw.filter((entry) => entry.tenantId === tenants[1]);
  assert.deepEqual(ofA.map((entry) => entry.key), [key], "the backend holds other entries for A");
  assert.deepEqual(ofB.map((entry) => entry.key), [key], "the backend holds other entries for B");
  assertSameBytes(ofA[0]?.value, valueA);
  assertSameBytes(ofB[0]?.value, valueB);
}

function waitFor<T>(items: T[], predicate: (item: T) => boolean, what: string): Promise<void> {
  return new Promise((resolve, reject) => {
    const deadline = Date.now() + 5000;
    const poll = (): void => {
      if (items.some(predicate)) {
        resolve();
      } else if (Date.now() > deadline) {
        reject(new Error(`timed out waiting for ${what}`));
      } else {
        setTimeout(poll, 5);
      }
    };
    poll();
  });
}

async function assertNoCrossDelivery(
  target: ConformanceTarget,
  tenants: [string, string],
  a: PubSubChannel,
  b: PubSubChannel,
  topic: string,
): Promise<void> {
  const receivedByA: DeliveredMessage[] = [];
  const receivedByB: DeliveredMessage[] = [];
  const raw: RawMessage[] = [];

  const ownA = await a.subscribe(topic, (message) => receivedByA.push(message));
  const sameTopicB = await b.subscribe(topic, (message) => receivedByB.push(message));
  const everythingB = await b.subscribe(">", (message) => receivedByB.push(message));
  const stopRaw = await target.rawSubscribe?.(tenants, (message) => raw.push(message));
  try {
    const marker = randomBytes(8);
    await a.publish(topic, { payload: marker, metadata: {}, messageId: "m-a", timestampMs: Date.now() });
    await waitFor(receivedByA, (message) => message.messageId === "m-a", "A's own message");
    assert.equal(receivedByA[0]?.topic, topic);

    // B's subscriptions have flowed past A's message once B sees its own sentinel.
    await b.publish(topic, { payload: new Uint8Array([1]), metadata: {}, messageId: "m-b", timestampMs: Date.now() });
    await waitFor(receivedByB, (message) => message.messageId === "m-b", "B's sentinel");
    assert.deepEqual(
      receivedByB.filter((message) => message.messageId === "m-a"),
      [],
      "B received A's message",
    );

    if (stopRaw !== undefined) {
      await waitFor(raw, (message) => Buffer.from(message.payload).equals(marker), "the raw view of A's message");
      const seen = raw.filter((message) => Buffer.from(message.payload).equals(marker));
      for (const message of seen) {
        assert.ok(message.subject.includes(tenants[0]), `A's message travelled on ${message.subject}`);
        assert.ok(!message.subject.includes(tenants[1]), `A's message travelled on B's subject ${message.subject}`);
      }
    }
  } finally {
    await ownA.close();
    await sameTopicB.close();
    await everythingB.close();
    await stopRaw?.();
  }
}
