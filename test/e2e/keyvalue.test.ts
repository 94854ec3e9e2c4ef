import { after, before, describe, it } from "node:test";
import assert from "node:assert/strict";
import { Code, ConnectError } from "@connectrpc/connect";
import { KeyValueBasicInterface } from "../../src/gen/prism/interfaces/keyvalue/keyvalue_basic_pb.js";
import { KeyValueBatchInterface } from "../../src/gen/prism/interfaces/keyvalue/keyvalue_batch_pb.js";
import { KeyValueTTLInterface } from "../../src/gen/prism/interfaces/keyvalue/keyvalue_ttl_pb.js";
import { DEMO_KEYS, assertSameBytes, postJson, startTestProxy, type TestProxy } from "../support/test-proxy.js";

const encoder = new TextEncoder();
const KV_PATH = "prism.interfaces.keyvalue.KeyValueBasicInterface";

async function rejection(call: Promise<unknown>): Promise<ConnectError> {
  try {
    await call;
  } catch (error) {
    return ConnectError.from(error);
  }
  assert.fail("the call succeeded but was expected to fail");
}

describe("KeyValue over gRPC and HTTP", () => {
  let gateway: TestProxy;

  before(async () => {
    gateway = await startTestProxy((config) => {
      config.proxy.request_limits.max_value_bytes = 4 * 1024 * 1024;
      config.proxy.request_limits.max_batch_size = 10;
    });
  });

  after(async () => {
    await gateway.close();
  });

  it("keeps the same key apart for two tenants", async () => {
    const acme = gateway.client(KeyValueBasicInterface, { namespace: "acme-prod", apiKey: DEMO_KEYS.acme });
    const globex = gateway.client(KeyValueBasicInterface, { namespace: "globex-prod", apiKey: DEMO_KEYS.globex });

    await acme.set({ key: "shared", value: encoder.encode("acme value") });
    await globex.set({ key: "shared", value: encoder.encode("globex value") });

    assertSameBytes((await acme.get({ key: "shared" })).value, encoder.encode("acme value"));
    assertSameBytes((await globex.get({ key: "shared" })).value, encoder.encode("globex value"));

    const physical = gateway.proxy.drivers.keyValue;
    assert.ok("physicalKeys" in physical);
    const keys = (physical as { physicalKeys(): string[] }).physicalKeys().sort();
    assert.deepEqual(keys.filter((key) => key.endsWith(":shared")), ["tenant:acme:shared", "tenant:globex:shared"]);

    await globex.delete({ key: "shared" });
    assert.equal((await acme.exists({ key: "shared" })).exists, true, "globex's delete removed acme's key");
  });

  it("serves the same data over HTTP/JSON", async () => {
    const headers = { "x-prism-namespace": "initech-prod", authorization: `Bearer ${DEMO_KEYS.initech}` };
    const set = await postJson(gateway.baseUrl, `${KV_PATH}/Set`, JSON.stringify({ key: "http", value: "aGk=" }), headers);
    assert.equal(set.status, 200);
    assert.deepEqual(set.body, { success: true });

    const get = await postJson(gateway.baseUrl, `${KV_PATH}/Get`, JSON.stringify({ key: "http" }), headers);
    assert.deepEqual(get.body, { found: true, value: "aGk=" });

    const other = await postJson(gateway.baseUrl, `${KV_PATH}/Get`, JSON.stringify({ key: "http" }), {
      "x-prism-namespace": "acme-prod",
      authorization: `Bearer ${DEMO_KEYS.acme}`,
    });
    assert.deepEqual(other.body, {}, "acme read initech's key over HTTP");
  });

  it("follows Redis semantics for values and TTL", async () => {
    const credentials = { namespace: "acme-ttl", apiKey: DEMO_KEYS.acme };
    const kv = gateway.client(KeyValueBasicInterface, credentials);
    const ttl = gateway.client(KeyValueTTLInterface, credentials);

    await kv.set({ key: "empty", value: new Uint8Array() });
    const empty = await kv.get({ key: "empty" });
    assert.equal(empty.found, true, "an empty value must be found");
    assert.equal(empty.value.length, 0);

    assert.equal((await ttl.getTTL({ key: "missing" })).ttlSeconds, -2n);
    assert.equal((await ttl.getTTL({ key: "empty" })).ttlSeconds, -1n);
    assert.equal((await ttl.expire({ key: "empty", ttlSeconds: 100n })).keyExisted, true);
    assert.equal((await ttl.getTTL({ key: "empty" })).ttlSeconds, 100n);

    await kv.set({ key: "empty", value: new Uint8Array([1]) });
    assert.equal((await ttl.getTTL({ key: "empty" })).ttlSeconds, -1n, "an overwrite must clear the TTL");

    await ttl.expire({ key: "empty", ttlSeconds: 50n });
    assert.equal((await ttl.persist({ key: "empty" })).expirationRemoved, true);
    assert.equal((await ttl.persist({ key: "empty" })).expirationRemoved, false);

    assert.equal((await ttl.expire({ key: "empty", ttlSeconds: 0n })).keyExisted, true);
    assert.equal((await kv.exists({ key: "empty" })).exists, false, "expire 0 must delete at once");
    assert.equal((await ttl.expire({ key: "empty", ttlSeconds: 5n })).keyExisted, false);

    const negative = await rejection(ttl.expire({ key: "empty", ttlSeconds: -1n }));
    assert.equal(negative.code, Code.InvalidArgument);
    assert.match(negative.rawMessage, /ttl_seconds -1/);

    assert.equal((await kv.delete({ key: "never-set" })).success, true, "deleting a missing key succeeds");
    const deletes = await Promise.all([1, 2, 3].map(() => kv.delete({ key: "never-set" })));
    assert.ok(deletes.every((response) => response.success));
  });

  it("round-trips a value of a few megabytes", async () => {
    const kv = gateway.client(KeyValueBasicInterface, { namespace: "acme-big", apiKey: DEMO_KEYS.acme });
    const big = new Uint8Array(3 * 1024 * 1024).map((_, index) => index % 251);
    await kv.set({ key: "big", value: big });
    assertSameBytes((await kv.get({ key: "big" })).value, big);
  });

  it("runs batches and counts found keys", async () => {
    const batch = gateway.client(KeyValueBatchInterface, { namespace: "globex-batch", apiKey: DEMO_KEYS.globex });
    const set = await batch.batchSet({
      requests: [
        { key: "b1", value: encoder.encode("1") },
        { key: "b2", value: encoder.encode("2") },
      ],
    });
    assert.equal(set.allSuccess, true);
    assert.equal(set.results.length, 2);

    const get = await batch.batchGet({ keys: ["b1", "missing", "b2"] });
    assert.equal(get.foundCount, 2);
    assert.deepEqual(
      get.results.map((result) => result.found),
      [true, false, true],
    );

    const removed = await batch.batchDelete({ keys: ["b1", "b2", "missing"] });
    assert.equal(removed.allSuccess, true);

    const tooMany = await rejection(batch.batchGet({ keys: Array.from({ length: 11 }, (_, index) => `k${index}`) }));
    assert.equal(tooMany.code, Code.ResourceExhausted);
    assert.match(tooMany.rawMessage, /max_batch_size/);

    const badEntry = await rejection(
      batch.batchSet({ requests: [{ key: "ok", value: new Uint8Array() }, { key: "", value: new Uint8Array() }] }),
    );
    assert.equal(badEntry.code, Code.InvalidArgument);
    assert.match(badEntry.rawMessage, /requests\[1\]\.key/);
    const okAfterReject = await gateway
      .client(KeyValueBasicInterface, { namespace: "globex-batch", apiKey: DEMO_KEYS.globex })
      .exists({ key: "ok" });
    assert.equal(okAfterReject.exists, false, "a rejected batch must write nothing");
  });
});
