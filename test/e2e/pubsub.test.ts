import { after, before, describe, it } from "node:test";
import assert from "node:assert/strict";
import { Code, ConnectError } from "@connectrpc/connect";
import { PubSubBasicInterface, type Message } from "../../src/gen/prism/interfaces/pubsub/pubsub_basic_pb.js";
import { DEMO_KEYS, eventually, startTestProxy, type TestProxy } from "../support/test-proxy.js";

const encoder = new TextEncoder();

describe("PubSub over gRPC", () => {
  let gateway: TestProxy;

  before(async () => {
    gateway = await startTestProxy((config) => {
      config.proxy.request_limits.max_subscriptions_per_session = 2;
    });
  });

  after(async () => {
    await gateway.close();
  });

  const subscriptions = (): number => gateway.proxy.drivers.pubSub.subscriptionCount();

  /** Collects a subscription's messages until the controller aborts; resolves with them and the end state. */
  function collect(stream: AsyncIterable<Message>): { messages: Message[]; done: Promise<ConnectError | undefined> } {
    const messages: Message[] = [];
    const done = (async () => {
      try {
        for await (const message of stream) {
          messages.push(message);
        }
        return undefined;
      } catch (error) {
        return ConnectError.from(error);
      }
    })();
    return { messages, done };
  }

  it("never delivers one tenant's messages to another on the same topic", async () => {
    const acme = gateway.client(PubSubBasicInterface, { namespace: "acme-prod", apiKey: DEMO_KEYS.acme });
    const globex = gateway.client(PubSubBasicInterface, { namespace: "globex-prod", apiKey: DEMO_KEYS.globex });
    const stopAcme = new AbortController();
    const stopGlobex = new AbortController();
    const before = subscriptions();

    const acmeStream = collect(acme.subscribe({ topic: "orders.created", subscriberId: "a1" }, { signal: stopAcme.signal }));
    const globexStream = collect(globex.subscribe({ topic: "orders.>", subscriberId: "g1" }, { signal: stopGlobex.signal }));
    await eventually(() => subscriptions() === before + 2, "both subscriptions");

    await globex.publish({ topic: "orders.created", payload: encoder.encode("globex order") });
    await acme.publish({ topic: "orders.created", payload: encoder.encode("acme order"), metadata: { source: "test" } });
    await eventually(() => acmeStream.messages.length === 1 && globexStream.messages.length === 1, "one message each");

    const [acmeMessage] = acmeStream.messages;
    assert.equal(new TextDecoder().decode(acmeMessage?.payload), "acme order");
    assert.equal(acmeMessage?.topic, "orders.created");
    assert.deepEqual(acmeMessage?.metadata, { source: "test" });
    assert.notEqual(acmeMessage?.messageId, "");
    assert.ok((acmeMessage?.timestamp ?? 0n) > 0n);
    assert.equal(new TextDecoder().decode(globexStream.messages[0]?.payload), "globex order");

    stopAcme.abort();
    stopGlobex.abort();
    await Promise.all([acmeStream.done, globexStream.done]);
    await eventually(() => subscriptions() === before, "the subscriptions to end");
  });

  it("frees a subscription whose client disconnects mid-stream", async () => {
    const before = subscriptions();
    const sessionsBefore = gateway.proxy.sessions.activeCount;
    const transport = gateway.transport({ namespace: "initech-prod", apiKey: DEMO_KEYS.initech });
    const { createClient } = await import("@connectrpc/connect");
    const client = createClient(PubSubBasicInterface, transport);
    const stop = new AbortController();
    const stream = collect(client.subscribe({ topic: "jobs.*", subscriberId: "w1" }, { signal: stop.signal }));
    await eventually(() => subscriptions() === before + 1, "the subscription");

    await client.publish({ topic: "jobs.one", payload: encoder.encode("1") });
    await eventually(() => stream.messages.length === 1, "the first message");

    stop.abort();
    const ended = await stream.done;
    assert.equal(ended?.code, Code.Canceled);
    await eventually(() => subscriptions() === before, "the subscription count to return");
    await eventually(() => gateway.proxy.subscriptions.size === 0, "no open subscription streams");
    assert.ok(gateway.proxy.sessions.activeCount >= sessionsBefore);
  });

  it("ends a stream cleanly on Unsubscribe", async () => {
    const acme = gateway.client(PubSubBasicInterface, { namespace: "acme-prod", apiKey: DEMO_KEYS.acme });
    const before = subscriptions();
    const stream = collect(acme.subscribe({ topic: "events", subscriberId: "u1" }));
    await eventually(() => subscriptions() === before + 1, "the subscription");

    const intruder = gateway.client(PubSubBasicInterface, { namespace: "acme-staging", apiKey: DEMO_KEYS.acmeReader });
    await intruder.unsubscribe({ topic: "events", subscriberId: "u1" });
    assert.equal(subscriptions(), before + 1, "another principal ended the subscription");

    assert.equal((await acme.unsubscribe({ topic: "events", subscriberId: "u1" })).success, true);
    assert.equal(await stream.done, undefined);
    assert.equal(subscriptions(), before);
  });

  it("limits subscriptions per session", async () => {
    const transport = gateway.transport({ namespace: "acme-prod", apiKey: DEMO_KEYS.acme });
    const { createClient } = await import("@connectrpc/connect");
    const client = createClient(PubSubBasicInterface, transport);
    const stop = new AbortController();
    const before = subscriptions();

    // One HTTP/2 connection is one session: a third subscription on it exceeds the limit of 2.
    const first = collect(client.subscribe({ topic: "s.1" }, { signal: stop.signal }));
    const second = collect(client.subscribe({ topic: "s.2" }, { signal: stop.signal }));
    await eventually(() => subscriptions() === before + 2, "two subscriptions");
    const third = await collect(client.subscribe({ topic: "s.3" }, { signal: stop.signal })).done;
    assert.equal(third?.code, Code.ResourceExhausted);
    assert.match(third?.rawMessage ?? "", /max_subscriptions_per_session is 2/);

    stop.abort();
    await Promise.all([first.done, second.done]);
    await eventually(() => subscriptions() === before, "the subscriptions to end");
  });

  it("rejects publishing to a wildcard or a malformed topic", async () => {
    const acme = gateway.client(PubSubBasicInterface, { namespace: "acme-prod", apiKey: DEMO_KEYS.acme });
    for (const topic of ["orders.*", ">", "a..b", "a b", ""]) {
      await assert.rejects(acme.publish({ topic, payload: new Uint8Array() }), (error: unknown) => {
        assert.equal(ConnectError.from(error).code, Code.InvalidArgument, `topic ${JSON.stringify(topic)}`);
        return true;
      });
    }
  });
});
