/**
 * The one place where failures of the pg client and of the PostgreSQL server become
 * PrismErrors. The server reports a SQLSTATE code. pg reports its own conditions
 * (connect and reply timeouts, lost connections) as plain Errors that only their message
 * distinguishes, and socket failures carry a Node.js error code. All three are parsed
 * here and nowhere else.
 */

import { DatabaseError } from "pg";

import { Code, PrismError, unavailable } from "../../errors/prism-error.js";

/** Context of a failed call, for the message the client receives. */
export interface PostgresCallContext {
  /** "host:port/database" of the server. */
  endpoint: string;
  /** "schema.table" of the key-value rows. */
  table: string;
  /** Role the driver connects as. */
  role: string;
  statementTimeoutMs: number;
  queryTimeoutMs: number;
  connectTimeoutMs: number;
  /** Pool size, for the message when no pooled connection became free. */
  maxConnections: number;
  /**
   * Kind of call: a request that reads, a request that writes, or the startup checks,
   * whose failure the driver passes on to requests it never sent.
   */
  operation: "read" | "write" | "check";
  /**
   * Whether COMMIT had been sent when the failure happened, so that a lost reply
   * leaves the outcome unknown. Before that, the transaction cannot have committed.
   */
  commitSent: boolean;
}

/** Class of a failure, from which the driver decides its health state. */
export type FailureKind =
  /** The connection could not be opened or broke: the backend counts as degraded. */
  | "connection"
  /** The server did not finish in time: one slow statement, not a broken backend. */
  | "timeout"
  /** The table, a column or a function is missing: the startup checks must run again. */
  | "schema"
  /** Any other failure of this one request. */
  | "request";

/** pg 8.x messages of conditions it raises as plain Errors. */
const PG_CONNECTION_TIMEOUT = "Connection terminated due to connection timeout";
const PG_POOL_CHECKOUT_TIMEOUT = "timeout exceeded when trying to connect";
const PG_CONNECTION_TERMINATED = "Connection terminated";
const PG_NOT_QUERYABLE = "Client has encountered a connection error and is not queryable";
const PG_CLIENT_CLOSED = "Client was closed and is not queryable";
const PG_QUERY_READ_TIMEOUT = "Query read timeout";

/** Node.js socket and DNS error codes, with the words a message uses for them. */
const SOCKET_ERRORS: Readonly<Record<string, string>> = {
  ECONNREFUSED: "connection refused",
  ECONNRESET: "connection reset",
  EPIPE: "connection closed by the server",
  ETIMEDOUT: "connection timed out",
  ECONNABORTED: "connection aborted",
  ENOTFOUND: "host not found",
  EAI_AGAIN: "host name lookup failed",
  EHOSTUNREACH: "host unreachable",
  ENETUNREACH: "network unreachable",
};

/** SQLSTATE codes of a server that cannot serve now but may later. */
const UNAVAILABLE_STATES: Readonly<Record<string, string>> = {
  "57P01": "the server terminated the connection (administrator command)",
  "57P02": "the server terminated the connection (crash shutdown)",
  "57P03": "the server is starting up or shutting down",
  "57P05": "the server terminated an idle connection",
  "53300": "the server has too many connections",
  "25P03": "the server ended a transaction that stayed idle too long",
  "40001": "the transaction conflicted with a concurrent one (serialization failure); retry",
  "40P01": "the transaction deadlocked with a concurrent one; retry",
  "3D000": "the database does not exist",
  "28P01": "authentication failed; check backends.postgres.username and password",
  "28000": "the server rejected the role or the connection (pg_hba.conf); check backends.postgres.username",
};

/** SQLSTATE codes of schema objects the migration creates. */
const SCHEMA_STATES = new Set(["42P01", "3F000", "42703", "42883"]);

/** Returns the SQLSTATE of a server error, or undefined for other errors. */
export function sqlState(error: unknown): string | undefined {
  return error instanceof DatabaseError && typeof error.code === "string" ? error.code : undefined;
}

