import assert from "node:assert/strict";
import { Writable } from "node:stream";
import { createClient, type Client, type Interceptor, type Transport } from "@connectrpc/connect";
import { Http2SessionManager, createGrpcTransport } from "@connectrpc/connect-node";
import { KeyValueBasicInterface } from "../../src/gen/prism/interfaces/keyvalue/keyvalue_basic_pb.js";
import { PubSubBasicInterface } from "../../src/gen/prism/interfaces/pubsub/pubsub_basic_pb.js";
import type { DescService } from "@bufbuild/protobuf";
import { loadConfigFile } from "../../src/config/load.js";
import type { PrismConfig } from "../../src/config/model.js";
import { createLogger } from "../../src/observability/logger.js";
import { Proxy, type ProxyOptions } from "../../src/proxy.js";

export const DEMO_CONFIG = new URL("../../../config/demo.yaml", import.meta.url).pathname;

export const DEMO_KEYS = {
  acme: "acme-demo-key",
  acmeReader: "acme-reader-demo-key",
  globex: "globex-demo-key",
  initech: "initech-demo-key",
} as const;

/** Log lines the proxy wrote, kept in memory so tests can check what reached the log. */
export class CapturedLog extends Writable {
  readonly lines: string[] = [];

  override _write(chunk: Buffer, _encoding: BufferEncoding, done: () => void): void {
    this.lines.push(...chunk.toString("utf8").split("\n").filter((line) => line.length > 0));
    done();
  }

  text(): string {
    return this.lines.join("\n");
  }
}

export interface TestProxy {
  proxy: Proxy;
  log: CapturedLog;
  baseUrl: string;
  transport(credentials: { namespace?: string; apiKey?: string }): Transport;
  client<S extends DescService>(service: S, credentials: { namespace?: string; apiKey?: string }): Client<S>;
  close(): Promise<void>;
}

/** Starts a proxy on loopback port 0 with the demo configuration, changed by `adjust`. */
export async function startTestProxy(
  adjust: (config: PrismConfig) => void = () => {},
  options: ProxyOptions = {},
): Promise<TestProxy> {
  const config = await loadConfigFile(DEMO_CONFIG, {});
  config.proxy.listen = "127.0.0.1:0";
  config.proxy.admin_listen = "127.0.0.1:0";
  config.proxy.shutdown_grace = 2000;
  adjust(config);

  const log = new CapturedLog();
  const proxy = await Proxy.start(config, createLogger({ level: "debug", destination: log }), options);
  const baseUrl = `http://${proxy.address}`;
  const transports: Transport[] = [];

  const transport = (credentials: { namespace?: string; apiKey?: string }): Transport => {
    const headers: Interceptor = (next) => (request) => {
      if (credentials.namespace !== undefined) {
        request.header.set("x-prism-namespace", credentials.namespace);
      }
      if (credentials.apiKey !== undefined) {
        request.header.set("authorization", `Bearer ${credentials.apiKey}`);
      }
      return next(request);
    };
    const created = createGrpcTransport({ baseUrl, interceptors: [headers] });
    transports.push(created);
    return created;
  };

  return {
    proxy,
    log,
    baseUrl,
    transport,
    client: (service, credentials) => createClient(service, transport(credentials)),
    close: () => proxy.close(),
  };
}

/** Polls until the condition holds; fails after timeoutMs. */
export async function eventually(condition: () => boolean, what: string, timeoutMs = 5000): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (!condition()) {
    if (Date.now() > deadline) {
      throw new Error(`timed out after ${timeoutMs} ms waiting for ${what}`);
    }
    await new Promise((resolve) => setTimeout(resolve, 5));
  }
}

/** Calls a unary method over the Connect protocol with plain HTTP/1.1 and JSON. */
export async function postJson(
  baseUrl: string,
  path: string,
  body: string,
  headers: Record<string, string>,
): Promise<{ status: number; body: Record<string, unknown> }> {
  const response = await fetch(`${baseUrl}/${path}`, {
    method: "POST",
    headers: { "content-type": "application/json", ...headers },
    body,
  });
  const text = await response.text();
  return { status: response.status, body: text.length > 0 ? (JSON.parse(text) as Record<string, unknown>) : {} };
}

/** Asserts two byte arrays hold the same bytes, whatever their classes (Buffer or Uint8Array). */
export function assertSameBytes(actual: Uint8Array | undefined, expected: Uint8Array, message?: string): void {
  const show = (bytes: Uint8Array | undefined): string =>
    bytes === undefined ? "undefined" : `${bytes.length} bytes ${Buffer.from(bytes.subarray(0, 16)).toString("hex")}`;
  if (actual === undefined || !Buffer.from(actual).equals(Buffer.from(expected))) {
    assert.fail(`${message ?? "bytes differ"}: expected ${show(expected)}, got ${show(actual)}`);
  }
}

/** Opens a client on its own HTTP/2 connection, so its requests form one session; close() ends the connection. */
export function sessionClient(gateway: TestProxy, namespace: string, apiKey: string) {
  const sessionManager = new Http2SessionManager(gateway.baseUrl);
  const transport = createGrpcTransport({
    baseUrl: gateway.baseUrl,
    sessionManager,
    interceptors: [
      (next) => (request) => {
        request.header.set("x-prism-namespace", namespace);
        request.header.set("authorization", `Bearer ${apiKey}`);
        return next(request);
      },
    ],
  });
  return {
    kv: createClient(KeyValueBasicInterface, transport),
    pubSub: createClient(PubSubBasicInterface, transport),
    close: () => sessionManager.abort(),
  };
}
