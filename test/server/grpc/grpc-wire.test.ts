import { after, before, describe, it } from "node:test";
import assert from "node:assert/strict";
import { gzipSync } from "node:zlib";
import { create, fromBinary, toBinary } from "@bufbuild/protobuf";
import {
  ExistsRequestSchema,
  KeyValueBasicInterface,
  SetRequestSchema,
  SetResponseSchema,
} from "../../../src/gen/prism/interfaces/keyvalue/keyvalue_basic_pb.js";
import { PubSubBasicInterface, SubscribeRequestSchema } from "../../../src/gen/prism/interfaces/pubsub/pubsub_basic_pb.js";
import { requestMaxBytes } from "../../../src/proxy.js";
import { DEMO_KEYS, eventually, startTestProxy, type TestProxy } from "../../support/test-proxy.js";
import { envelope, methodPath, rawHttp2Call, type RawResponse } from "./grpc-test-clients.js";

const ACME = { "x-prism-namespace": "acme-prod", authorization: `Bearer ${DEMO_KEYS.acme}` };
const SET_PATH = methodPath(KeyValueBasicInterface.method.set);
const EXISTS_PATH = methodPath(KeyValueBasicInterface.method.exists);

function setBody(key: string): Buffer {
  return envelope(toBinary(SetRequestSchema, create(SetRequestSchema, { key, value: new Uint8Array([1, 2, 3]) })));
}

function existsBody(key: string): Buffer {
  return envelope(toBinary(ExistsRequestSchema, create(ExistsRequestSchema, { key })));
}

function grpcMessage(response: RawResponse): string {
  return decodeURIComponent(String(response.trailers["grpc-message"] ?? response.headers["grpc-message"] ?? ""));
}

function grpcStatus(response: RawResponse): string {
  return String(response.trailers["grpc-status"] ?? response.headers["grpc-status"]);
}

