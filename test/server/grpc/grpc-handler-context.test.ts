import { after, before, describe, it } from "node:test";
import assert from "node:assert/strict";
import * as grpc from "@grpc/grpc-js";
import { Code, ConnectError, createClient, type HandlerContext } from "@connectrpc/connect";
import { Http2SessionManager, createConnectTransport, createGrpcTransport } from "@connectrpc/connect-node";
import { KeyValueBasicInterface } from "../../../src/gen/prism/interfaces/keyvalue/keyvalue_basic_pb.js";
import { PubSubBasicInterface } from "../../../src/gen/prism/interfaces/pubsub/pubsub_basic_pb.js";
import { createLogger } from "../../../src/observability/logger.js";
import { CONNECTION } from "../../../src/pipeline/request-scope.js";
import { DataServer } from "../../../src/server/data-server.js";
import { implementService } from "../../../src/server/grpc/service-spec.js";
import { CapturedLog, eventually } from "../../support/test-proxy.js";
import { grpcJsClient, grpcJsServerStream, grpcJsUnary } from "./grpc-test-clients.js";

const KV = KeyValueBasicInterface.method;

/**
 * A DataServer whose handlers record their HandlerContext, so the tests can check what
 * the gRPC router passes to an implementation without the pipeline in between.
 */
