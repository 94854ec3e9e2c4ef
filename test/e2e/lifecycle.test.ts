import { describe, it } from "node:test";
import assert from "node:assert/strict";
import { Code, ConnectError } from "@connectrpc/connect";
import { KeyValueBasicInterface } from "../../src/gen/prism/interfaces/keyvalue/keyvalue_basic_pb.js";
import { PubSubBasicInterface } from "../../src/gen/prism/interfaces/pubsub/pubsub_basic_pb.js";
import { DEMO_KEYS, eventually, startTestProxy } from "../support/test-proxy.js";

describe("proxy lifecycle", () => {
  it("reports health and readiness on the admin listener", async () => {
    const gateway = await startTestProxy();
    try {
      const health = await fetch(`http://${gateway.proxy.adminAddress}/healthz`);
      assert.equal(health.status, 200);

      const ready = await fetch(`http://${gateway.proxy.adminAddress}/readyz`);
      assert.equal(ready.status, 200);
      const body = (await ready.json()) as { status: string; backends: { backend: string; state: string }[] };
      assert.equal(body.status, "ready");
      assert.deepEqual(
        body.backends.map((backend) => backend.state),
        ["ready", "ready"],
      );

      const missing = await fetch(`http://${gateway.proxy.adminAddress}/nope`);
      assert.equal(missing.status, 404);
    } finally {
      await gateway.close();
    }
  });

  it("ends streams with UNAVAILABLE and refuses new work on shutdown", async () => {
    const gateway = await startTestProxy();
    const acme = gateway.client(PubSubBasicInterface, { namespace: "acme-prod", apiKey: DEMO_KEYS.acme });
    const kv = gateway.client(KeyValueBasicInterface, { namespace: "acme-prod", apiKey: DEMO_KEYS.acme });
    await kv.set({ key: "before-shutdown", value: new Uint8Array([1]) });

    const ended = (async () => {
      try {
        for await (const _message of acme.subscribe({ topic: "shutdown.watch" })) {
          // Nothing is published; the stream only ends.
        }
        return undefined;
      } catch (error) {
        return ConnectError.from(error);
      }
    })();
    await eventually(() => gateway.proxy.drivers.pubSub.subscriptionCount() === 1, "the subscription");

    const closing = gateway.close();
    const failure = await ended;
    assert.equal(failure?.code, Code.Unavailable);
    assert.match(failure?.rawMessage ?? "", /shutting down/);
    await closing;

    assert.equal(gateway.proxy.state, "closed");
    assert.equal(gateway.proxy.drivers.pubSub.subscriptionCount(), 0);
    await assert.rejects(kv.get({ key: "before-shutdown" }), (error: unknown) => {
      assert.equal(ConnectError.from(error).code, Code.Unavailable);
      return true;
    });
  });

  it("closes idempotently", async () => {
    const gateway = await startTestProxy();
    await Promise.all([gateway.close(), gateway.close()]);
    await gateway.close();
    assert.equal(gateway.proxy.state, "closed");
  });
});