/** Classifies a failure without building a message. */
export function failureKind(error: unknown): FailureKind {
  const state = sqlState(error);
  if (state !== undefined) {
    return classifyState(state);
  }
  if (!(error instanceof Error)) {
    return "request";
  }
  if (error.message === PG_QUERY_READ_TIMEOUT) {
    // The server gave no reply at all, not even the statement timeout's error.
    return "connection";
  }
  if (error.message === PG_POOL_CHECKOUT_TIMEOUT) {
    // Every pooled connection was busy: the proxy is overloaded, the server may be fine.
    return "timeout";
  }
  if (connectionProblem(error) !== undefined) {
    return "connection";
  }
  return "request";
}

/**
 * Whether an established connection broke (as opposed to one that could not be opened
 * or a server that stopped responding). On a connection taken from the pool this
 * usually means the server ended it while it sat idle.
 */
export function isBrokenConnection(error: unknown): boolean {
  const state = sqlState(error);
  if (state !== undefined) {
    return state.startsWith("08") || state === "57P01" || state === "57P02" || state === "57P05";
  }
  if (!(error instanceof Error)) {
    return false;
  }
  const message = error.message;
  if (message.startsWith(PG_CONNECTION_TERMINATED) && message !== PG_CONNECTION_TIMEOUT) {
    return true;
  }
  if (message === PG_NOT_QUERYABLE || message === PG_CLIENT_CLOSED) {
    return true;
  }
  const code = errorCode(error);
  return code === "ECONNRESET" || code === "EPIPE";
}

/** Turns any value thrown by a pg call into a PrismError. */
export function toPostgresError(error: unknown, context: PostgresCallContext): PrismError {
  if (error instanceof PrismError) {
    return error;
  }

  const backend = `postgres ${context.endpoint}`;
  const state = sqlState(error);
  if (state !== undefined) {
    return fromSqlState(state, error as DatabaseError, context);
  }
  if (!(error instanceof Error)) {
    return internal(`${backend} failed unexpectedly; ${outcome(context)}; the proxy logged the cause`, error);
  }

  if (error.message === PG_QUERY_READ_TIMEOUT) {
    return new PrismError(
      Code.DeadlineExceeded,
      "BACKEND_TIMEOUT",
      `${backend} did not reply within ${context.queryTimeoutMs} ms; the connection was closed and ${outcome(context)}`,
      { cause: error },
    );
  }

  if (error.message === PG_POOL_CHECKOUT_TIMEOUT) {
    return unavailable(
      `${backend} is busy: no pooled connection became free within ${context.connectTimeoutMs} ms (all ${context.maxConnections} in use or connecting); nothing was sent. Retry, or raise the pool size`,
      "BACKEND_TIMEOUT",
      error,
    );
  }

  const problem = connectionProblem(error, context.connectTimeoutMs);
  if (problem !== undefined) {
    return unavailable(`${backend} is unavailable: ${problem}; ${outcome(context)}`, "BACKEND_UNAVAILABLE", error);
  }
  return internal(`${backend} failed unexpectedly; ${outcome(context)}; the proxy logged the cause`, error);
}

/**
 * Copies a pg error without the fields that can quote row data (detail, where, the
 * query), so logging the cause never writes a tenant's key or value.
 */
export function sanitizedCause(error: unknown): Error {
  if (error instanceof DatabaseError) {
    const copy = new Error(`${error.message} (SQLSTATE ${error.code ?? "?"})`);
    copy.name = "DatabaseError";
    return copy;
  }
  if (error instanceof Error) {
    return error;
  }
  return new Error(String(error));
}

/** Returns the error for a call made after close(). */
export function driverClosedError(endpoint: string): PrismError {
  return unavailable(
    `postgres ${endpoint} driver is closed because the proxy is shutting down; the request was not applied`,
    "SHUTTING_DOWN",
  );
}

function classifyState(state: string): FailureKind {
  if (state === "57014" || state === "55P03") {
    return "timeout";
  }
  if (SCHEMA_STATES.has(state)) {
    return "schema";
  }
  if (state.startsWith("08") || state.startsWith("57P") || state.startsWith("53") || state.startsWith("28") || state === "3D000") {
    return "connection";
  }
  return "request";
}

