import type { Http2Session, IncomingHttpHeaders, ServerHttp2Stream } from "node:http2";
import type { ServiceImplSpec } from "@connectrpc/connect";
import type { Logger } from "../../observability/logger.js";
import type { ClientConnection } from "../../sessions/session-registry.js";
import { GrpcCall, type ServedMethod } from "./grpc-call.js";
import { GRPC_CONTENT_TYPE, encodeGrpcMessage, isGrpcProtobuf, stopUploadAfterResponse } from "./grpc-wire.js";
import { ACCEPT_ENCODING } from "./request-compression.js";

/** gRPC status code UNIMPLEMENTED, sent for an unknown method. */
const GRPC_STATUS_UNIMPLEMENTED = "12";

export interface GrpcRouterOptions {
  services: readonly ServiceImplSpec[];
  /** Largest request message accepted, in bytes. */
  readMaxBytes: number;
  /** Aborting it ends every call in progress with its reason (UNAVAILABLE unless the reason is a ConnectError). */
  shutdownSignal: AbortSignal;
  /** The client connection of an HTTP/2 session: the same object the Connect path gets for that session. */
  connectionOf: (session: Http2Session) => ClientConnection;
  logger: Logger;
}

/**
 * Serves gRPC with protobuf bodies straight from HTTP/2 streams: the unary and
 * server-streaming methods of the registered services. Other requests (Connect, gRPC-Web,
 * gRPC with JSON, other HTTP methods, client- or bidi-streaming methods) are left to
 * the caller, which hands them to the Connect adapter.
 */
export class GrpcRouter {
  readonly #methods = new Map<string, ServedMethod>();
  /** Paths of registered methods this router does not serve, for the Connect adapter. */
  readonly #delegated = new Set<string>();
  readonly #calls = new Set<GrpcCall>();
  readonly #options: GrpcRouterOptions;
  readonly #onCallEnd = (call: GrpcCall): void => {
    this.#calls.delete(call);
  };

  constructor(options: GrpcRouterOptions) {
    this.#options = options;
    for (const service of options.services) {
      for (const spec of Object.values(service.methods)) {
        const path = `/${service.service.typeName}/${spec.method.name}`;
        if (spec.kind === "unary" || spec.kind === "server_streaming") {
          this.#methods.set(path, spec);
        } else {
          this.#delegated.add(path);
        }
      }
    }
    options.shutdownSignal.addEventListener("abort", () => this.#cancelAll(), { once: true });
  }

  /** Calls in progress. */
  get callCount(): number {
    return this.#calls.size;
  }

  /** Serves the stream and returns true when it is a gRPC call for this router; returns false otherwise. */
  serve(stream: ServerHttp2Stream, headers: IncomingHttpHeaders): boolean {
    if (headers[":method"] !== "POST" || !isGrpcProtobuf(headers)) {
      return false;
    }
    const path = withoutQuery(headers[":path"] ?? "");
    const spec = this.#methods.get(path);
    if (spec === undefined && this.#delegated.has(path)) {
      return false;
    }

    const { logger } = this.#options;
    stream.on("error", (error) => logger.debug({ err: error, method: path }, "gRPC stream error"));
    const session = stream.session;
    if (session === undefined) {
      // The stream was destroyed with its session before this event ran.
      return true;
    }
    if (spec === undefined) {
      respondUnimplemented(stream, path);
      return true;
    }

    const call = new GrpcCall(stream, headers, spec, {
      readMaxBytes: this.#options.readMaxBytes,
      connection: this.#options.connectionOf(session),
      logger,
      onEnd: this.#onCallEnd,
    });
    this.#calls.add(call);
    call.start();
    const shutdown = this.#options.shutdownSignal;
    if (shutdown.aborted) {
      call.cancel(shutdown.reason);
    }
    return true;
  }

  #cancelAll(): void {
    const reason: unknown = this.#options.shutdownSignal.reason;
    for (const call of [...this.#calls]) {
      call.cancel(reason);
    }
  }
}

/** Connect matches paths without their query string, and so does this router. */
function withoutQuery(path: string): string {
  const queryStart = path.indexOf("?");
  return queryStart === -1 ? path : path.slice(0, queryStart);
}

/**
 * Rejects an unknown method with a trailers-only UNIMPLEMENTED response, as gRPC servers
 * do. Connect's adapter returns HTTP 404, which gRPC clients also map to UNIMPLEMENTED.
 */
function respondUnimplemented(stream: ServerHttp2Stream, path: string): void {
  const message = `unknown method ${path}; check the package, service and method names against the proxy's protos`;
  stream.respond(
    {
      ":status": 200,
      "content-type": GRPC_CONTENT_TYPE,
      "grpc-accept-encoding": ACCEPT_ENCODING,
      "grpc-status": GRPC_STATUS_UNIMPLEMENTED,
      "grpc-message": encodeGrpcMessage(message),
    },
    { endStream: true },
  );
  // Nothing of the body is needed: discard what arrives until the client ends or the reset lands.
  stream.resume();
  stopUploadAfterResponse(stream);
}
