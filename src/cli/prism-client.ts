import { Agent as HttpAgent } from "node:http";
import { Agent as HttpsAgent } from "node:https";
import { createClient, type CallOptions, type Client, type Interceptor, type Transport } from "@connectrpc/connect";
import { createConnectTransport, createGrpcTransport, Http2SessionManager } from "@connectrpc/connect-node";
import { KeyValueBasicInterface } from "../gen/prism/interfaces/keyvalue/keyvalue_basic_pb.js";
import { KeyValueTTLInterface } from "../gen/prism/interfaces/keyvalue/keyvalue_ttl_pb.js";
import { PubSubBasicInterface } from "../gen/prism/interfaces/pubsub/pubsub_basic_pb.js";
import { NAMESPACE_HEADER } from "../tenancy/tenant-registry.js";
import type { Invocation } from "./command.js";
import { resolveConnection, type ConnectionSettings } from "./connection-settings.js";

/** Clients of the proxy's data services over one connection. */
export interface PrismClient {
  readonly keyValue: Client<typeof KeyValueBasicInterface>;
  readonly keyValueTtl: Client<typeof KeyValueTTLInterface>;
  readonly pubSub: Client<typeof PubSubBasicInterface>;
  /** Options for a unary call: the --timeout deadline. */
  readonly unaryOptions: CallOptions;
  /** Closes the connection; idempotent. */
  close(): void;
}

/** Adds the namespace and the credentials to every request. */
function prismHeaders(namespace: string, apiKey: string | undefined): Interceptor {
  return (next) => (request) => {
    request.header.set(NAMESPACE_HEADER, namespace);
    if (apiKey !== undefined) {
      request.header.set("authorization", `Bearer ${apiKey}`);
    }
    return next(request);
  };
}

interface OwnedTransport {
  transport: Transport;
  close(): void;
}

/**
 * Creates a gRPC transport over HTTP/2 (h2c for http:// addresses). The session manager is ours, so close()
 * ends the HTTP/2 session and the process can exit without waiting for its idle timeout.
 */
function grpcTransport(settings: ConnectionSettings, interceptors: Interceptor[]): OwnedTransport {
  const sessionManager = new Http2SessionManager(settings.baseUrl);
  return {
    transport: createGrpcTransport({ baseUrl: settings.baseUrl, sessionManager, interceptors }),
    close: () => sessionManager.abort(),
  };
}

/**
 * Creates a transport for the Connect protocol with JSON bodies over HTTP/1.1, the path
 * that curl and browsers use. A private agent without keep-alive leaves no idle socket behind.
 */
function connectTransport(settings: ConnectionSettings, interceptors: Interceptor[]): OwnedTransport {
  const agent = settings.baseUrl.startsWith("https:") ? new HttpsAgent({ keepAlive: false }) : new HttpAgent({ keepAlive: false });
  return {
    transport: createConnectTransport({
      baseUrl: settings.baseUrl,
      httpVersion: "1.1",
      useBinaryFormat: false,
      nodeOptions: { agent },
      interceptors,
    }),
    close: () => agent.destroy(),
  };
}

export function openPrismClient(settings: ConnectionSettings): PrismClient {
  const interceptors = [prismHeaders(settings.namespace, settings.apiKey)];
  const owned = settings.protocol === "grpc" ? grpcTransport(settings, interceptors) : connectTransport(settings, interceptors);

  let closed = false;
  return {
    keyValue: createClient(KeyValueBasicInterface, owned.transport),
    keyValueTtl: createClient(KeyValueTTLInterface, owned.transport),
    pubSub: createClient(PubSubBasicInterface, owned.transport),
    unaryOptions: settings.timeoutMs > 0 ? { timeoutMs: settings.timeoutMs } : {},
    close: () => {
      if (!closed) {
        closed = true;
        owned.close();
      }
    },
  };
}

/**
 * Resolves the connection options of the invocation, opens a client, runs the work and
 * closes the client, also when the work fails.
 */
export async function withPrismClient<T>(
  invocation: Invocation,
  work: (client: PrismClient, settings: ConnectionSettings) => Promise<T>,
): Promise<T> {
  const settings = resolveConnection(invocation.values, invocation.io.env, invocation.helpTopic);
  const client = openPrismClient(settings);
  try {
    return await work(client, settings);
  } finally {
    client.close();
  }
}
