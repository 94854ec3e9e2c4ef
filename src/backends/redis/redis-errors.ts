/**
 * The one place where failures of ioredis and of the Redis server become PrismErrors.
 * ioredis reports most conditions as plain Errors that differ only in their message, and
 * the server's error replies start with an upper-case code ("NOPERM ...", "OOM ...").
 * Both are parsed here and nowhere else.
 */

import { Code, PrismError, unavailable } from "../../errors/prism-error.js";

/** Facts about a failed call, for the message the client receives. */
export interface RedisCallContext {
  /** "host:port" of the server. */
  endpoint: string;
  /** Whether the command changes data, so that a lost reply leaves its effect unknown. */
  write: boolean;
  /** The reply timeout in force, for the timeout message. */
  commandTimeoutMs: number;
  /** Set when other commands of the same batch succeeded, so part of it was applied. */
  partOfBatchApplied?: boolean;
}

/** Kind of failure, as far as the client can act on it. */
type Failure =
  | { kind: "not-sent"; detail: string }
  | { kind: "reply-lost"; detail: string }
  | { kind: "timeout" }
  | { kind: "reply"; code: string };

/** Messages of errors that ioredis raises as plain Errors (ioredis 5.x). */
const IOREDIS_OFFLINE = "Stream isn't writeable and enableOfflineQueue options is false";
const IOREDIS_CLOSED = "Connection is closed.";
const IOREDIS_TIMEOUT = "Command timed out";
const IOREDIS_SUBSCRIBER_MODE = "Connection in subscriber mode";

/** Socket error codes that mean no connection existed, so nothing was sent. */
const CONNECT_FAILURE_CODES = new Set(["ECONNREFUSED", "ENOTFOUND", "EAI_AGAIN", "EHOSTUNREACH", "ENETUNREACH"]);
/** Socket error codes that break an established connection. */
const CONNECTION_LOST_CODES = new Set(["ECONNRESET", "EPIPE", "ETIMEDOUT", "ECONNABORTED"]);

/** Server error codes that mean the server cannot serve now but may later. */
const UNAVAILABLE_REPLIES: Readonly<Record<string, string>> = {
  LOADING: "the server is loading its dataset",
  BUSY: "the server is busy running a script",
  MASTERDOWN: "the replica lost its link to the primary",
  TRYAGAIN: "the cluster is resharding",
  CLUSTERDOWN: "the cluster is down",
  READONLY: "the endpoint is a read-only replica",
  MISCONF: "the server stopped accepting writes because it cannot persist",
  WRONGPASS: "authentication failed; check the configured username and password or the tenant ACL secret",
  NOAUTH: "the server requires authentication; configure a username and password",
};

/** Turns any value thrown by an ioredis call into a PrismError. */
export function toRedisError(error: unknown, context: RedisCallContext): PrismError {
  if (error instanceof PrismError) {
    return error;
  }

  const cause = sanitizedCause(error);
  const failure = classify(error);
  switch (failure.kind) {
    case "not-sent":
      return unavailable(
        `redis ${context.endpoint} is unavailable: ${failure.detail}; ${notApplied(context)}`,
        "BACKEND_UNAVAILABLE",
        cause,
      );
    case "reply-lost":
      return unavailable(
        `redis ${context.endpoint} is unavailable: ${failure.detail}; ${maybeApplied(context)}`,
        "BACKEND_UNAVAILABLE",
        cause,
      );
    case "timeout":
      return unavailable(
        `redis ${context.endpoint} is unavailable: no reply within ${context.commandTimeoutMs} ms; ${maybeApplied(context)}`,
        "BACKEND_TIMEOUT",
        cause,
      );
    case "reply":
      return fromReply(failure.code, context, cause);
  }
}

/** Creates the error for a call made while the connection is not ready, so nothing was sent. */
export function notConnectedError(context: RedisCallContext, detail: string | undefined, cause?: unknown): PrismError {
  const reason = detail === undefined ? "not connected" : `not connected (${detail})`;
  return unavailable(
    `redis ${context.endpoint} is unavailable: ${reason}; ${notApplied(context)}`,
    "BACKEND_UNAVAILABLE",
    cause === undefined ? undefined : sanitizedCause(cause),
  );
}

/** Creates the error for a call made after the driver was closed. */
export function driverClosedError(endpoint: string): PrismError {
  return unavailable(
    `redis ${endpoint} driver is closed because the proxy is shutting down; the request was not applied`,
    "SHUTTING_DOWN",
  );
}