describe("gRPC path, wire format", () => {
  let gateway: TestProxy;

  before(async () => {
    gateway = await startTestProxy();
  });

  after(async () => {
    await gateway.close();
  });

  it("sends headers, one framed message and OK trailers", async () => {
    const response = await rawHttp2Call(gateway.baseUrl, { path: SET_PATH, headers: { ...ACME, "x-request-id": "wire-1" }, body: setBody("wire-ok") });
    assert.equal(response.headers[":status"], 200);
    assert.equal(response.headers["content-type"], "application/grpc");
    assert.equal(response.headers["x-request-id"], "wire-1");
    assert.equal(response.headers["grpc-status"], undefined, "a successful unary call is not trailers-only");
    assert.equal(response.trailers["grpc-status"], "0");

    assert.equal(response.data[0], 0, "the response message is not compressed");
    assert.equal(response.data.readUInt32BE(1), response.data.length - 5);
    assert.equal(fromBinary(SetResponseSchema, response.data.subarray(5)).success, true);
  });

  it("percent-encodes grpc-message as the gRPC spec asks", async () => {
    const response = await rawHttp2Call(gateway.baseUrl, { path: SET_PATH, headers: ACME, body: setBody("é%\n") });
    assert.equal(grpcStatus(response), "3");
    const raw = String(response.trailers["grpc-message"]);
    // Non-ASCII bytes and "%" are escaped; printable ASCII such as '"', "+" and ";" is not.
    assert.match(raw, /^key "%C3%A9%25\\n" contains U\+000A; keys may not contain/);
    assert.match(grpcMessage(response), /^key "é%\\n" contains U\+000A; keys may not contain/);
  });

  it("accepts application/grpc+proto", async () => {
    const response = await rawHttp2Call(gateway.baseUrl, {
      path: EXISTS_PATH,
      headers: { ...ACME, "content-type": "application/grpc+proto" },
      body: existsBody("k"),
    });
    assert.equal(grpcStatus(response), "0");
  });

  it("serves a request without te: trailers, as Connect does", async () => {
    const response = await rawHttp2Call(gateway.baseUrl, {
      path: EXISTS_PATH,
      replaceDefaults: true,
      headers: { ...ACME, ":method": "POST", "content-type": "application/grpc" },
      body: existsBody("k"),
    });
    assert.equal(grpcStatus(response), "0");
  });

  it("answers a GET with HTTP 405, as Connect does", async () => {
    const response = await rawHttp2Call(gateway.baseUrl, { path: EXISTS_PATH, headers: { ...ACME, ":method": "GET" } });
    assert.equal(response.headers[":status"], 405);
  });

  it("answers an unknown method with a trailers-only UNIMPLEMENTED and stops the upload", async () => {
    const response = await rawHttp2Call(gateway.baseUrl, {
      path: "/prism.interfaces.keyvalue.KeyValueBasicInterface/Fetch",
      headers: ACME,
      body: existsBody("k"),
      keepOpen: true,
    });
    assert.equal(response.headers[":status"], 200);
    assert.equal(response.headers["grpc-status"], "12");
    assert.match(grpcMessage(response), /unknown method \/prism\.interfaces\.keyvalue\.KeyValueBasicInterface\/Fetch/);
    assert.equal(response.rstCode, 0);
  });

  it("rejects a malformed grpc-timeout with INVALID_ARGUMENT", async () => {
    const response = await rawHttp2Call(gateway.baseUrl, { path: EXISTS_PATH, headers: { ...ACME, "grpc-timeout": "soon" }, body: existsBody("k") });
    assert.equal(grpcStatus(response), "3");
    assert.equal(grpcMessage(response), "protocol error: invalid grpc timeout value: soon");
  });

  it("rejects an unknown grpc-encoding with UNIMPLEMENTED and the accepted encodings", async () => {
    const response = await rawHttp2Call(gateway.baseUrl, { path: EXISTS_PATH, headers: { ...ACME, "grpc-encoding": "snappy" }, body: existsBody("k") });
    assert.equal(grpcStatus(response), "12");
    assert.match(grpcMessage(response), /unknown compression "snappy"/);
    assert.equal(response.trailers["grpc-accept-encoding"], "gzip,br");
  });

  it("rejects a compressed message without grpc-encoding with UNIMPLEMENTED", async () => {
    const compressed = gzipSync(toBinary(ExistsRequestSchema, create(ExistsRequestSchema, { key: "k" })));
    const response = await rawHttp2Call(gateway.baseUrl, { path: EXISTS_PATH, headers: ACME, body: envelope(compressed, 1) });
    assert.equal(grpcStatus(response), "12");
    assert.match(grpcMessage(response), /compressed message without a grpc-encoding header/);
    assert.equal(response.trailers["grpc-accept-encoding"], "gzip,br");
  });

  it("decompresses a gzip message", async () => {
    const compressed = gzipSync(toBinary(ExistsRequestSchema, create(ExistsRequestSchema, { key: "k" })));
    const response = await rawHttp2Call(gateway.baseUrl, {
      path: EXISTS_PATH,
      headers: { ...ACME, "grpc-encoding": "gzip" },
      body: envelope(compressed, 1),
    });
    assert.equal(grpcStatus(response), "0");
  });

  it("rejects a second request message with UNIMPLEMENTED", async () => {
    const response = await rawHttp2Call(gateway.baseUrl, {
      path: EXISTS_PATH,
      headers: ACME,
      body: Buffer.concat([existsBody("a"), existsBody("b")]),
    });
    assert.equal(grpcStatus(response), "12");
    assert.equal(grpcMessage(response), "protocol error: received extra input message for unary method");
  });

  it("rejects an empty body with UNIMPLEMENTED", async () => {
    const response = await rawHttp2Call(gateway.baseUrl, { path: EXISTS_PATH, headers: ACME });
    assert.equal(grpcStatus(response), "12");
    assert.equal(grpcMessage(response), "protocol error: missing input message for unary method");
  });

  it("rejects a truncated message with INVALID_ARGUMENT", async () => {
    const body = existsBody("truncated");
    const response = await rawHttp2Call(gateway.baseUrl, { path: EXISTS_PATH, headers: ACME, body: body.subarray(0, body.length - 2) });
    assert.equal(grpcStatus(response), "3");
    assert.equal(grpcMessage(response), "protocol error: incomplete envelope");
  });

  it("rejects an oversized message from its header while the client is still sending", async () => {
    const readMaxBytes = requestMaxBytes(gateway.proxy.config.proxy.request_limits);
    const header = Buffer.alloc(5);
    header.writeUInt32BE(readMaxBytes + 1, 1);
    const response = await rawHttp2Call(gateway.baseUrl, {
      path: SET_PATH,
      headers: ACME,
      body: Buffer.concat([header, Buffer.alloc(1024)]),
      keepOpen: true,
    });
    assert.equal(grpcStatus(response), "8");
    assert.equal(grpcMessage(response), `message size ${readMaxBytes + 1} is larger than configured readMaxBytes ${readMaxBytes}`);
    assert.equal(response.rstCode, 0, "the server stops the upload with RST_STREAM NO_ERROR");
  });

  it("ends a subscription at its grpc-timeout with DEADLINE_EXCEEDED and frees it", async () => {
    const before = gateway.proxy.drivers.pubSub.subscriptionCount();
    const request = create(SubscribeRequestSchema, { topic: "wire.deadline", subscriberId: "wire-deadline" });
    const response = await rawHttp2Call(gateway.baseUrl, {
      path: methodPath(PubSubBasicInterface.method.subscribe),
      headers: { ...ACME, "grpc-timeout": "200m" },
      body: envelope(toBinary(SubscribeRequestSchema, request)),
    });
    assert.equal(grpcStatus(response), "4");
    assert.equal(grpcMessage(response), "the operation timed out");
    assert.equal(response.data.length, 0);
    // The trailers go out at the deadline; the subscription is closed right after.
    await eventually(() => gateway.proxy.drivers.pubSub.subscriptionCount() === before, "the subscription to be freed");
    await eventually(() => gateway.proxy.inFlight.streams === 0, "the stream to leave the in-flight count");
  });
});
