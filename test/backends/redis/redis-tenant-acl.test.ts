import { after, before, describe, it } from "node:test";
import assert from "node:assert/strict";
import { randomBytes } from "node:crypto";
import { Redis } from "ioredis";
import type { DeliveredMessage } from "../../../src/backends/driver.js";
import { RedisKeyValueDriver } from "../../../src/backends/redis/redis-keyvalue.js";
import type { RedisTenantAclOptions } from "../../../src/backends/redis/redis-options.js";
import { RedisPubSubDriver } from "../../../src/backends/redis/redis-pubsub.js";
import {
  removeTenantAclUser,
  syncTenantAclUsers,
  tenantAclPassword,
  tenantAclRules,
  tenantAclUserName,
  type TenantAclSettings,
} from "../../../src/backends/redis/tenant-acl.js";
import { Code, PrismError } from "../../../src/errors/prism-error.js";
import { PrefixStrategy } from "../../../src/isolation/prefix-strategy.js";
import {
  KEYS,
  TEST_REDIS,
  deleteTenantKeys,
  nextMatching,
  rawClient,
  silentLogger,
  uniqueTenant,
  waitUntil,
} from "./redis-test-support.js";

function assertPrismCode(code: Code): (error: unknown) => boolean {
  return (error: unknown) => {
    assert.ok(error instanceof PrismError, `expected a PrismError, got ${String(error)}`);
    assert.equal(error.code, code, error.message);
    return true;
  };
}

