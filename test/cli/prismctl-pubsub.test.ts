import { after, before, describe, it } from "node:test";
import assert from "node:assert/strict";
import { randomUUID } from "node:crypto";
import type { Proxy } from "../../src/proxy.js";
import {
  ACME,
  GLOBEX,
  TcpRelay,
  connectionArgs,
  finish,
  jsonOf,
  runCli,
  spawnCli,
  startDemoProxy,
  waitFor,
} from "./cli-harness.js";

const MESSAGE_ID = /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/;

/** Returns a topic that no other test run uses. */
function uniqueTopic(label: string): string {
  return `cli.${label}.${randomUUID()}`;
}

void describe("prismctl pubsub", () => {
  let proxy: Proxy;
  let acme: string[];

  const subscriptions = (): number => proxy.drivers.pubSub.subscriptionCount();

  before(async () => {
    proxy = await startDemoProxy();
    acme = connectionArgs(proxy, ACME);
  });

  after(async () => {
    await proxy.close();
  });

  void it("subscribe prints a published message and exits 0 after --count 1", async () => {
    const topic = uniqueTopic("count");
    const subscriber = spawnCli(["pubsub", "subscribe", topic, "--count", "1", ...acme]);
    const done = finish(subscriber);
    await waitFor(() => subscriptions() === 1, "the subscription to open");

    const published = await runCli(["pubsub", "publish", topic, '{"id":1}', ...acme]);
    assert.equal(published.exitCode, 0, published.stderr);
    assert.match(published.stdout.toString().trim(), MESSAGE_ID);

    const result = await done;
    assert.equal(result.exitCode, 0, result.stderr);
    assert.equal(result.stdout.toString(), '{"id":1}\n');
    await waitFor(() => subscriptions() === 0, "the subscription to close");
  });

  void it("subscribe --json prints topic, payload, metadata, id and timestamp", async () => {
    const topic = uniqueTopic("json");
    const subscriber = spawnCli(["pubsub", "subscribe", topic, "--count", "1", "--json", ...acme]);
    const done = finish(subscriber);
    await waitFor(() => subscriptions() === 1, "the subscription to open");

    const sentAt = Date.now();
    const args = ["pubsub", "publish", topic, "payload bytes", "--meta", "source=cli", "--meta", "trace=a=b", "--json"];
    const published = await runCli([...args, ...acme]);
    assert.equal(published.exitCode, 0, published.stderr);
    const messageId = jsonOf(published)["message_id"];
    assert.match(String(messageId), MESSAGE_ID);

    const result = await done;
    assert.equal(result.exitCode, 0, result.stderr);
    const message = jsonOf(result);
    assert.equal(message["topic"], topic);
    assert.equal(message["payload"], Buffer.from("payload bytes").toString("base64"));
    assert.deepEqual(message["metadata"], { source: "cli", trace: "a=b" });
    assert.equal(message["message_id"], messageId);
    assert.equal(typeof message["timestamp"], "number");
    assert.ok(Math.abs((message["timestamp"] as number) - sentAt) < 60_000, `timestamp ${String(message["timestamp"])}`);
  });

  void it("subscribe exits 0 on SIGTERM and the proxy closes the subscription", async () => {
    const subscriber = spawnCli(["pubsub", "subscribe", uniqueTopic("sigterm"), ...acme]);
    const done = finish(subscriber);
    await waitFor(() => subscriptions() === 1, "the subscription to open");

    subscriber.kill("SIGTERM");
    const result = await done;

    assert.equal(result.signal, null);
    assert.equal(result.exitCode, 0, result.stderr);
    await waitFor(() => subscriptions() === 0, "the subscription to close");
  });

  void it("subscribe over Connect exits 0 on SIGINT and the proxy closes the subscription", async () => {
    const topic = uniqueTopic("sigint");
    const subscriber = spawnCli(["pubsub", "subscribe", topic, "--protocol", "connect", ...acme]);
    const done = finish(subscriber);
    await waitFor(() => subscriptions() === 1, "the subscription to open");

    const published = await runCli(["pubsub", "publish", topic, "over connect", "--protocol", "connect", ...acme]);
    assert.equal(published.exitCode, 0, published.stderr);
    subscriber.kill("SIGINT");
    const result = await done;

    assert.equal(result.exitCode, 0, result.stderr);
    assert.equal(result.stdout.toString(), "over connect\n");
    await waitFor(() => subscriptions() === 0, "the subscription to close");
  });

  void it("subscribe exits 3 when the proxy shuts down", async () => {
    const closing = await startDemoProxy();
    const subscriber = spawnCli(["pubsub", "subscribe", uniqueTopic("shutdown"), ...connectionArgs(closing, ACME)]);
    const done = finish(subscriber);
    await waitFor(() => closing.drivers.pubSub.subscriptionCount() === 1, "the subscription to open");

    await closing.close();
    const result = await done;

    assert.equal(result.exitCode, 3, result.stderr);
    assert.match(result.stderr, /^prismctl: unavailable: the proxy is shutting down/);
  });

  void it("subscribe exits 4 when the connection breaks", async () => {
    const relay = await TcpRelay.start(proxy.address);
    try {
      for (const protocol of ["grpc", "connect"]) {
        const args = ["pubsub", "subscribe", uniqueTopic("reset"), "--protocol", protocol];
        const subscriber = spawnCli([...args, "--address", relay.address, "--namespace", ACME.namespace, "--api-key", ACME.apiKey]);
        const done = finish(subscriber);
        await waitFor(() => subscriptions() === 1, "the subscription to open");

        relay.cutConnections();
        const result = await done;

        assert.equal(result.exitCode, 4, `${protocol}: ${result.stderr}`);
        assert.match(result.stderr, /^prismctl: the connection to the proxy at http:\/\/127\.0\.0\.1:\d+ broke/);
        await waitFor(() => subscriptions() === 0, "the subscription to close");
      }
    } finally {
      await relay.close();
    }
  });

  void it("subscribe --timeout exits 1 when --count messages did not arrive", async () => {
    const result = await runCli(["pubsub", "subscribe", uniqueTopic("short"), "--count", "1", "--timeout", "0.3", ...acme]);

    assert.equal(result.exitCode, 1);
    assert.match(result.stderr, /received 0 of 1 messages before the 0\.3 s timeout/);
    await waitFor(() => subscriptions() === 0, "the subscription to close");
  });

  void it("subscribe --timeout without --count exits 0", async () => {
    const result = await runCli(["pubsub", "subscribe", uniqueTopic("quiet"), "--timeout", "0.3", ...acme]);

    assert.equal(result.exitCode, 0, result.stderr);
    assert.equal(result.stdout.length, 0);
  });

  void it("a subscriber sees no other tenant's messages", async () => {
    const topic = uniqueTopic("isolation");
    const subscriber = spawnCli(["pubsub", "subscribe", topic, "--count", "1", "--timeout", "10", ...acme]);
    const done = finish(subscriber);
    await waitFor(() => subscriptions() === 1, "the subscription to open");

    const foreign = await runCli(["pubsub", "publish", topic, "from globex", ...connectionArgs(proxy, GLOBEX)]);
    assert.equal(foreign.exitCode, 0, foreign.stderr);
    const own = await runCli(["pubsub", "publish", topic, "from acme", ...acme]);
    assert.equal(own.exitCode, 0, own.stderr);

    const result = await done;
    assert.equal(result.exitCode, 0, result.stderr);
    assert.equal(result.stdout.toString(), "from acme\n");
  });

  void it("publish reads the payload from stdin", async () => {
    const topic = uniqueTopic("stdin");
    const subscriber = spawnCli(["pubsub", "subscribe", topic, "--count", "1", "--json", ...acme]);
    const done = finish(subscriber);
    await waitFor(() => subscriptions() === 1, "the subscription to open");

    const bytes = Uint8Array.from([0, 255, 10, 65]);
    const published = await runCli(["pubsub", "publish", topic, "-", ...acme], { stdin: bytes });
    assert.equal(published.exitCode, 0, published.stderr);

    const result = await done;
    assert.equal(jsonOf(result)["payload"], Buffer.from(bytes).toString("base64"));
  });

  void it("subscribe with a wrong API key exits 3", async () => {
    const args = ["pubsub", "subscribe", uniqueTopic("denied"), "--address", `http://${proxy.address}`];
    const result = await runCli([...args, "--namespace", ACME.namespace, "--api-key", GLOBEX.apiKey]);

    assert.equal(result.exitCode, 3);
    assert.match(result.stderr, /^prismctl: permission_denied: /);
  });

  void it("publish to a wildcard topic exits 3 with invalid_argument", async () => {
    const result = await runCli(["pubsub", "publish", "orders.*", "x", ...acme]);

    assert.equal(result.exitCode, 3);
    assert.match(result.stderr, /^prismctl: invalid_argument: /);
  });

  void it("publish rejects malformed --meta before sending", async () => {
    const result = await runCli(["pubsub", "publish", uniqueTopic("meta"), "x", "--meta", "novalue", ...acme]);

    assert.equal(result.exitCode, 2);
    assert.match(result.stderr, /--meta "novalue" is not valid/);
  });
});
