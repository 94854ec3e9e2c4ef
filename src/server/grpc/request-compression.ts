import { Code, ConnectError } from "@connectrpc/connect";
import { compressionBrotli, compressionGzip } from "@connectrpc/connect-node";
import type { Compression } from "@connectrpc/connect/protocol";

/**
 * Request encodings accepted besides identity: the ones connectNodeAdapter accepts by
 * default, so a client that compresses works on both paths. Responses are always sent
 * uncompressed, which the gRPC compression spec allows whatever the client accepts.
 */
const ACCEPTED: readonly Compression[] = [compressionGzip, compressionBrotli];

/** Value of grpc-accept-encoding on every response. */
export const ACCEPT_ENCODING = ACCEPTED.map((compression) => compression.name).join(",");

/**
 * Returns the decompressor for a request's grpc-encoding header, null for identity.
 * Throws UNIMPLEMENTED with Connect's message and a grpc-accept-encoding trailer for
 * any other encoding.
 */
export function requestCompression(encoding: string | undefined): Compression | null {
  if (encoding === undefined || encoding === "identity") {
    return null;
  }
  const compression = ACCEPTED.find((candidate) => candidate.name === encoding);
  if (compression === undefined) {
    throw new ConnectError(`unknown compression "${encoding}": supported encodings are ${ACCEPT_ENCODING}`, Code.Unimplemented, {
      "grpc-accept-encoding": ACCEPT_ENCODING,
    });
  }
  return compression;
}
