import {
  createServer as createHttp2Server,
  type Http2Server,
  type Http2ServerRequest,
  type IncomingHttpHeaders,
  type ServerHttp2Session,
  type ServerHttp2Stream,
} from "node:http2";
import { createServer as createHttp1Server, type IncomingMessage, type Server as Http1Server } from "node:http";
import { createServer as createTcpServer, type Server as TcpServer, type Socket } from "node:net";
import { once, type EventEmitter } from "node:events";
import { connectNodeAdapter } from "@connectrpc/connect-node";
import { createContextValues, type ServiceImplSpec } from "@connectrpc/connect";
import type { Logger } from "../observability/logger.js";
import { CONNECTION } from "../pipeline/request-scope.js";
import type { ClientConnection } from "../sessions/session-registry.js";
import { GrpcRouter } from "./grpc/grpc-router.js";
import { routeServices } from "./grpc/service-spec.js";
import { formatAddress, parseHostPort } from "./listen-address.js";

/** Every HTTP/2 connection without TLS opens with "PRI * HTTP/2.0"; no HTTP/1 method starts with "PRI". */
const HTTP2_PREFACE_START = Buffer.from("PRI");

/** Time a new connection has to send its first bytes before it is closed. */
export const DEFAULT_FIRST_BYTE_TIMEOUT_MS = 10_000;

/**
 * Concurrent streams one HTTP/2 connection may open. Node's default is 2^32-1, which lets
 * a single connection, authenticated or not, start any number of requests at once.
 */
export const DEFAULT_MAX_CONCURRENT_STREAMS = 100;

export interface DataServerOptions {
  /** The services, served by both the gRPC router and the Connect adapter. */
  services: readonly ServiceImplSpec[];
  /** Largest request message accepted, in bytes. */
  readMaxBytes: number;
  /** Aborting it aborts the signal of every handler context. */
  shutdownSignal: AbortSignal;
  logger: Logger;
}

/**
 * The data-plane listener: gRPC, gRPC-Web and Connect (HTTP/JSON) on one port.
 * Node's HTTP/2 server accepts only HTTP/2 without TLS. A TCP listener therefore reads
 * the first bytes of each connection and passes it to the HTTP/2 or the HTTP/1.1 server,
 * which run the same handlers. Every client connection is tracked so a shutdown can send GOAWAY
 * to HTTP/2 clients and close the rest.
 *
 * On HTTP/2, each stream carrying gRPC with protobuf goes to the GrpcRouter, which serves
 * it directly on the stream; every other stream goes to the Connect adapter.
 */
export class DataServer {
  readonly #tcp: TcpServer;
  readonly #http2: Http2Server;
  /**
   * Never listens: it only turns the streams it is given into Node.js compatibility
   * requests for the Connect adapter, as Node.js does for a server's own streams.
   */
  readonly #connectHttp2: Http2Server;
  readonly #grpc: GrpcRouter;
  readonly #http1: Http1Server;
  readonly #sockets = new Set<Socket>();
  readonly #sessions = new Set<ServerHttp2Session>();
  readonly #connections = new WeakMap<object, ClientConnection>();

  constructor(options: DataServerOptions) {
    const handler = connectNodeAdapter({
      routes: (router) => routeServices(router, options.services),
      readMaxBytes: options.readMaxBytes,
      shutdownSignal: options.shutdownSignal,
      contextValues: (request) => createContextValues().set(CONNECTION, this.#connectionOf(request)),
    });
    this.#grpc = new GrpcRouter({
      services: options.services,
      readMaxBytes: options.readMaxBytes,
      shutdownSignal: options.shutdownSignal,
      connectionOf: (session) => this.#connectionFor(session, () => session.socket.remoteAddress),
      logger: options.logger,
    });

