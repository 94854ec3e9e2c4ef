import { constants, type IncomingHttpHeaders, type OutgoingHttpHeaders, type ServerHttp2Stream } from "node:http2";
import { create, fromBinary, toBinary, type DescMessage, type MessageInitShape, type MessageShape } from "@bufbuild/protobuf";
import { Code, ConnectError, createContextValues, type MethodImplSpec } from "@connectrpc/connect";
import type { Compression } from "@connectrpc/connect/protocol";
import { setTrailerStatus } from "@connectrpc/connect/protocol-grpc";
import type { Logger } from "../../observability/logger.js";
import { CONNECTION } from "../../pipeline/request-scope.js";
import type { ClientConnection } from "../../sessions/session-registry.js";
import { EnvelopeReader } from "./envelope-reader.js";
import { GrpcHandlerContext } from "./grpc-handler-context.js";
import { parseGrpcTimeout } from "./grpc-timeout.js";
import { COMPRESSED_FLAG, GRPC_CONTENT_TYPE, addNodeHeaders, encodeEnvelope, encodeGrpcMessage, stopUploadAfterResponse } from "./grpc-wire.js";
import { ACCEPT_ENCODING, requestCompression } from "./request-compression.js";

/** The method kinds this path serves: one request message each. */
export type ServedMethod = Extract<MethodImplSpec, { kind: "unary" | "server_streaming" }>;

/** Maximum delay of setTimeout (2^31 - 1 ms, about 24.8 days). Node.js turns a longer delay into 1 ms. */
const MAX_TIMER_MS = 2_147_483_647;

export interface GrpcCallOptions {
  /** Maximum size of a request message in bytes, checked before it is buffered and again after decompression. */
  readMaxBytes: number;
  connection: ClientConnection;
  logger: Logger;
  /** Called once when the call ends, however it ends. */
  onEnd: (call: GrpcCall) => void;
}

function toConnectError(error: unknown): ConnectError | undefined {
  return error instanceof ConnectError ? error : undefined;
}

/**
 * One gRPC call on an HTTP/2 stream: reads the single request message, calls the
 * service implementation with a GrpcHandlerContext, and writes the response messages and
 * the status trailers. The call ends exactly once: with the implementation's result or
 * error, at its grpc-timeout deadline, by cancel() at shutdown, or when the client resets
 * the stream. Each of these aborts the context's signal.
 */
export class GrpcCall {
  readonly #stream: ServerHttp2Stream;
  readonly #spec: ServedMethod;
  readonly #options: GrpcCallOptions;
  readonly #context: GrpcHandlerContext;
  readonly #reader: EnvelopeReader;
  #compression: Compression | null = null;
  #setupError: unknown;
  #timeoutMs: number | undefined;
  #requestEnded = false;
  #responding = false;
  #ended = false;
  #trailers: OutgoingHttpHeaders = {};
  #deadlineTimer: NodeJS.Timeout | undefined;
  #wakeWriter: (() => void) | undefined;