describe("redis tenant ACL users", () => {
  const run = randomBytes(3).toString("hex");
  const userPrefix = `prism-test-${run}-`;
  const acl: RedisTenantAclOptions = { secret: randomBytes(16).toString("hex"), userPrefix };
  const settings: TenantAclSettings = { secret: acl.secret, userPrefix, strategy: KEYS };
  const tenantA = uniqueTenant();
  const tenantB = uniqueTenant();
  let keyValue: RedisKeyValueDriver;
  let pubSub: RedisPubSubDriver;
  let raw: Redis;

  before(() => {
    keyValue = new RedisKeyValueDriver({ ...TEST_REDIS, tenantAcl: acl, logger: silentLogger() });
    pubSub = new RedisPubSubDriver({ ...TEST_REDIS, tenantAcl: acl, logger: silentLogger() });
    raw = rawClient();
  });

  after(async () => {
    await keyValue.close();
    await pubSub.close();
    for (const tenant of [tenantA, tenantB]) {
      await deleteTenantKeys(raw, tenant);
    }
    const users = (await raw.acl("USERS")).filter((user) => user.startsWith(userPrefix));
    if (users.length > 0) {
      await raw.acl("DELUSER", ...users);
    }
    raw.disconnect();
  });

  function tenantClient(tenantId: string, password = tenantAclPassword(acl.secret, tenantId)): Redis {
    return new Redis({
      ...TEST_REDIS,
      username: tenantAclUserName(tenantId, userPrefix),
      password,
      maxRetriesPerRequest: 0,
      disableClientInfo: true,
      retryStrategy: () => null,
    });
  }

  it("serves key-value calls as the tenant's user", async () => {
    const store = keyValue.forTenant(tenantA);
    await store.set("k", Buffer.from("v"));
    assert.equal(Buffer.from((await store.get("k")) ?? []).toString(), "v");
    assert.deepEqual(await store.batchDelete(["k", "missing"]), [true, false]);

    const clients = await raw.client("LIST");
    const user = tenantAclUserName(tenantA, userPrefix);
    assert.match(String(clients), new RegExp(`user=${user} `), "no connection is authenticated as the tenant's user");
  });

  it("creates users limited to the tenant's prefix", async () => {
    await keyValue.forTenant(tenantA).exists("touch");
    const user = (await raw.call("ACL", "GETUSER", tenantAclUserName(tenantA, userPrefix))) as unknown[];
    const fields = new Map<string, unknown>();
    for (let index = 0; index + 1 < user.length; index += 2) {
      fields.set(String(user[index]), user[index + 1]);
    }

    assert.equal(fields.get("keys"), `~tenant:${tenantA}:*`);
    assert.equal(fields.get("channels"), `&tenant:${tenantA}:*`);
    const commands = String(fields.get("commands"));
    assert.match(commands, /^-@all /);
    assert.doesNotMatch(commands, /\+(keys|scan|flushall|flushdb|config|acl|eval)\b/);
  });

  it("rejects a forged key outside the prefix with NOPERM", async () => {
    await keyValue.forTenant(tenantA).exists("touch");
    await raw.set(KEYS.toPhysical(tenantB, "secret"), "b's data");

    // A plain client with the tenant's own credentials sends another tenant's physical key.
    const client = tenantClient(tenantA);
    try {
      await assert.rejects(client.get(KEYS.toPhysical(tenantB, "secret")), /^ReplyError: NOPERM/);
      await assert.rejects(client.set("unprefixed", "x"), /^ReplyError: NOPERM/);
      await assert.rejects(client.keys("*"), /^ReplyError: NOPERM/);
    } finally {
      client.disconnect();
    }
  });

  it("rejects a forged key sent on the driver's tenant connection", async () => {
    // A driver whose prefix rewrite is wrong ("forged:" instead of "tenant:") plays a bug
    // in the proxy. It authenticates as the tenant, and Redis still rejects its commands.
    const broken = new RedisKeyValueDriver({
      ...TEST_REDIS,
      keyFormat: "forged:{tenant_id}:{key}",
      tenantAcl: { ...acl, manageUsers: false },
      logger: silentLogger(),
    });
    const brokenPubSub = new RedisPubSubDriver({
      ...TEST_REDIS,
      keyFormat: "forged:{tenant_id}:{key}",
      tenantAcl: { ...acl, manageUsers: false },
      logger: silentLogger(),
    });
    try {
      await keyValue.forTenant(tenantA).exists("touch");
      const store = broken.forTenant(tenantA);
      await assert.rejects(store.set("k", Buffer.from("x")), assertPrismCode(Code.PermissionDenied));
      await assert.rejects(store.get("k"), assertPrismCode(Code.PermissionDenied));
      await assert.rejects(store.batchDelete(["k"]), assertPrismCode(Code.PermissionDenied));
      await assert.rejects(
        brokenPubSub.forTenant(tenantA).publish("t", { payload: new Uint8Array(), metadata: {}, messageId: "x", timestampMs: 1 }),
        assertPrismCode(Code.PermissionDenied),
      );
      await assert.rejects(brokenPubSub.forTenant(tenantA).subscribe("t.*", () => undefined), assertPrismCode(Code.PermissionDenied));
      assert.equal(await raw.exists(`forged:${tenantA}:k`), 0);
    } finally {
      await broken.close();
      await brokenPubSub.close();
    }
  });

  it("delivers wildcard subscriptions through the tenant-wide pattern", async () => {
    const a = pubSub.forTenant(tenantA);
    const b = pubSub.forTenant(tenantB);
    const received: DeliveredMessage[] = [];
    const receivedByB: DeliveredMessage[] = [];
    const wildcard = await a.subscribe("orders.*", (message) => received.push(message));
    const exact = await a.subscribe("orders.exact", (message) => received.push(message));
    const everythingB = await b.subscribe(">", (message) => receivedByB.push(message));
    try {
      for (const topic of ["orders.eu.created", "other.x", "orders.created"]) {
        await a.publish(topic, { payload: new Uint8Array(), metadata: {}, messageId: topic, timestampMs: 1 });
      }
      await a.publish("orders.exact", { payload: new Uint8Array(), metadata: {}, messageId: "exact", timestampMs: 1 });
      await b.publish("b.sentinel", { payload: new Uint8Array(), metadata: {}, messageId: "b-sentinel", timestampMs: 1 });

      await nextMatching(received, (message) => message.messageId === "exact", "the exact subscription's message");
      await waitUntil(() => received.length >= 3, "three deliveries");
      assert.deepEqual(received.map((message) => message.messageId).sort(), ["exact", "exact", "orders.created"]);
      await nextMatching(receivedByB, (message) => message.messageId === "b-sentinel", "B's sentinel");
      assert.deepEqual(receivedByB.map((message) => message.messageId), ["b-sentinel"]);
    } finally {
      await wildcard.close();
      await exact.close();
      await everythingB.close();
    }
  });

  it("opens pooled PubSub connections as the tenant's user", async () => {
    const factory = pubSub.connectionFactory(tenantA, "namespace");
    const signal = new AbortController().signal;
    const subscriberConnection = await factory.create(signal);
    const publisherConnection = await factory.create(signal);
    try {
      const user = tenantAclUserName(tenantA, userPrefix);
      const clients = String(await raw.client("LIST"));
      for (const pooled of [subscriberConnection, publisherConnection]) {
        assert.match(factory.describe(pooled).id, /^\d+$/, "the pooled connection has no CLIENT ID");
        assert.match(clients, new RegExp(`id=${factory.describe(pooled).id} .* user=${user} `), "a pooled connection is not the tenant's user");
      }

      const received: DeliveredMessage[] = [];
      const subscription = await pubSub.channelOn(tenantA, subscriberConnection).subscribe("pooled.*", (message) => received.push(message));
      assert.equal(factory.isHealthy(subscriberConnection), false, "a subscribed connection counts as reusable");
      await pubSub
        .channelOn(tenantA, publisherConnection)
        .publish("pooled.one", { payload: new Uint8Array(), metadata: {}, messageId: "pooled", timestampMs: 1 });
      await nextMatching(received, (message) => message.messageId === "pooled", "the pooled subscription's message");
      await subscription.close();

      // Once unsubscribed, the connection that carried the subscription can publish again.
      assert.equal(factory.isHealthy(subscriberConnection), true, "the connection stayed unusable after its subscription closed");
      await pubSub
        .channelOn(tenantA, subscriberConnection)
        .publish("pooled.two", { payload: new Uint8Array(), metadata: {}, messageId: "again", timestampMs: 1 });
    } finally {
      await factory.destroy(subscriberConnection);
      await factory.destroy(publisherConnection);
    }
  });

  it("opens pooled key-value connections as the tenant's user", async () => {
    const factory = keyValue.connectionFactory(tenantA, "session");
    const pooled = await factory.create(new AbortController().signal);
    try {
      assert.match(factory.describe(pooled).id, /^\d+$/);
      await keyValue.storeOn(tenantA, pooled).set("pooled", Buffer.from("v"));
      assert.equal(await raw.get(KEYS.toPhysical(tenantA, "pooled")), "v");
    } finally {
      await factory.destroy(pooled);
    }
  });

  it("syncs users idempotently and keeps live subscriptions", async () => {
    const channel = pubSub.forTenant(tenantA);
    const received: DeliveredMessage[] = [];
    const subscription = await channel.subscribe("after.sync", (message) => received.push(message));
    try {
      await syncTenantAclUsers(raw, [tenantA, tenantB], settings);
      const first = await raw.call("ACL", "GETUSER", tenantAclUserName(tenantA, userPrefix));
      await syncTenantAclUsers(raw, [tenantA, tenantB], settings);
      assert.deepEqual(await raw.call("ACL", "GETUSER", tenantAclUserName(tenantA, userPrefix)), first);

      await channel.publish("after.sync", { payload: new Uint8Array(), metadata: {}, messageId: "synced", timestampMs: 1 });
      await nextMatching(received, (message) => message.messageId === "synced", "a message after the sync");
    } finally {
      await subscription.close();
    }
  });

  it("accepts previous secrets during a rotation", async () => {
    const tenant = uniqueTenant();
    const next = randomBytes(16).toString("hex");
    await syncTenantAclUsers(raw, [tenant], { ...settings, secret: next, previousSecrets: [acl.secret] });

    for (const password of [tenantAclPassword(next, tenant), tenantAclPassword(acl.secret, tenant)]) {
      const client = tenantClient(tenant, password);
      try {
        assert.equal(await client.exists(KEYS.toPhysical(tenant, "k")), 0);
      } finally {
        client.disconnect();
      }
    }

    await syncTenantAclUsers(raw, [tenant], { ...settings, secret: next });
    const stale = tenantClient(tenant, tenantAclPassword(acl.secret, tenant));
    stale.on("error", () => undefined);
    try {
      await assert.rejects(stale.exists(KEYS.toPhysical(tenant, "k")));
    } finally {
      stale.disconnect();
    }
    assert.equal(await removeTenantAclUser(raw, tenant, settings), true);
  });

  it("recreates a removed user and recovers", async () => {
    const tenant = uniqueTenant();
    const store = keyValue.forTenant(tenant);
    await store.set("k", Buffer.from("before"));

    // Deleting the user also disconnects its connections; the driver syncs it again.
    assert.equal(await removeTenantAclUser(raw, tenant, settings), true);
    assert.equal(await removeTenantAclUser(raw, tenant, settings), false);

    await waitUntil(async () => {
      try {
        return (await store.exists("k")) === true;
      } catch {
        return false;
      }
    }, "the tenant connection to recover");
    assert.equal(Buffer.from((await store.get("k")) ?? []).toString(), "before");
    await deleteTenantKeys(raw, tenant);
  });

  it("ends a subscription whose permission was revoked", async () => {
    const tenant = uniqueTenant();
    const channel = pubSub.forTenant(tenant);
    const ends: Error[] = [];
    const subscription = await channel.subscribe("revoked.topic", () => undefined, (error) => ends.push(error));
    const countBefore = pubSub.subscriptionCount();

    // Redis closes a subscriber connection whose subscriptions the new rules no longer allow.
    await raw.acl("SETUSER", tenantAclUserName(tenant, userPrefix), "resetchannels", "&elsewhere:*");
    await waitUntil(() => ends.length > 0, "the subscription to end");

    assert.equal(ends.length, 1);
    const error = ends[0];
    assert.ok(error instanceof PrismError, `expected a PrismError, got ${String(error)}`);
    assert.equal(error.code, Code.PermissionDenied);
    assert.equal(pubSub.subscriptionCount(), countBefore - 1);
    await subscription.close();
    assert.equal(pubSub.subscriptionCount(), countBefore - 1, "closing an ended subscription changed the count");
  });

  it("runs nothing for a tenant whose user is missing", async () => {
    const tenant = uniqueTenant();
    const unmanaged = new RedisKeyValueDriver({
      ...TEST_REDIS,
      commandTimeoutMs: 500,
      tenantAcl: { ...acl, manageUsers: false },
      logger: silentLogger(),
    });
    try {
      const store = unmanaged.forTenant(tenant);
      for (let attempt = 0; attempt < 3; attempt++) {
        await assert.rejects(store.set("k", Buffer.from("x")), (error: unknown) => {
          assert.ok(error instanceof PrismError);
          assert.equal(error.code, Code.Unavailable);
          assert.match(error.rawMessage, /not connected \(WRONGPASS .*\); the request was not applied$/);
          return true;
        });
      }
      // The server's default user may write anything; nothing may run as it.
      assert.equal(await raw.exists(KEYS.toPhysical(tenant, "k")), 0);
      assert.equal(unmanaged.health().state, "degraded");
      assert.match(unmanaged.health().detail ?? "", new RegExp(`of tenant ${tenant} connection: WRONGPASS`));
    } finally {
      await unmanaged.close();
    }
  });

  it("derives passwords from the secret and tenant id only", () => {
    assert.equal(tenantAclPassword("s", "t1"), tenantAclPassword("s", "t1"));
    assert.notEqual(tenantAclPassword("s", "t1"), tenantAclPassword("s", "t2"));
    assert.notEqual(tenantAclPassword("s", "t1"), tenantAclPassword("s2", "t1"));
    assert.match(tenantAclPassword("s", "t1"), /^[0-9a-f]{64}$/);
  });

  it("grants SELECT only for a non-zero database", () => {
    assert.ok(!tenantAclRules("t1", settings).includes("+select"));
    assert.ok(tenantAclRules("t1", { ...settings, db: 2 }).includes("+select"));
  });

  it("escapes glob characters of the prefix in the rules", () => {
    const strategy = new PrefixStrategy("odd[{tenant_id}]:{key}", "key");
    const rules = tenantAclRules("t1", { ...settings, strategy });
    assert.ok(rules.includes("~odd\\[t1\\]:*"));
    assert.ok(rules.includes("&odd\\[t1\\]:*"));
  });

  it("rejects a tenant id that cannot name a user", () => {
    assert.throws(() => tenantAclUserName("bad id", userPrefix), TypeError);
    assert.throws(() => tenantAclUserName("", userPrefix), TypeError);
  });
});