/** Returns the upper-case code a Redis error reply starts with, or undefined for other errors. */
export function replyCode(error: unknown): string | undefined {
  if (!(error instanceof Error) || error.name !== "ReplyError") {
    return undefined;
  }
  return /^([A-Z][A-Z_-]*)\b/.exec(error.message)?.[1];
}

function fromReply(code: string, context: RedisCallContext, cause: Error): PrismError {
  const unavailableReason = UNAVAILABLE_REPLIES[code];
  if (unavailableReason !== undefined) {
    return unavailable(
      `redis ${context.endpoint} is unavailable: ${unavailableReason} (${code}); ${notApplied(context)}`,
      "BACKEND_UNAVAILABLE",
      cause,
    );
  }

  switch (code) {
    case "NOPERM":
      return new PrismError(
        Code.PermissionDenied,
        "PERMISSION_DENIED",
        `redis ${context.endpoint} denied the command (NOPERM): the connection's ACL user may not run it on this key or channel; ${notApplied(context)}`,
        { cause },
      );
    case "OOM":
      return new PrismError(
        Code.ResourceExhausted,
        "LIMIT_EXCEEDED",
        `redis ${context.endpoint} is out of memory (OOM, maxmemory reached); ${notApplied(context)}; delete keys or ask the operator to raise maxmemory`,
        { cause },
      );
    case "WRONGTYPE":
      return new PrismError(
        Code.FailedPrecondition,
        "INVALID_ARGUMENT",
        `redis ${context.endpoint} holds a non-string value under this key (WRONGTYPE), written outside the proxy; ${notApplied(context)}; delete the key first`,
        { cause },
      );
    default:
      return new PrismError(
        Code.Internal,
        "INTERNAL",
        `redis ${context.endpoint} returned an error reply (${code}); ${notApplied(context)}; the proxy logged the cause`,
        { cause },
      );
  }
}

function classify(error: unknown): Failure {
  const code = replyCode(error);
  if (code !== undefined) {
    return { kind: "reply", code };
  }
  if (!(error instanceof Error)) {
    return { kind: "reply", code: "UNKNOWN" };
  }

  const message = error.message;
  if (message === IOREDIS_TIMEOUT) {
    return { kind: "timeout" };
  }
  if (message === IOREDIS_OFFLINE) {
    return { kind: "not-sent", detail: "not connected" };
  }
  if (message === IOREDIS_CLOSED) {
    return { kind: "not-sent", detail: "the connection is closed" };
  }
  if (message.startsWith(IOREDIS_SUBSCRIBER_MODE)) {
    return { kind: "reply", code: "SUBSCRIBER_MODE" };
  }
  // MaxRetriesPerRequestError and AbortError reject commands that were written to a
  // connection that then closed: the server may have run them.
  if (error.name === "MaxRetriesPerRequestError" || error.name === "AbortError") {
    return { kind: "reply-lost", detail: "the connection was lost before the reply" };
  }

  const socketCode = errorCode(error);
  const syscall: unknown = (error as Error & { syscall?: unknown }).syscall;
  if (socketCode !== undefined && (syscall === "connect" || CONNECT_FAILURE_CODES.has(socketCode))) {
    return { kind: "not-sent", detail: `connect failed (${socketCode})` };
  }
  if (socketCode !== undefined && CONNECTION_LOST_CODES.has(socketCode)) {
    return { kind: "reply-lost", detail: `the connection was lost (${socketCode})` };
  }
  return { kind: "reply", code: "UNKNOWN" };
}

function notApplied(context: RedisCallContext): string {
  if (context.partOfBatchApplied === true) {
    return "part of the batch may have been applied";
  }
  return "the request was not applied";
}

function maybeApplied(context: RedisCallContext): string {
  return context.write ? "the request may have been applied" : "retry the request";
}

function errorCode(error: Error): string | undefined {
  const code: unknown = (error as Error & { code?: unknown }).code;
  return typeof code === "string" ? code : undefined;
}

/**
 * Copies the error without the properties where ioredis keeps the command's arguments
 * (keys and values), so logging the cause leaks no tenant data.
 */
export function sanitizedCause(error: unknown): Error {
  if (!(error instanceof Error)) {
    return new Error(`non-error value thrown: ${typeof error}`);
  }

  const copy = new Error(error.message);
  copy.name = error.name;
  if (error.stack !== undefined) {
    copy.stack = error.stack;
  }
  const code = errorCode(error);
  if (code !== undefined) {
    Object.assign(copy, { code });
  }
  return copy;
}
