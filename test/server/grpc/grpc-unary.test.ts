import { after, before, describe, it } from "node:test";
import assert from "node:assert/strict";
import * as grpc from "@grpc/grpc-js";
import { Code, ConnectError, createClient } from "@connectrpc/connect";
import { Http2SessionManager, compressionGzip, createGrpcTransport } from "@connectrpc/connect-node";
import { KeyValueBasicInterface } from "../../../src/gen/prism/interfaces/keyvalue/keyvalue_basic_pb.js";
import { requestMaxBytes } from "../../../src/proxy.js";
import { DEMO_KEYS, assertSameBytes, startTestProxy, type TestProxy } from "../../support/test-proxy.js";
import { credentials, grpcJsClient, grpcJsUnary } from "./grpc-test-clients.js";

const KV = KeyValueBasicInterface.method;

/** A tenant limited to one request per second, so its second request is rate limited. */
const THROTTLED_TENANT = "initech";

describe("gRPC path, unary calls", () => {
  let gateway: TestProxy;
  let client: grpc.Client;
  let readMaxBytes: number;

  before(async () => {
    gateway = await startTestProxy((config) => {
      const tenant = config.tenants.find((entry) => entry.id === THROTTLED_TENANT);
      assert.ok(tenant);
      tenant.limits = { max_rps: 1, burst: 1, max_in_flight: 100 };
    });
    readMaxBytes = requestMaxBytes(gateway.proxy.config.proxy.request_limits);
    client = grpcJsClient(gateway.proxy.address);
  });

  after(async () => {
    client.close();
    await gateway.close();
  });

  const acme = (extra: Record<string, string> = {}): grpc.Metadata => credentials("acme-prod", DEMO_KEYS.acme, extra);

  describe("with @grpc/grpc-js", () => {
    it("sets and gets a value", async () => {
      const value = new TextEncoder().encode("grpc-js value");
      const set = await grpcJsUnary(client, KV.set, { key: "grpc-unary-set", value }, acme());
      assert.equal(set.error, undefined);
      assert.equal(set.response?.success, true);
      assert.equal(set.status.code, grpc.status.OK);

      const get = await grpcJsUnary(client, KV.get, { key: "grpc-unary-set" }, acme());
      assert.equal(get.response?.found, true);
      assertSameBytes(get.response?.value, value);
    });

    it("returns a generated x-request-id header", async () => {
      const outcome = await grpcJsUnary(client, KV.exists, { key: "grpc-unary-id" }, acme());
      const [requestId] = outcome.headers?.get("x-request-id") ?? [];
      assert.match(String(requestId), /^[0-9a-f-]{36}$/);
    });

    it("echoes the client's x-request-id", async () => {
      const outcome = await grpcJsUnary(client, KV.exists, { key: "grpc-unary-id" }, acme({ "x-request-id": "client-id-42" }));
      assert.deepEqual(outcome.headers?.get("x-request-id"), ["client-id-42"]);
    });

    it("rejects a wrong API key with UNAUTHENTICATED", async () => {
      const outcome = await grpcJsUnary(client, KV.get, { key: "k" }, credentials("acme-prod", "not-a-key"));
      assert.equal(outcome.error?.code, grpc.status.UNAUTHENTICATED);
      assert.match(outcome.error?.details ?? "", /API key is not valid/);
    });

    it("rejects another tenant's namespace with PERMISSION_DENIED", async () => {
      const outcome = await grpcJsUnary(client, KV.get, { key: "k" }, credentials("globex-prod", DEMO_KEYS.acme));
      assert.equal(outcome.error?.code, grpc.status.PERMISSION_DENIED);
      assert.match(outcome.error?.details ?? "", /may not use namespace "globex-prod"/);
    });

    it("rejects an invalid key with INVALID_ARGUMENT and keeps x-request-id", async () => {
      const outcome = await grpcJsUnary(client, KV.set, { key: "a\nb", value: new Uint8Array([1]) }, acme({ "x-request-id": "bad-key-1" }));
      assert.equal(outcome.error?.code, grpc.status.INVALID_ARGUMENT);
      assert.match(outcome.error?.details ?? "", /contains U\+000A/);
      assert.deepEqual(outcome.headers?.get("x-request-id"), ["bad-key-1"]);
    });

    it("sends retry-after in the trailers of a rate-limited call", async () => {
      const metadata = (): grpc.Metadata => credentials("initech-prod", DEMO_KEYS.initech);
      const outcomes = await Promise.all([1, 2, 3].map(() => grpcJsUnary(client, KV.exists, { key: "grpc-rate" }, metadata())));
      const limited = outcomes.find((outcome) => outcome.error !== undefined);
      assert.ok(limited, "no call was rate limited");
      assert.equal(limited.error?.code, grpc.status.RESOURCE_EXHAUSTED);
      assert.match(limited.error?.details ?? "", /retry/i);
      assert.deepEqual(limited.status.metadata.get("retry-after"), ["1"]);
      assert.equal(limited.status.metadata.get("x-prism-retry-after-ms").length, 1);
    });

    it("round-trips a value of the largest allowed size", async () => {
      const value = new Uint8Array(gateway.proxy.config.proxy.request_limits.max_value_bytes).map((_, index) => index % 251);
      const set = await grpcJsUnary(client, KV.set, { key: "grpc-large", value }, acme());
      assert.equal(set.error, undefined);
      const get = await grpcJsUnary(client, KV.get, { key: "grpc-large" }, acme());
      assertSameBytes(get.response?.value, value, "the large value");
    });

    it("rejects a message above readMaxBytes with RESOURCE_EXHAUSTED", async () => {
      const value = new Uint8Array(readMaxBytes + 1);
      const outcome = await grpcJsUnary(client, KV.set, { key: "grpc-too-large", value }, acme());
      assert.equal(outcome.error?.code, grpc.status.RESOURCE_EXHAUSTED);
      assert.match(outcome.error?.details ?? "", new RegExp(`is larger than configured readMaxBytes ${readMaxBytes}`));

      const after = await grpcJsUnary(client, KV.exists, { key: "grpc-too-large" }, acme());
      assert.equal(after.response?.exists, false, "the rejected value was stored");
    });

    it("rejects malformed protobuf with INVALID_ARGUMENT", async () => {
      // Field 1 (key) declared as 100 bytes long, with only 2 bytes following.
      const garbage = Buffer.from([0x0a, 0x64, 0x61, 0x62]);
      const outcome = await grpcJsUnary(client, KV.get, { key: "" }, acme(), {}, () => garbage);
      assert.equal(outcome.error?.code, grpc.status.INVALID_ARGUMENT);
      assert.match(outcome.error?.details ?? "", /invalid prism\.interfaces\.keyvalue\.GetRequest message/);
    });

    it("answers an unknown method with UNIMPLEMENTED", async () => {
      const unknown = { ...KV.get, name: "Fetch" };
      const outcome = await grpcJsUnary(client, unknown, { key: "k" }, acme());
      assert.equal(outcome.error?.code, grpc.status.UNIMPLEMENTED);
      assert.match(outcome.error?.details ?? "", /unknown method \/prism\.interfaces\.keyvalue\.KeyValueBasicInterface\/Fetch/);
    });

    it("accepts a gzip-compressed request", async () => {
      const compressing = grpcJsClient(gateway.proxy.address, { "grpc.default_compression_algorithm": grpc.compressionAlgorithms.gzip });
      try {
        const value = new Uint8Array(4096).fill(7);
        const set = await grpcJsUnary(compressing, KV.set, { key: "grpc-gzip", value }, acme());
        assert.equal(set.error, undefined);
        const get = await grpcJsUnary(client, KV.get, { key: "grpc-gzip" }, acme());
        assertSameBytes(get.response?.value, value);
      } finally {
        compressing.close();
      }
    });
  });

  describe("with the Connect gRPC transport", () => {
    let sessionManager: Http2SessionManager;
    let kv: ReturnType<typeof createClient<typeof KeyValueBasicInterface>>;

    before(() => {
      sessionManager = new Http2SessionManager(gateway.baseUrl);
      const transport = createGrpcTransport({
        baseUrl: gateway.baseUrl,
        sessionManager,
        interceptors: [
          (next) => (request) => {
            request.header.set("x-prism-namespace", "acme-prod");
            request.header.set("authorization", `Bearer ${DEMO_KEYS.acme}`);
            return next(request);
          },
        ],
      });
      kv = createClient(KeyValueBasicInterface, transport);
    });

    after(() => {
      sessionManager.abort();
    });

    async function failure(call: Promise<unknown>): Promise<ConnectError> {
      try {
        await call;
      } catch (error) {
        return ConnectError.from(error);
      }
      assert.fail("the call succeeded");
    }

    it("sets and gets a value with response headers", async () => {
      const value = new TextEncoder().encode("connect value");
      let requestId: string | null = null;
      await kv.set({ key: "connect-unary", value }, { onHeader: (headers) => (requestId = headers.get("x-request-id")) });
      assert.match(String(requestId), /^[0-9a-f-]{36}$/);
      assertSameBytes((await kv.get({ key: "connect-unary" })).value, value);
    });

    it("reports handler errors with their code and message", async () => {
      const error = await failure(kv.set({ key: "", value: new Uint8Array([1]) }));
      assert.equal(Code[error.code], Code[Code.InvalidArgument]);
      assert.match(error.rawMessage, /key must not be empty/);
    });

    it("rejects a message above readMaxBytes with RESOURCE_EXHAUSTED", async () => {
      const error = await failure(kv.set({ key: "connect-too-large", value: new Uint8Array(readMaxBytes + 1) }));
      assert.equal(Code[error.code], Code[Code.ResourceExhausted]);
      assert.match(error.rawMessage, new RegExp(`is larger than configured readMaxBytes ${readMaxBytes}`));
      assert.equal((await kv.exists({ key: "connect-too-large" })).exists, false);
    });

    it("accepts a gzip-compressed request", async () => {
      const transport = createGrpcTransport({
        baseUrl: gateway.baseUrl,
        sendCompression: compressionGzip,
        interceptors: [
          (next) => (request) => {
            request.header.set("x-prism-namespace", "acme-prod");
            request.header.set("authorization", `Bearer ${DEMO_KEYS.acme}`);
            return next(request);
          },
        ],
      });
      const value = new Uint8Array(8192).fill(3);
      await createClient(KeyValueBasicInterface, transport).set({ key: "connect-gzip", value });
      assertSameBytes((await kv.get({ key: "connect-gzip" })).value, value);
    });
  });
});
