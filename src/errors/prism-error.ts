import { Code, ConnectError } from "@connectrpc/connect";

export { Code };

/**
 * Stable reasons carried by every client-facing error, so clients and dashboards can
 * branch on a value that does not change when a message is reworded.
 */
export type ErrorReason =
  | "INVALID_NAME"
  | "INVALID_ARGUMENT"
  | "NAMESPACE_MISSING"
  | "NAMESPACE_UNKNOWN"
  | "UNAUTHENTICATED"
  | "PERMISSION_DENIED"
  | "LIMIT_EXCEEDED"
  | "RATE_LIMITED"
  | "BACKEND_UNAVAILABLE"
  | "BACKEND_TIMEOUT"
  | "SHUTTING_DOWN"
  | "INTERNAL";

export interface PrismErrorOptions {
  cause?: unknown;
  /** Sent with the error: as response headers for unary Connect calls, as trailers for gRPC and streams. */
  metadata?: Headers;
  retryAfterMs?: number;
}

/**
 * The one error class for client-facing failures: a gRPC status code, a message that
 * names the value and the fix, a stable reason, and the underlying cause.
 */
export class PrismError extends ConnectError {
  readonly reason: ErrorReason;
  /** Milliseconds the client should wait before retrying, set when the proxy can compute it. */
  readonly retryAfterMs: number | undefined;

  // ConnectError recognises its instances by the name "ConnectError", which PrismError keeps.
  // PrismError needs an ordinary prototype check, because the inherited check matches by name.
  static override [Symbol.hasInstance](value: unknown): boolean {
    return typeof value === "object" && value !== null && Object.prototype.isPrototypeOf.call(PrismError.prototype, value);
  }

  constructor(code: Code, reason: ErrorReason, message: string, options: PrismErrorOptions = {}) {
    super(message, code, options.metadata, undefined, options.cause);
    this.reason = reason;
    this.retryAfterMs = options.retryAfterMs;
  }
}

/** Client fault codes are logged at info, everything else at error. */
export function isClientFault(code: Code): boolean {
  switch (code) {
    case Code.InvalidArgument:
    case Code.NotFound:
    case Code.AlreadyExists:
    case Code.PermissionDenied:
    case Code.Unauthenticated:
    case Code.ResourceExhausted:
    case Code.FailedPrecondition:
    case Code.OutOfRange:
    case Code.Canceled:
      return true;
    default:
      return false;
  }
}

/**
 * Turns any caught value into a PrismError. A ConnectError raised by the RPC framework,
 * such as for a malformed body or a cancelled call, keeps its code. Anything else becomes
 * INTERNAL with the original as cause, so no internal detail reaches the client.
 */
export function toPrismError(value: unknown): PrismError {
  if (value instanceof PrismError) {
    return value;
  }

  if (value instanceof ConnectError) {
    return new PrismError(value.code, value.code === Code.Internal ? "INTERNAL" : "INVALID_ARGUMENT", value.rawMessage, {
      cause: value,
    });
  }

  if (value instanceof Error && value.name === "AbortError") {
    return new PrismError(Code.Canceled, "INVALID_ARGUMENT", "the request was cancelled", { cause: value });
  }

  return new PrismError(Code.Internal, "INTERNAL", "internal error; the proxy logged the cause", { cause: value });
}

export function invalidArgument(message: string, reason: ErrorReason = "INVALID_ARGUMENT"): PrismError {
  return new PrismError(Code.InvalidArgument, reason, message);
}

export function resourceExhausted(message: string, reason: ErrorReason = "LIMIT_EXCEEDED"): PrismError {
  return new PrismError(Code.ResourceExhausted, reason, message);
}

export function unavailable(message: string, reason: ErrorReason, cause?: unknown): PrismError {
  return new PrismError(Code.Unavailable, reason, message, { cause });
}
