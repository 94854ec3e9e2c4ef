import { connect, type IncomingHttpHeaders, type OutgoingHttpHeaders } from "node:http2";
import * as grpc from "@grpc/grpc-js";
import {
  create,
  fromBinary,
  toBinary,
  type DescMessage,
  type DescMethodServerStreaming,
  type DescMethodUnary,
  type MessageInitShape,
  type MessageShape,
} from "@bufbuild/protobuf";

/** The HTTP/2 path of a method: "/package.Service/Method". */
export function methodPath(method: DescMethodUnary | DescMethodServerStreaming): string {
  return `/${method.parent.typeName}/${method.name}`;
}

/** gRPC metadata with the proxy's credentials headers. */
export function credentials(namespace: string, apiKey: string, extra: Record<string, string> = {}): grpc.Metadata {
  const metadata = new grpc.Metadata();
  metadata.set("x-prism-namespace", namespace);
  metadata.set("authorization", `Bearer ${apiKey}`);
  for (const [name, value] of Object.entries(extra)) {
    metadata.set(name, value);
  }
  return metadata;
}

/** A @grpc/grpc-js client with no generated stubs: messages go through protobuf-es. */
export function grpcJsClient(address: string, options: grpc.ChannelOptions = {}): grpc.Client {
  return new grpc.Client(address, grpc.credentials.createInsecure(), options);
}

export interface UnaryOutcome<O extends DescMessage> {
  response: MessageShape<O> | undefined;
  error: grpc.ServiceError | undefined;
  headers: grpc.Metadata | undefined;
  status: grpc.StatusObject;
}

/** Makes a unary call and resolves with everything the client saw, failures included. */
export function grpcJsUnary<I extends DescMessage, O extends DescMessage>(
  client: grpc.Client,
  method: DescMethodUnary<I, O>,
  request: MessageInitShape<I>,
  metadata: grpc.Metadata,
  options: grpc.CallOptions = {},
  serialize: (message: MessageShape<I>) => Buffer = (message) => Buffer.from(toBinary(method.input, message)),
): Promise<UnaryOutcome<O>> {
  return new Promise((resolve) => {
    let headers: grpc.Metadata | undefined;
    let result: { response: MessageShape<O> | undefined; error: grpc.ServiceError | undefined } | undefined;
    let status: grpc.StatusObject | undefined;
    const settle = (): void => {
      if (result !== undefined && status !== undefined) {
        resolve({ ...result, headers, status });
      }
    };

    const call = client.makeUnaryRequest(
      methodPath(method),
      serialize,
      (bytes: Buffer) => fromBinary(method.output, bytes),
      create(method.input, request),
      metadata,
      options,
      (error, response) => {
        result = { response, error: error ?? undefined };
        settle();
      },
    );
    call.on("metadata", (received: grpc.Metadata) => {
      headers = received;
    });
    call.on("status", (received: grpc.StatusObject) => {
      status = received;
      settle();
    });
  });
}

/** Opens a server stream with grpc-js. */
export function grpcJsServerStream<I extends DescMessage, O extends DescMessage>(
  client: grpc.Client,
  method: DescMethodServerStreaming<I, O>,
  request: MessageInitShape<I>,
  metadata: grpc.Metadata,
  options: grpc.CallOptions = {},
): grpc.ClientReadableStream<MessageShape<O>> {
  return client.makeServerStreamRequest(
    methodPath(method),
    (message: MessageShape<I>) => Buffer.from(toBinary(method.input, message)),
    (bytes: Buffer) => fromBinary(method.output, bytes),
    create(method.input, request),
    metadata,
    options,
  );
}

/** Frames bytes as one gRPC message with the given flags byte. */
export function envelope(bytes: Uint8Array, flags = 0): Buffer {
  const frame = Buffer.alloc(5 + bytes.length);
  frame[0] = flags;
  frame.writeUInt32BE(bytes.length, 1);
  frame.set(bytes, 5);
  return frame;
}

export interface RawResponse {
  headers: IncomingHttpHeaders;
  trailers: IncomingHttpHeaders;
  data: Buffer;
  /** The HTTP/2 error code the stream closed with; 0 is NO_ERROR. */
  rstCode: number;
}

export interface RawRequest {
  path: string;
  headers?: OutgoingHttpHeaders;
  /** Sent as the body, then the stream is ended; undefined ends the stream with the headers. */
  body?: Uint8Array;
  /** Sent instead of the default content type, te and method headers when set. */
  replaceDefaults?: boolean;
  /** Leaves the request stream open after the body, as a client still uploading does. */
  keepOpen?: boolean;
}

/**
 * Sends one request with node:http2 and collects the response headers, body and
 * trailers, so tests can check exactly what the server put on the wire.
 */
export async function rawHttp2Call(baseUrl: string, request: RawRequest): Promise<RawResponse> {
  const session = connect(baseUrl);
  try {
    const defaults: OutgoingHttpHeaders = request.replaceDefaults === true
      ? {}
      : { ":method": "POST", "content-type": "application/grpc", te: "trailers" };
    const stream = session.request(
      { ...defaults, ":path": request.path, ...request.headers },
      { endStream: request.body === undefined },
    );
    const chunks: Buffer[] = [];
    let headers: IncomingHttpHeaders = {};
    let trailers: IncomingHttpHeaders = {};
    stream.on("response", (received) => {
      headers = received;
    });
    stream.on("trailers", (received: IncomingHttpHeaders) => {
      trailers = received;
    });
    stream.on("data", (chunk: Buffer) => chunks.push(chunk));
    // A reset from the server shows as rstCode; the error event carries nothing more.
    stream.on("error", () => {});
    if (request.body !== undefined && request.keepOpen === true) {
      stream.write(request.body);
    } else if (request.body !== undefined) {
      stream.end(request.body);
    }
    await new Promise((resolve) => stream.once("close", resolve));
    return { headers, trailers, data: Buffer.concat(chunks), rstCode: stream.rstCode ?? 0 };
  } finally {
    session.close();
  }
}