function fromSqlState(state: string, error: DatabaseError, context: PostgresCallContext): PrismError {
  const backend = `postgres ${context.endpoint}`;
  const cause = sanitizedCause(error);

  if (state === "57014") {
    // Also raised by pg_cancel_backend; the statement timeout is by far the usual cause.
    return new PrismError(
      Code.DeadlineExceeded,
      "BACKEND_TIMEOUT",
      `${backend} cancelled the statement (statement_timeout is ${context.statementTimeoutMs} ms); ${notApplied(context)}`,
      { cause },
    );
  }
  if (state === "55P03") {
    return new PrismError(
      Code.DeadlineExceeded,
      "BACKEND_TIMEOUT",
      `${backend} could not lock the row in time (lock_timeout); ${notApplied(context)}`,
      { cause },
    );
  }
  if (state === "42501") {
    return new PrismError(
      Code.PermissionDenied,
      "PERMISSION_DENIED",
      `${backend} denied the operation on ${context.table} for role ${context.role} (${error.message}); ${notApplied(context)}. ` +
        "Rows are limited to the tenant by row-level security; if this is a grant problem, run prismctl postgres migrate",
      { cause },
    );
  }
  if (SCHEMA_STATES.has(state)) {
    return unavailable(
      `${backend} is not ready: ${error.message} (SQLSTATE ${state}); ${notApplied(context)}. ` +
        `Create or repair ${context.table} with prismctl postgres migrate`,
      "BACKEND_UNAVAILABLE",
      cause,
    );
  }

  const reason = UNAVAILABLE_STATES[state];
  const connectionLevel = classifyState(state) === "connection";
  if (reason !== undefined || connectionLevel) {
    // A broken connection can lose a COMMIT's reply; an error reply means the transaction rolled back.
    const note = connectionLevel ? outcome(context) : notApplied(context);
    return unavailable(
      `${backend} is unavailable: ${reason ?? error.message} (SQLSTATE ${state}); ${note}`,
      "BACKEND_UNAVAILABLE",
      cause,
    );
  }
  return internal(`${backend} rejected the statement (SQLSTATE ${state}); ${notApplied(context)}; the proxy logged the cause`, cause);
}

/** Describes a connection-level failure, or returns undefined when the error is something else. */
function connectionProblem(error: Error, connectTimeoutMs?: number): string | undefined {
  const message = error.message;
  if (message === PG_CONNECTION_TIMEOUT) {
    const limit = connectTimeoutMs === undefined ? "in time" : `within ${connectTimeoutMs} ms`;
    return `no connection could be opened ${limit}; check that the server is running and reachable`;
  }
  if (message.startsWith(PG_CONNECTION_TERMINATED)) {
    return "the connection was closed unexpectedly";
  }
  if (message === PG_NOT_QUERYABLE || message === PG_CLIENT_CLOSED) {
    return "the connection broke";
  }

  const code = errorCode(error);
  if (code !== undefined && SOCKET_ERRORS[code] !== undefined) {
    return `${SOCKET_ERRORS[code]} (${code}); check that the server is running and backends.postgres.endpoint`;
  }
  return undefined;
}

/** Returns the Node.js error code of a socket error, also when Node wraps several attempts in an AggregateError. */
function errorCode(error: Error): string | undefined {
  const code: unknown = (error as Error & { code?: unknown }).code;
  if (typeof code === "string") {
    return code;
  }
  if (error instanceof AggregateError) {
    for (const inner of error.errors) {
      if (inner instanceof Error) {
        const innerCode = errorCode(inner);
        if (innerCode !== undefined) {
          return innerCode;
        }
      }
    }
  }
  return undefined;
}

function internal(message: string, cause: unknown): PrismError {
  return new PrismError(Code.Internal, "INTERNAL", message, { cause });
}

/** Describes what the client may assume after the server rejected the statement: a write rolled back entirely. */
function notApplied(context: PostgresCallContext): string {
  switch (context.operation) {
    case "write":
      return "the transaction was rolled back and nothing was written";
    case "read":
      return "nothing was changed";
    case "check":
      return "the request was not applied";
  }
}

/** Describes what the client may assume when the connection failed, so that a reply may be lost. */
function outcome(context: PostgresCallContext): string {
  switch (context.operation) {
    case "write":
      return context.commitSent ? "the write may have been applied" : "the transaction was rolled back and nothing was written";
    case "read":
      return "retry the request";
    case "check":
      return "the request was not applied";
  }
}
