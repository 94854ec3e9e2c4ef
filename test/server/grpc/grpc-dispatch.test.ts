import { after, before, describe, it } from "node:test";
import assert from "node:assert/strict";
import { createClient, type Interceptor, type Transport } from "@connectrpc/connect";
import { Http2SessionManager, createConnectTransport, createGrpcTransport, createGrpcWebTransport } from "@connectrpc/connect-node";
import { KeyValueBasicInterface } from "../../../src/gen/prism/interfaces/keyvalue/keyvalue_basic_pb.js";
import { DEMO_KEYS, assertSameBytes, startTestProxy, type TestProxy } from "../../support/test-proxy.js";

const acmeHeaders: Interceptor = (next) => (request) => {
  request.header.set("x-prism-namespace", "acme-prod");
  request.header.set("authorization", `Bearer ${DEMO_KEYS.acme}`);
  return next(request);
};

/** Returns a transport of each protocol, all on the session manager's one HTTP/2 connection. */
function transportsOn(baseUrl: string, sessionManager: Http2SessionManager): Record<string, Transport> {
  const options = { baseUrl, httpVersion: "2" as const, sessionManager, interceptors: [acmeHeaders] };
  return {
    "gRPC with protobuf": createGrpcTransport(options),
    "gRPC with JSON": createGrpcTransport({ ...options, useBinaryFormat: false }),
    "gRPC-Web": createGrpcWebTransport(options),
    "Connect with JSON": createConnectTransport(options),
    "Connect with protobuf": createConnectTransport({ ...options, useBinaryFormat: true }),
  };
}

describe("HTTP/2 dispatch between the gRPC router and Connect", () => {
  let gateway: TestProxy;
  const sessionManagers: Http2SessionManager[] = [];

  before(async () => {
    gateway = await startTestProxy();
  });

  after(async () => {
    sessionManagers.forEach((manager) => manager.abort());
    await gateway.close();
  });

  function connection(): Record<string, Transport> {
    const sessionManager = new Http2SessionManager(gateway.baseUrl);
    sessionManagers.push(sessionManager);
    return transportsOn(gateway.baseUrl, sessionManager);
  }

  it("serves every protocol on one HTTP/2 connection", async () => {
    for (const [name, transport] of Object.entries(connection())) {
      const kv = createClient(KeyValueBasicInterface, transport);
      const value = new TextEncoder().encode(name);
      const key = `dispatch-${name.replaceAll(" ", "-")}`;
      await kv.set({ key, value });
      assertSameBytes((await kv.get({ key })).value, value, name);
    }
  });

  it("gives both paths the same session for one connection", async () => {
    const before = gateway.proxy.sessions.activeCount;
    for (const transport of Object.values(connection())) {
      await createClient(KeyValueBasicInterface, transport).exists({ key: "dispatch-session" });
    }
    assert.equal(gateway.proxy.sessions.activeCount, before + 1);
  });
});
