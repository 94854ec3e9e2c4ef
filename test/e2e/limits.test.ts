import { after, before, describe, it } from "node:test";
import assert from "node:assert/strict";
import { Code, ConnectError } from "@connectrpc/connect";
import { KeyValueBasicInterface } from "../../src/gen/prism/interfaces/keyvalue/keyvalue_basic_pb.js";
import { PubSubBasicInterface } from "../../src/gen/prism/interfaces/pubsub/pubsub_basic_pb.js";
import type { TenantConfig } from "../../src/config/model.js";
import { DEMO_KEYS, eventually, startTestProxy, type TestProxy } from "../support/test-proxy.js";

const KV_SET_PATH = "prism.interfaces.keyvalue.KeyValueBasicInterface/Set";

async function failure(call: Promise<unknown>): Promise<ConnectError> {
  try {
    await call;
  } catch (error) {
    return ConnectError.from(error);
  }
  assert.fail("expected the call to fail");
}

describe("per-namespace limits", () => {
  let gateway: TestProxy;

  before(async () => {
    gateway = await startTestProxy((config) => {
      const tenant = (id: string): TenantConfig => {
        const found = config.tenants.find((candidate) => candidate.id === id);
        assert.ok(found, `demo tenant ${id}`);
        return found;
      };
      // Two requests at once, then one every 10 s: slow enough that no test races the refill.
      tenant("acme").limits = { max_rps: 0.1, burst: 1 };
      tenant("globex").limits = { max_in_flight: 1 };
      tenant("initech").limits = { memory: 4096 };
    });
  });

  after(async () => {
    await gateway.close();
  });

  it("rejects requests above max_rps with a retry hint", async () => {
    const kv = gateway.client(KeyValueBasicInterface, { namespace: "acme-limits-rps", apiKey: DEMO_KEYS.acme });
    await kv.set({ key: "a", value: new Uint8Array([1]) });
    await kv.set({ key: "b", value: new Uint8Array([2]) });

    const error = await failure(kv.set({ key: "c", value: new Uint8Array([3]) }));
    assert.equal(error.code, Code.ResourceExhausted);
    assert.match(
      error.rawMessage,
      /^namespace "acme-limits-rps" exceeded its rate limit of 0\.1 requests per second with a burst of 1 \(max_rps set by limits\.max_rps of tenant "acme", burst set by limits\.burst of tenant "acme"\); retry after \d+ ms$/,
    );

    const retryAfterMs = Number(error.metadata.get("x-prism-retry-after-ms"));
    assert.ok(retryAfterMs > 0 && retryAfterMs <= 10_000, `x-prism-retry-after-ms ${retryAfterMs}`);
    assert.equal(error.metadata.get("retry-after"), String(Math.ceil(retryAfterMs / 1000)));
    assert.equal(gateway.proxy.admission.snapshot("acme-limits-rps")?.rejected.max_rps, 1);
  });

  it("sends retry-after as an HTTP header to Connect JSON clients", async () => {
    const headers = {
      "content-type": "application/json",
      authorization: `Bearer ${DEMO_KEYS.acme}`,
      "x-prism-namespace": "acme-limits-json",
    };
    const set = () => fetch(`${gateway.baseUrl}/${KV_SET_PATH}`, { method: "POST", headers, body: '{"key":"k","value":"AQ=="}' });
    assert.equal((await set()).status, 200);
    assert.equal((await set()).status, 200);

    const response = await set();
    const body = (await response.json()) as { code?: string };
    assert.equal(response.status, 429);
    assert.equal(body.code, "resource_exhausted");
    assert.match(response.headers.get("retry-after") ?? "", /^([1-9]|10)$/);
    assert.match(response.headers.get("x-prism-retry-after-ms") ?? "", /^\d+$/);
  });

  it("leaves other namespaces of the tenant unaffected", async () => {
    const busy = gateway.client(KeyValueBasicInterface, { namespace: "acme-limits-busy", apiKey: DEMO_KEYS.acme });
    await busy.set({ key: "a", value: new Uint8Array([1]) });
    await busy.set({ key: "a", value: new Uint8Array([1]) });
    assert.equal((await failure(busy.set({ key: "a", value: new Uint8Array([1]) }))).code, Code.ResourceExhausted);

    const quiet = gateway.client(KeyValueBasicInterface, { namespace: "acme-limits-quiet", apiKey: DEMO_KEYS.acme });
    await quiet.set({ key: "a", value: new Uint8Array([1]) });
    assert.equal((await quiet.get({ key: "a" })).found, true);
  });

  it("counts an open stream against max_in_flight", async () => {
    const credentials = { namespace: "globex-limits-inflight", apiKey: DEMO_KEYS.globex };
    const pubsub = gateway.client(PubSubBasicInterface, credentials);
    const stop = new AbortController();
    const stream = (async () => {
      try {
        for await (const _message of pubsub.subscribe({ topic: "events", subscriberId: "s1" }, { signal: stop.signal })) {
          // Only the open stream matters here.
        }
      } catch {
        // Aborting the stream ends it with an error.
      }
    })();
    const inFlight = (): number => gateway.proxy.admission.snapshot("globex-limits-inflight")?.inFlight.used ?? 0;
    await eventually(() => inFlight() === 1, "the subscription to be admitted");

    const error = await failure(pubsub.publish({ topic: "events", payload: new Uint8Array([1]) }));
    assert.equal(error.code, Code.ResourceExhausted);
    assert.match(error.rawMessage, /namespace "globex-limits-inflight" already has 1 requests and streams in flight/);
    assert.equal(error.metadata.get("retry-after"), null);

    stop.abort();
    await stream;
    await eventually(() => inFlight() === 0, "the subscription to be released");
    const published = await pubsub.publish({ topic: "events", payload: new Uint8Array([1]) });
    assert.equal(published.success, true);
  });

  it("rejects a request larger than the memory budget", async () => {
    const kv = gateway.client(KeyValueBasicInterface, { namespace: "initech-prod", apiKey: DEMO_KEYS.initech });
    const error = await failure(kv.set({ key: "big", value: new Uint8Array(5000) }));
    assert.equal(error.code, Code.ResourceExhausted);
    assert.match(error.rawMessage, /this request of 5003 bytes would take it above its memory budget of 4096 bytes .*it can never fit/);

    await kv.set({ key: "small", value: new Uint8Array(100) });
    assert.equal(gateway.proxy.admission.snapshot("initech-prod")?.memoryBytes.used, 0);
  });

  it("charges nothing for requests rejected before admission", async () => {
    const kv = gateway.client(KeyValueBasicInterface, { namespace: "acme-limits-unauth", apiKey: "not-a-key" });
    assert.equal((await failure(kv.get({ key: "a" }))).code, Code.Unauthenticated);
    assert.equal(gateway.proxy.admission.snapshot("acme-limits-unauth"), undefined);
  });

  it("releases the ticket of a request that fails in the handler", async () => {
    const kv = gateway.client(KeyValueBasicInterface, { namespace: "acme-limits-invalid", apiKey: DEMO_KEYS.acme });
    assert.equal((await failure(kv.get({ key: "" }))).code, Code.InvalidArgument);
    assert.equal(gateway.proxy.admission.snapshot("acme-limits-invalid")?.inFlight.used, 0);
  });
});