  constructor(stream: ServerHttp2Stream, headers: IncomingHttpHeaders, spec: ServedMethod, options: GrpcCallOptions) {
    this.#stream = stream;
    this.#spec = spec;
    this.#options = options;
    this.#reader = new EnvelopeReader(options.readMaxBytes);
    const timeoutMs = this.#readSetup(headers);
    this.#context = new GrpcHandlerContext({
      method: spec.method,
      headers,
      values: createContextValues().set(CONNECTION, options.connection),
      timeoutMs,
    });
  }

  /** Starts reading the request. */
  start(): void {
    const stream = this.#stream;
    stream.once("close", () => this.#onClose());
    // The body is read even after an early error, so the "end" event shows whether the
    // client has finished sending when the trailers go out.
    stream.on("data", (chunk: Buffer) => this.#onData(chunk));
    stream.once("end", () => {
      this.#requestEnded = true;
      void this.#run();
    });

    if (this.#setupError !== undefined) {
      // Connect reports a bad grpc-encoding or grpc-timeout without waiting for the body.
      this.#fail(this.#setupError);
      return;
    }
    if (this.#timeoutMs !== undefined && this.#timeoutMs <= MAX_TIMER_MS) {
      // NOTE: a grpc-timeout longer than MAX_TIMER_MS (about 24.8 days) is not enforced.
      this.#deadlineTimer = setTimeout(() => this.#expire(), this.#timeoutMs);
    }
  }

  /** Ends the call with the given reason, for shutdown; UNAVAILABLE unless the reason is a ConnectError. */
  cancel(reason: unknown): void {
    this.#fail(toConnectError(reason) ?? new ConnectError("the proxy is shutting down", Code.Unavailable, undefined, undefined, reason));
  }

  /** Reads grpc-encoding and grpc-timeout; keeps an invalid one's error for start(). Returns the timeout in ms. */
  #readSetup(headers: IncomingHttpHeaders): number | undefined {
    try {
      // Connect checks the encoding first, so a call with both errors gets the encoding's.
      this.#compression = requestCompression(single(headers["grpc-encoding"]));
      this.#timeoutMs = parseGrpcTimeout(single(headers["grpc-timeout"]));
    } catch (error) {
      this.#setupError = error;
    }
    return this.#timeoutMs;
  }

  #onData(chunk: Buffer): void {
    if (this.#ended) {
      return;
    }
    try {
      this.#reader.push(chunk);
      if (this.#reader.envelopes.length > 1) {
        throw new ConnectError(`protocol error: received extra input message for ${this.#kindName()} method`, Code.Unimplemented);
      }
    } catch (error) {
      this.#fail(error);
    }
  }

  async #run(): Promise<void> {
    if (this.#ended) {
      return;
    }
    try {
      const request = await this.#decodeRequest();
      if (this.#ended) {
        return;
      }
      const spec = this.#spec;
      if (spec.kind === "unary") {
        const response = await spec.impl(request, this.#context);
        if (!this.#ended) {
          this.#send(spec.method.output, response);
          this.#finish(undefined);
        }
      } else {
        await this.#serveStream(spec.method.output, spec.impl(request, this.#context));
      }
    } catch (error) {
      this.#fail(error);
    }
  }

  async #decodeRequest(): Promise<MessageShape<DescMessage>> {
    const [envelope] = this.#reader.envelopes;
    if (this.#reader.partial) {
      throw new ConnectError("protocol error: incomplete envelope", Code.InvalidArgument);
    }
    if (envelope === undefined) {
      throw new ConnectError(`protocol error: missing input message for ${this.#kindName()} method`, Code.Unimplemented);
    }

    let data = envelope.data;
    if ((envelope.flags & COMPRESSED_FLAG) === COMPRESSED_FLAG) {
      if (this.#compression === null) {
        throw new ConnectError(
          `received a compressed message without a grpc-encoding header; send it uncompressed or set grpc-encoding to one of ${ACCEPT_ENCODING}`,
          Code.Unimplemented,
          { "grpc-accept-encoding": ACCEPT_ENCODING },
        );
      }
      data = await this.#compression.decompress(data, this.#options.readMaxBytes);
    }

    const input = this.#spec.method.input;
    try {
      return fromBinary(input, data);
    } catch (error) {
      const detail = error instanceof Error ? error.message : String(error);
      throw new ConnectError(`invalid ${input.typeName} message: ${detail}`, Code.InvalidArgument);
    }
  }

  /**
   * Writes each message the implementation yields, waiting for "drain" whenever the
   * stream's buffer is full. When the call ends first (cancel, deadline, shutdown), the
   * iterator is closed with return(), so the implementation's finally blocks run.
   */
  async #serveStream(output: DescMessage, messages: AsyncIterable<MessageInitShape<DescMessage>>): Promise<void> {
    const iterator = messages[Symbol.asyncIterator]();
    let iteratorDone = false;
    try {
      while (!this.#ended) {
        let step: IteratorResult<MessageInitShape<DescMessage>>;
        try {
          step = await iterator.next();
        } catch (error) {
          iteratorDone = true;
          throw error;
        }
        if (step.done === true) {
          iteratorDone = true;
          this.#finish(undefined);
          return;
        }
        if (!this.#ended && !this.#send(output, step.value)) {
          await this.#drained();
        }
      }
    } finally {
      if (!iteratorDone) {
        await iterator.return?.().catch((error: unknown) => {
          this.#options.logger.error({ err: error, method: this.#path() }, "closing a gRPC response stream failed");
        });
      }
    }
  }

  /** Writes one message; returns false when the caller must wait for "drain". */
  #send(output: DescMessage, message: MessageInitShape<DescMessage>): boolean {
    const frame = encodeEnvelope(toBinary(output, create(output, message)));
    this.#respond();
    return this.#stream.write(frame);
  }

  #drained(): Promise<void> {
    return new Promise((resolve) => {
      const wake = (): void => {
        this.#stream.off("drain", wake);
        this.#wakeWriter = undefined;
        resolve();
      };
      this.#wakeWriter = wake;
      this.#stream.once("drain", wake);
    });
  }

  /** Sends the response headers once, with any the implementation set. */
  #respond(): void {
    if (this.#responding) {
      return;
    }
    const headers = addNodeHeaders({}, this.#context.responseHeader);
    headers[":status"] = 200;
    headers["content-type"] = GRPC_CONTENT_TYPE;
    headers["grpc-accept-encoding"] = ACCEPT_ENCODING;
    this.#stream.respond(headers, { waitForTrailers: true });
    this.#responding = true;
    this.#stream.once("wantTrailers", () => this.#sendTrailers());
  }

  #sendTrailers(): void {
    try {
      this.#stream.sendTrailers(this.#trailers);
    } catch (error) {
      this.#abandon(error);
      return;
    }
    if (!this.#requestEnded) {
      stopUploadAfterResponse(this.#stream);
    }
  }

  /**
   * Resets the stream with INTERNAL_ERROR when node:http2 rejects the response headers
   * or trailers, which only headers an implementation set can cause (for example a
   * connection-specific header such as "connection").
   */
  #abandon(error: unknown): void {
    this.#options.logger.error({ err: error, method: this.#path() }, "sending a gRPC response failed; resetting the stream");
    if (!this.#stream.closed) {
      this.#stream.close(constants.NGHTTP2_INTERNAL_ERROR);
    }
  }

  #fail(error: unknown): void {
    if (this.#ended) {
      return;
    }
    let status = toConnectError(error);
    if (status === undefined) {
      // The pipeline turns every handler error into a PrismError, so this is a fault of this path.
      this.#options.logger.error({ err: error, method: this.#path() }, "gRPC call failed with an unexpected error");
      status = new ConnectError("internal error", Code.Internal, undefined, undefined, error);
    }
    this.#finish(status);
  }

  #expire(): void {
    this.#fail(new ConnectError("the operation timed out", Code.DeadlineExceeded));
  }

  /** Ends the call with the status of `error`, OK when undefined, and sends the trailers. */
  #finish(error: ConnectError | undefined): void {
    if (this.#ended) {
      return;
    }
    this.#end(error);
    if (this.#stream.destroyed || this.#stream.closed) {
      return;
    }

    if (error === undefined) {
      const trailers = this.#context.trailersSet;
      this.#trailers = trailers === undefined ? {} : addNodeHeaders({}, trailers);
      this.#trailers["grpc-status"] = "0";
    } else {
      // Connect's setTrailerStatus adds the error's metadata and any details; only
      // grpc-message is encoded differently, as the gRPC spec's grammar requires.
      this.#trailers = addNodeHeaders({}, setTrailerStatus(this.#context.responseTrailer, error));
      this.#trailers["grpc-message"] = encodeGrpcMessage(error.rawMessage);
    }
    try {
      this.#respond();
      this.#stream.end();
    } catch (failure) {
      this.#abandon(failure);
    }
  }

  /** Ends the call with CANCELLED when the client reset the stream, or its connection closed, first. */
  #onClose(): void {
    if (this.#ended) {
      return;
    }
    const code = this.#stream.rstCode;
    this.#end(new ConnectError(`the client closed the stream (HTTP/2 error code ${code})`, Code.Canceled));
  }

  /** Marks the call ended and releases what it holds; aborts the signal with `reason`. */
  #end(reason: ConnectError | undefined): void {
    this.#ended = true;
    clearTimeout(this.#deadlineTimer);
    this.#wakeWriter?.();
    this.#context.abort(reason);
    this.#options.onEnd(this);
  }

  #kindName(): string {
    return this.#spec.kind === "unary" ? "unary" : "server-streaming";
  }

  #path(): string {
    return `/${this.#spec.method.parent.typeName}/${this.#spec.method.name}`;
  }
}

/** A header's value as Headers.get returns it: repeated values joined with ", ". */
function single(value: string | string[] | undefined): string | undefined {
  return Array.isArray(value) ? value.join(", ") : value;
}
