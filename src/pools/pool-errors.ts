/**
 * The errors of the connection-pool layer. Each message names the pool and, for a
 * limit, the configuration key that sets it, so an operator can act on it.
 */

import { Code, PrismError, resourceExhausted, unavailable } from "../errors/prism-error.js";

/** Builds the error for a request that waited while the pool had every connection it may open in use. */
export function poolExhaustedError(pool: string, maxSize: number, limitKey: string, waitedMs: number): PrismError {
  return resourceExhausted(
    `connection pool ${pool} has all ${maxSize} of its connections in use (limit ${limitKey}) and none was released within ${waitedMs}ms; raise ${limitKey} or send fewer requests at once`,
  );
}

/** Builds the error for a request that waited while the pool was below its limit but its shared budget was full. */
export function budgetExhaustedError(pool: string, limit: number, limitKey: string, waitedMs: number): PrismError {
  return resourceExhausted(
    `connection pool ${pool} could not open a connection within ${waitedMs}ms, because the pools sharing ${limitKey} already hold all ${limit} connections; raise ${limitKey} or lower the per-pool limits`,
  );
}

/** Builds the error for a request that waited while the pool had room but opening a connection took longer. */
export function openTimedOutError(pool: string, waitedMs: number): PrismError {
  return unavailable(
    `opening a connection for pool ${pool} took longer than ${waitedMs}ms; check that the backend is reachable and retry`,
    "BACKEND_TIMEOUT",
  );
}

/** Builds the error for a failed create(). A PrismError from the factory passes through unchanged. */
export function openFailedError(pool: string, cause: unknown): PrismError {
  if (cause instanceof PrismError) {
    return cause;
  }
  return unavailable(
    `opening a connection for pool ${pool} failed; the proxy logged the cause. Check that the backend is reachable and retry`,
    "BACKEND_UNAVAILABLE",
    cause,
  );
}

export function poolClosedError(pool: string): PrismError {
  return unavailable(`connection pool ${pool} is closing; retry the request on another proxy or after the restart`, "SHUTTING_DOWN");
}

export function acquireCancelledError(pool: string, cause: unknown): PrismError {
  return new PrismError(
    Code.Canceled,
    "INVALID_ARGUMENT",
    `the request was cancelled while it waited for a connection from pool ${pool}`,
    { cause },
  );
}

/** Builds the error for a session-level acquire without a session id, which is a wiring fault in the proxy. */
export function sessionIdMissingError(backend: string): PrismError {
  return new PrismError(
    Code.Internal,
    "INTERNAL",
    `a ${backend} connection was requested at isolation level session without a session id; the proxy must pass the request's session`,
  );
}

/** Builds the error for a request whose isolation level needs pools that the configuration switched off. */
export function levelDisabledError(key: string, level: string, namespace: string): PrismError {
  return new PrismError(
    Code.FailedPrecondition,
    "INTERNAL",
    `namespace ${namespace} uses isolation level ${level}, but ${key} is false in the proxy configuration; the operator must set ${key} to true or choose another isolation level`,
  );
}
