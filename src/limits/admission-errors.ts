import { Code, PrismError } from "../errors/prism-error.js";
import type { ResolvedLimits } from "./resolved-limits.js";

/** Standard HTTP header with the whole seconds to wait, rounded up. */
export const RETRY_AFTER_HEADER = "retry-after";
/** The same hint in milliseconds, for clients that can wait less than a second. */
export const RETRY_AFTER_MS_HEADER = "x-prism-retry-after-ms";

/**
 * Returns the error metadata carrying a retry hint. Connect sends an error's metadata
 * as response headers for unary Connect (HTTP/JSON) calls and as trailers for gRPC,
 * gRPC-Web and streams.
 */
export function retryAfterMetadata(retryAfterMs: number): Headers {
  const milliseconds = Math.max(1, Math.ceil(retryAfterMs));
  return new Headers({
    [RETRY_AFTER_HEADER]: String(Math.ceil(milliseconds / 1000)),
    [RETRY_AFTER_MS_HEADER]: String(milliseconds),
  });
}

/**
 * Builds a rejection without a stack trace. Rejections are client faults, logged without
 * their stack, and skipping the capture makes each rejection cheaper under a flood.
 */
function withoutStack(build: () => PrismError): PrismError {
  const savedLimit = Error.stackTraceLimit;
  Error.stackTraceLimit = 0;
  try {
    return build();
  } finally {
    Error.stackTraceLimit = savedLimit;
  }
}

/** Builds a RATE_LIMITED error whose message ends with the retry hint, which its metadata carries too. */
function throttled(message: string, retryAfterMs: number): PrismError {
  const milliseconds = Math.max(1, Math.ceil(retryAfterMs));
  return withoutStack(
    () =>
      new PrismError(Code.ResourceExhausted, "RATE_LIMITED", `${message}; retry after ${milliseconds} ms`, {
        metadata: retryAfterMetadata(milliseconds),
        retryAfterMs: milliseconds,
      }),
  );
}

function formatRps(rps: number): string {
  return rps === 1 ? "1 request per second" : `${rps} requests per second`;
}

/** Builds the RESOURCE_EXHAUSTED error for a namespace above its max_rps. */
export function rateLimitedError(namespace: string, limits: ResolvedLimits, retryAfterMs: number): PrismError {
  const rate = formatRps(limits.maxRps ?? 0);
  return throttled(
    `namespace "${namespace}" exceeded its rate limit of ${rate} with a burst of ${limits.burst} ` +
      `(max_rps set by ${limits.sources.max_rps}, burst set by ${limits.sources.burst})`,
    retryAfterMs,
  );
}

/** Builds the RESOURCE_EXHAUSTED error for a namespace above its CPU budget. */
export function cpuLimitedError(namespace: string, limits: ResolvedLimits, usedCores: number, retryAfterMs: number): PrismError {
  return throttled(
    `namespace "${namespace}" used ${usedCores.toFixed(3)} CPU cores over the last second, ` +
      `above its budget of ${limits.cpuCores ?? 0} cores (cpu set by ${limits.sources.cpu})`,
    retryAfterMs,
  );
}

/** Builds the RESOURCE_EXHAUSTED error for a namespace at its max_in_flight. */
export function inFlightExceededError(namespace: string, limits: ResolvedLimits, inFlight: number): PrismError {
  return withoutStack(
    () =>
      new PrismError(
        Code.ResourceExhausted,
        "LIMIT_EXCEEDED",
        `namespace "${namespace}" already has ${inFlight} requests and streams in flight, its limit ` +
          `(max_in_flight set by ${limits.sources.max_in_flight}); retry when one finishes, or raise max_in_flight`,
      ),
  );
}

/**
 * Builds the RESOURCE_EXHAUSTED error for bytes that would take a namespace above its
 * memory budget. `what` names the bytes, such as "this request of 512 bytes".
 */
export function memoryExceededError(namespace: string, limits: ResolvedLimits, heldBytes: number, what: string, bytes: number): PrismError {
  const budget = limits.memoryBytes ?? 0;
  const fix =
    bytes > budget
      ? "it can never fit, so split it or raise the budget"
      : "retry when requests in flight finish, or raise the budget";
  return withoutStack(
    () =>
      new PrismError(
        Code.ResourceExhausted,
        "LIMIT_EXCEEDED",
        `namespace "${namespace}" holds ${heldBytes} bytes in flight, and ${what} would take it above its memory budget ` +
          `of ${budget} bytes (memory set by ${limits.sources.memory}); ${fix}`,
      ),
  );
}