describe("gRPC router handler context", () => {
  const log = new CapturedLog();
  const shutdown = new AbortController();
  const seen: HandlerContext[] = [];
  let streamSignal: AbortSignal | undefined;
  let streamFinished = false;
  let server: DataServer;
  let baseUrl: string;
  let address: string;

  before(async () => {
    server = new DataServer({
      services: [
        implementService(KeyValueBasicInterface, {
          get(request, context) {
            seen.push(context);
            // Read during the call, so the completion abort is observable afterwards.
            void context.signal;
            context.responseTrailer.set("x-extra", "trailer value");
            return { found: request.key === "present" };
          },
          set() {
            throw new Error("a bug in a handler");
          },
          delete(_request, context) {
            context.responseHeader.set("connection", "close");
            return { success: true };
          },
          exists: (_request, context) => {
            seen.push(context);
            return { exists: true };
          },
        }),
        implementService(PubSubBasicInterface, {
          publish: () => ({ success: true }),
          unsubscribe: () => ({ success: true }),
          async *subscribe(request, context) {
            streamSignal = context.signal;
            try {
              yield { topic: request.topic, payload: new Uint8Array([1]) };
              await new Promise((resolve) => context.signal.addEventListener("abort", resolve, { once: true }));
            } finally {
              streamFinished = true;
            }
          },
        }),
      ],
      readMaxBytes: 1024 * 1024,
      shutdownSignal: shutdown.signal,
      logger: createLogger({ level: "debug", destination: log }),
    });
    address = await server.listen("127.0.0.1:0");
    baseUrl = `http://${address}`;
  });

  after(async () => {
    server.stopAccepting();
    await server.closeConnections(1000);
  });

  it("passes the fields Connect's gRPC handler sets", async () => {
    const client = grpcJsClient(address);
    try {
      const metadata = new grpc.Metadata();
      metadata.set("x-custom", "custom value");
      seen.length = 0;
      const outcome = await grpcJsUnary(client, KV.get, { key: "present" }, metadata, { deadline: Date.now() + 60_000 });
      assert.equal(outcome.response?.found, true);

      const [context] = seen;
      assert.ok(context);
      assert.equal(context.protocolName, "grpc");
      assert.equal(context.requestMethod, "POST");
      assert.equal(context.method, KV.get);
      assert.equal(context.service, KeyValueBasicInterface);
      assert.equal(context.url, `${baseUrl}/prism.interfaces.keyvalue.KeyValueBasicInterface/Get`);
      assert.equal(context.requestHeader.get("x-custom"), "custom value");
      assert.equal(context.requestHeader.get("X-Custom"), "custom value");
      assert.equal(context.requestHeader.get(":path"), null);
      assert.deepEqual([...context.requestHeader.keys()].filter((name) => name.startsWith(":")), []);
      const remainingMs = context.timeoutMs();
      assert.ok(remainingMs !== undefined, "timeoutMs() returned undefined");
      assert.ok(remainingMs > 0, `timeoutMs() returned ${remainingMs}`);
      assert.ok(remainingMs <= 60_000, `timeoutMs() returned ${remainingMs}`);
      assert.deepEqual(outcome.status.metadata.get("x-extra"), ["trailer value"]);

      // The handler read the signal, and the completed call aborted it.
      assert.equal(context.signal.aborted, true);
      assert.ok(context.signal.reason instanceof DOMException);
      assert.equal(context.signal.reason.name, "AbortError");
    } finally {
      client.close();
    }
  });

  it("reports no timeout without grpc-timeout", async () => {
    const client = grpcJsClient(address);
    try {
      seen.length = 0;
      await grpcJsUnary(client, KV.exists, { key: "k" }, new grpc.Metadata());
      assert.equal(seen[0]?.timeoutMs(), undefined);
    } finally {
      client.close();
    }
  });

  it("gives the gRPC and Connect paths the same connection value", async () => {
    const sessionManager = new Http2SessionManager(baseUrl);
    try {
      seen.length = 0;
      const options = { baseUrl, httpVersion: "2" as const, sessionManager };
      await createClient(KeyValueBasicInterface, createGrpcTransport(options)).exists({ key: "a" });
      await createClient(KeyValueBasicInterface, createGrpcTransport(options)).exists({ key: "b" });
      await createClient(KeyValueBasicInterface, createConnectTransport(options)).exists({ key: "c" });
      const [first, second, third] = seen.map((context) => context.values.get(CONNECTION));
      assert.ok(first);
      assert.equal(second, first, "two gRPC calls on one connection");
      assert.equal(third, first, "a Connect call on the same connection");
      assert.equal(first.remoteAddress, "127.0.0.1");
    } finally {
      sessionManager.abort();
    }
  });

  it("answers an error that is not a ConnectError with INTERNAL and logs it", async () => {
    const client = grpcJsClient(address);
    try {
      const outcome = await grpcJsUnary(client, KV.set, { key: "k" }, new grpc.Metadata());
      assert.equal(outcome.error?.code, grpc.status.INTERNAL);
      assert.equal(outcome.error?.details, "internal error");
      assert.match(log.text(), /gRPC call failed with an unexpected error/);
      assert.match(log.text(), /a bug in a handler/);
    } finally {
      client.close();
    }
  });

  it("resets the stream when node:http2 rejects a header a handler set", async () => {
    const client = grpcJsClient(address);
    try {
      const outcome = await grpcJsUnary(client, KV.delete, { key: "k" }, new grpc.Metadata());
      assert.equal(outcome.error?.code, grpc.status.INTERNAL);
      assert.match(log.text(), /sending a gRPC response failed/);

      const next = await grpcJsUnary(client, KV.exists, { key: "k" }, new grpc.Metadata());
      assert.equal(next.response?.exists, true, "the server kept serving");
    } finally {
      client.close();
    }
  });

  it("aborts a stream's signal when the client cancels, and runs its finally block", async () => {
    const client = grpcJsClient(address);
    try {
      const stream = grpcJsServerStream(client, PubSubBasicInterface.method.subscribe, { topic: "t" }, new grpc.Metadata());
      stream.on("error", () => {});
      await new Promise((resolve) => stream.once("data", resolve));
      stream.cancel();
      await eventually(() => streamFinished, "the handler's finally block");
      assert.ok(streamSignal?.reason instanceof ConnectError);
      assert.equal(streamSignal.reason.code, Code.Canceled);
    } finally {
      client.close();
    }
  });
});
