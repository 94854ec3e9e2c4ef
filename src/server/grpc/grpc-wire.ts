import { constants, type IncomingHttpHeaders, type OutgoingHttpHeaders, type ServerHttp2Stream } from "node:http2";

/**
 * The gRPC over HTTP/2 wire format, as specified in
 * https://github.com/grpc/grpc/blob/master/doc/PROTOCOL-HTTP2.md: every message is sent as a
 * 1-byte flags field, a 4-byte big-endian length and the protobuf bytes.
 */
export const ENVELOPE_HEADER_BYTES = 5;

/** Bit of the flags byte that marks a message compressed with the call's grpc-encoding. */
export const COMPRESSED_FLAG = 0b0000_0001;

/** Content type of every response on this path. */
export const GRPC_CONTENT_TYPE = "application/grpc";

/**
 * gRPC with protobuf bodies: "application/grpc" or "application/grpc+proto", in any case,
 * without parameters (the same values Connect's gRPC handler accepts as binary).
 * "application/grpc+json" and other codecs are left to the Connect adapter.
 */
const GRPC_PROTOBUF_CONTENT_TYPE = /^application\/grpc(?:\+proto)?$/i;

export function isGrpcProtobuf(headers: IncomingHttpHeaders): boolean {
  const contentType = headers["content-type"];
  return contentType !== undefined && GRPC_PROTOBUF_CONTENT_TYPE.test(contentType);
}

/**
 * Percent-encodes a status message as the gRPC spec's grpc-message grammar requires: bytes
 * 0x20-0x7E except "%" stay as they are, every other UTF-8 byte becomes %XX. Any spec
 * client decodes it, and so do both decodeURI (@grpc/grpc-js) and decodeURIComponent
 * (Connect). Connect's own encodeURIComponent also escapes characters such as "+" and ";",
 * which decodeURI leaves escaped, so grpc-js clients would show them as %2B and %3B.
 */
export function encodeGrpcMessage(message: string): string {
  const bytes = Buffer.from(message, "utf8");
  let encoded = "";
  for (const byte of bytes) {
    encoded += byte >= 0x20 && byte <= 0x7e && byte !== 0x25 ? String.fromCharCode(byte) : `%${byte.toString(16).toUpperCase().padStart(2, "0")}`;
  }
  return encoded;
}

/** Frames one message: flags 0 (uncompressed), the length, then the bytes. */
export function encodeEnvelope(message: Uint8Array): Buffer {
  const frame = Buffer.allocUnsafe(ENVELOPE_HEADER_BYTES + message.length);
  frame[0] = 0;
  frame.writeUInt32BE(message.length, 1);
  frame.set(message, ENVELOPE_HEADER_BYTES);
  return frame;
}

/**
 * Copies Fetch API headers into a Node.js header object. Headers joins repeated values
 * with ", ", as Connect's Node.js adapter sends them.
 */
export function addNodeHeaders(target: OutgoingHttpHeaders, headers: Headers): OutgoingHttpHeaders {
  headers.forEach((value, name) => {
    target[name] = value;
  });
  return target;
}

/**
 * Asks a client that is still sending to stop, with RST_STREAM NO_ERROR (RFC 9113,
 * section 8.1), once the complete response is on the wire. Call it right after the last
 * frame is submitted. In Node.js 20, node:http2 drops trailers submitted in the same tick
 * as a reset. So the reset waits for setImmediate, and frames submitted before it are
 * written before the event loop reaches the check phase.
 */
export function stopUploadAfterResponse(stream: ServerHttp2Stream): void {
  setImmediate(() => {
    if (!stream.closed) {
      stream.close(constants.NGHTTP2_NO_ERROR);
    }
  });
}
