import { Code, ConnectError } from "@connectrpc/connect";
import { ENVELOPE_HEADER_BYTES } from "./grpc-wire.js";

/** One length-prefixed message of a request body. */
export interface Envelope {
  flags: number;
  data: Uint8Array;
}

/**
 * Splits a gRPC request body into its length-prefixed messages as the chunks arrive.
 * A message whose declared length exceeds maxBytes is rejected from its 5-byte header,
 * before any of its body is buffered.
 */
export class EnvelopeReader {
  readonly envelopes: Envelope[] = [];
  readonly #maxBytes: number;
  /** A header split across chunks; allocated only when one is. */
  #header: Buffer | undefined;
  #headerFilled = 0;
  #flags = 0;
  #body: Uint8Array | undefined;
  #bodyFilled = 0;

  constructor(maxBytes: number) {
    this.#maxBytes = maxBytes;
  }

  /** Whether bytes of a message that has not arrived in full are buffered. */
  get partial(): boolean {
    return this.#headerFilled > 0 || this.#body !== undefined;
  }

  /** Consumes one chunk of the body. Throws RESOURCE_EXHAUSTED for a message larger than maxBytes. */
  push(chunk: Buffer): void {
    if (this.#takeWholeChunk(chunk)) {
      return;
    }

    let offset = 0;
    while (offset < chunk.length) {
      if (this.#body === undefined && this.#headerFilled === 0 && chunk.length - offset >= ENVELOPE_HEADER_BYTES) {
        this.#startBody(chunk[offset] ?? 0, chunk.readUInt32BE(offset + 1));
        offset += ENVELOPE_HEADER_BYTES;
        continue;
      }
      if (this.#body === undefined) {
        const header = (this.#header ??= Buffer.alloc(ENVELOPE_HEADER_BYTES));
        const take = Math.min(ENVELOPE_HEADER_BYTES - this.#headerFilled, chunk.length - offset);
        header.set(chunk.subarray(offset, offset + take), this.#headerFilled);
        this.#headerFilled += take;
        offset += take;
        if (this.#headerFilled < ENVELOPE_HEADER_BYTES) {
          return;
        }
        this.#headerFilled = 0;
        this.#startBody(header[0] ?? 0, header.readUInt32BE(1));
        continue;
      }

      const body = this.#body;
      const take = Math.min(body.length - this.#bodyFilled, chunk.length - offset);
      body.set(chunk.subarray(offset, offset + take), this.#bodyFilled);
      this.#bodyFilled += take;
      offset += take;
      if (this.#bodyFilled === body.length) {
        this.#complete(body);
      }
    }
  }

  /**
   * Takes a chunk that is exactly one whole message without copying it. Only a chunk
   * that owns its whole ArrayBuffer qualifies, so a decoded bytes field, which protobuf-es
   * returns as a view, never pins a larger shared buffer.
   */
  #takeWholeChunk(chunk: Buffer): boolean {
    if (this.partial || chunk.length < ENVELOPE_HEADER_BYTES || chunk.byteOffset !== 0 || chunk.buffer.byteLength !== chunk.length) {
      return false;
    }
    const length = chunk.readUInt32BE(1);
    if (ENVELOPE_HEADER_BYTES + length !== chunk.length) {
      return false;
    }
    this.#checkLength(length);
    this.envelopes.push({ flags: chunk[0] ?? 0, data: chunk.subarray(ENVELOPE_HEADER_BYTES) });
    return true;
  }

  #startBody(flags: number, length: number): void {
    this.#checkLength(length);
    this.#flags = flags;
    const body = new Uint8Array(length);
    if (length === 0) {
      this.#complete(body);
      return;
    }
    this.#body = body;
    this.#bodyFilled = 0;
  }

  #complete(body: Uint8Array): void {
    this.envelopes.push({ flags: this.#flags, data: body });
    this.#body = undefined;
    this.#bodyFilled = 0;
  }

  #checkLength(length: number): void {
    // The same code and message as Connect's gRPC handler.
    if (length > this.#maxBytes) {
      throw new ConnectError(`message size ${length} is larger than configured readMaxBytes ${this.#maxBytes}`, Code.ResourceExhausted);
    }
  }
}
