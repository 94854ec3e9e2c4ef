import { after, before, describe, it } from "node:test";
import assert from "node:assert/strict";
import * as grpc from "@grpc/grpc-js";
import type { Message } from "../../../src/gen/prism/interfaces/pubsub/pubsub_basic_pb.js";
import { PubSubBasicInterface } from "../../../src/gen/prism/interfaces/pubsub/pubsub_basic_pb.js";
import { DEMO_KEYS, eventually, startTestProxy, type TestProxy } from "../../support/test-proxy.js";
import { credentials, grpcJsClient, grpcJsServerStream, grpcJsUnary } from "./grpc-test-clients.js";

const PUBSUB = PubSubBasicInterface.method;

/** Resolves with the status a grpc-js stream ends with; messages are collected into `messages`. */
function collect(stream: grpc.ClientReadableStream<Message>, messages: Message[]): Promise<grpc.StatusObject> {
  stream.on("data", (message: Message) => messages.push(message));
  // A failed stream emits "error" as well as "status"; the status carries the same code.
  stream.on("error", () => {});
  return new Promise((resolve) => stream.on("status", resolve));
}

describe("gRPC path, server streaming", () => {
  let gateway: TestProxy;
  let client: grpc.Client;

  before(async () => {
    gateway = await startTestProxy();
    client = grpcJsClient(gateway.proxy.address);
  });

  after(async () => {
    client.close();
    await gateway.close();
  });

  const subscriptions = (): number => gateway.proxy.drivers.pubSub.subscriptionCount();
  const acme = (): grpc.Metadata => credentials("acme-prod", DEMO_KEYS.acme);

  it("delivers published messages and frees the subscription on cancel", async () => {
    const before = subscriptions();
    const messages: Message[] = [];
    const stream = grpcJsServerStream(client, PUBSUB.subscribe, { topic: "stream.cancel", subscriberId: "s1" }, acme());
    const ended = collect(stream, messages);
    await eventually(() => subscriptions() === before + 1, "the subscription");

    for (const text of ["one", "two", "three"]) {
      const published = await grpcJsUnary(client, PUBSUB.publish, { topic: "stream.cancel", payload: new TextEncoder().encode(text) }, acme());
      assert.equal(published.error, undefined);
    }
    await eventually(() => messages.length === 3, "three messages");
    assert.deepEqual(
      messages.map((message) => new TextDecoder().decode(message.payload)),
      ["one", "two", "three"],
    );

    stream.cancel();
    const status = await ended;
    assert.equal(status.code, grpc.status.CANCELLED);
    await eventually(() => subscriptions() === before, "the subscription to be freed");
    await eventually(() => gateway.proxy.inFlight.streams === 0, "the stream to leave the in-flight count");
  });

  it("waits for the client to read when its flow-control window is full", async () => {
    const before = subscriptions();
    const messages: Message[] = [];
    const stream = grpcJsServerStream(client, PUBSUB.subscribe, { topic: "stream.bulk", subscriberId: "bulk" }, acme());
    stream.pause();
    const ended = collect(stream, messages);
    await eventually(() => subscriptions() === before + 1, "the subscription");

    // 32 × 64 KiB is far more than HTTP/2's default 64 KiB stream window.
    const count = 32;
    for (let index = 0; index < count; index++) {
      const payload = new Uint8Array(64 * 1024).fill(index);
      const published = await grpcJsUnary(client, PUBSUB.publish, { topic: "stream.bulk", payload }, acme());
      assert.equal(published.error, undefined);
    }
    stream.resume();
    await eventually(() => messages.length === count, `${count} messages`);
    messages.forEach((message, index) => {
      assert.equal(message.payload.length, 64 * 1024);
      assert.equal(message.payload[0], index, `message ${index} is out of order`);
    });

    stream.cancel();
    await ended;
    await eventually(() => subscriptions() === before, "the subscription to be freed");
  });

  it("ends a subscription at the client's deadline and frees it", async () => {
    const before = subscriptions();
    const stream = grpcJsServerStream(client, PUBSUB.subscribe, { topic: "stream.deadline", subscriberId: "late" }, acme(), {
      deadline: Date.now() + 300,
    });
    const status = await collect(stream, []);
    assert.equal(status.code, grpc.status.DEADLINE_EXCEEDED);
    await eventually(() => subscriptions() === before, "the subscription to be freed");
  });

  it("ends a stream with the handler's error code", async () => {
    const status = await collect(grpcJsServerStream(client, PUBSUB.subscribe, { topic: "bad\ntopic", subscriberId: "x" }, acme()), []);
    assert.equal(status.code, grpc.status.INVALID_ARGUMENT);
    assert.match(status.details, /U\+000A/);
  });
});

describe("gRPC path, shutdown", () => {
  it("ends streams with UNAVAILABLE and refuses new calls", async () => {
    const gateway = await startTestProxy();
    const client = grpcJsClient(gateway.proxy.address);
    try {
      const acme = (): grpc.Metadata => credentials("acme-prod", DEMO_KEYS.acme);
      const stream = grpcJsServerStream(client, PUBSUB.subscribe, { topic: "stream.shutdown", subscriberId: "s" }, acme());
      const ended = collect(stream, []);
      await eventually(() => gateway.proxy.drivers.pubSub.subscriptionCount() === 1, "the subscription");

      const closing = gateway.close();
      const status = await ended;
      assert.equal(status.code, grpc.status.UNAVAILABLE);
      assert.match(status.details, /shutting down/);
      await closing;

      assert.equal(gateway.proxy.drivers.pubSub.subscriptionCount(), 0);
      const refused = await grpcJsUnary(client, PUBSUB.publish, { topic: "stream.shutdown" }, acme(), { deadline: Date.now() + 2000 });
      assert.equal(refused.error?.code, grpc.status.UNAVAILABLE);
    } finally {
      client.close();
      await gateway.close();
    }
  });
});
