import { Code, ConnectError } from "@connectrpc/connect";

/**
 * Nanoseconds per grpc-timeout unit: hours, minutes, seconds, milliseconds, microseconds,
 * nanoseconds. Dividing by 1e6 afterwards keeps "1500u" exactly 1.5 ms.
 */
const UNIT_NS: Readonly<Record<string, number>> = { H: 3_600e9, M: 60e9, S: 1e9, m: 1e6, u: 1e3, n: 1 };

/** The gRPC spec allows at most 8 digits followed by one unit letter. */
const GRPC_TIMEOUT = /^(\d{1,8})([HMSmun])$/;

/**
 * Parses a grpc-timeout header into milliseconds; undefined when the header is absent.
 * Throws INVALID_ARGUMENT with Connect's message for a malformed value.
 */
export function parseGrpcTimeout(value: string | undefined): number | undefined {
  if (value === undefined) {
    return undefined;
  }
  const match = GRPC_TIMEOUT.exec(value);
  const unitNs = UNIT_NS[match?.[2] ?? ""];
  if (match === null || unitNs === undefined) {
    throw new ConnectError(`protocol error: invalid grpc timeout value: ${value}`, Code.InvalidArgument);
  }
  return (Number(match[1]) * unitNs) / 1e6;
}