    this.#connectHttp2 = createHttp2Server(handler);
    // Node.js serves requests through a "stream" listener that it adds with the "request" listener.
    if (this.#connectHttp2.listenerCount("stream") === 0) {
      throw new Error("node:http2 no longer turns streams into requests with a 'stream' listener; the Connect adapter cannot be reached");
    }
    this.#http2 = createHttp2Server({ settings: { maxConcurrentStreams: DEFAULT_MAX_CONCURRENT_STREAMS } });
    this.#http2.on("stream", (stream: ServerHttp2Stream, headers: IncomingHttpHeaders, flags: number, rawHeaders: string[]) => {
      if (!this.#grpc.serve(stream, headers)) {
        this.#connectHttp2.emit("stream", stream, headers, flags, rawHeaders);
      }
    });
    this.#http2.on("session", (session: ServerHttp2Session) => {
      this.#sessions.add(session);
      session.once("close", () => this.#sessions.delete(session));
    });
    this.#http1 = createHttp1Server(handler);
    this.#tcp = createTcpServer((socket) => this.#accept(socket));
  }

  get connectionCount(): number {
    return this.#sockets.size;
  }

  async listen(address: string): Promise<string> {
    const { host, port } = parseHostPort(address);
    this.#tcp.listen(port, host);
    await once(this.#tcp, "listening");
    return formatAddress(this.#tcp.address());
  }

  /** Stops accepting connections and sends GOAWAY so HTTP/2 clients open no new streams. */
  stopAccepting(): void {
    if (this.#tcp.listening) {
      this.#tcp.close();
    }
    for (const session of this.#sessions) {
      if (!session.closed) {
        session.close();
      }
    }
    this.#http1.closeIdleConnections();
  }

  /**
   * Waits up to waitMs for connections to close by themselves (HTTP/2 clients do once
   * GOAWAY is sent and their last stream ends), then destroys the rest.
   */
  async closeConnections(waitMs: number): Promise<void> {
    this.#http1.closeIdleConnections();
    const closing = Promise.all([...this.#sockets].map((socket) => once(socket, "close")));

    let timer: NodeJS.Timeout | undefined;
    const timeout = new Promise((resolve) => {
      timer = setTimeout(resolve, waitMs);
    });
    await Promise.race([closing, timeout]);
    clearTimeout(timer);

    for (const session of this.#sessions) {
      session.destroy();
    }
    for (const socket of this.#sockets) {
      socket.destroy();
    }
    await closing;
  }

  #accept(socket: Socket): void {
    this.#sockets.add(socket);
    socket.once("close", () => this.#sockets.delete(socket));
    socket.setTimeout(DEFAULT_FIRST_BYTE_TIMEOUT_MS, () => socket.destroy());
    socket.on("error", () => socket.destroy());

    let head = Buffer.alloc(0);
    const onData = (chunk: Buffer): void => {
      head = Buffer.concat([head, chunk]);
      if (head.length < HTTP2_PREFACE_START.length && HTTP2_PREFACE_START.subarray(0, head.length).equals(head)) {
        return;
      }

      socket.off("data", onData);
      socket.pause();
      socket.setTimeout(0);
      socket.unshift(head);
      if (head.subarray(0, HTTP2_PREFACE_START.length).equals(HTTP2_PREFACE_START)) {
        // The HTTP/2 session takes the buffered bytes from the paused socket itself;
        // resuming it here would hand them to a "data" listener instead.
        this.#http2.emit("connection", socket);
      } else {
        this.#http1.emit("connection", socket);
        socket.resume();
      }
    };
    socket.on("data", onData);
  }

  #connectionOf(request: IncomingMessage | Http2ServerRequest): ClientConnection {
    // An HTTP/2 session is one client connection; for HTTP/1.1 the socket is.
    const handle = "stream" in request ? request.stream.session : request.socket;
    if (handle === undefined) {
      throw new TypeError("request has no connection");
    }
    return this.#connectionFor(handle, () => request.socket.remoteAddress);
  }

  /** The one ClientConnection of a session or socket, shared by the gRPC and Connect paths. */
  #connectionFor(handle: EventEmitter, remoteAddress: () => string | undefined): ClientConnection {
    let connection = this.#connections.get(handle);
    if (connection === undefined) {
      connection = { handle, remoteAddress: remoteAddress() ?? "" };
      this.#connections.set(handle, connection);
    }
    return connection;
  }
}
