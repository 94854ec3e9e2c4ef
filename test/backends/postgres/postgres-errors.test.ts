import { describe, it } from "node:test";
import assert from "node:assert/strict";
import { DatabaseError } from "pg";
import { Code, PrismError } from "../../../src/errors/prism-error.js";
import {
  failureKind,
  isBrokenConnection,
  sanitizedCause,
  toPostgresError,
  type PostgresCallContext,
} from "../../../src/backends/postgres/postgres-errors.js";

const CONTEXT: PostgresCallContext = {
  endpoint: "db.internal:5432/app",
  table: "prism.keyvalue",
  role: "prism_proxy",
  statementTimeoutMs: 2000,
  queryTimeoutMs: 3000,
  connectTimeoutMs: 2000,
  maxConnections: 10,
  operation: "write",
  commitSent: false,
};

function serverError(code: string, message: string, detail?: string): DatabaseError {
  const error = new DatabaseError(message, 0, "error");
  error.code = code;
  if (detail !== undefined) {
    error.detail = detail;
  }
  return error;
}

function socketError(code: string): Error {
  return Object.assign(new Error(`connect ${code} 10.0.0.1:5432`), { code, syscall: "connect" });
}

describe("postgres error mapping", () => {
  const cases: [string, unknown, Code, RegExp][] = [
    ["refused connection", socketError("ECONNREFUSED"), Code.Unavailable, /db\.internal:5432\/app is unavailable: connection refused \(ECONNREFUSED\)/],
    ["reset connection", socketError("ECONNRESET"), Code.Unavailable, /connection reset \(ECONNRESET\)/],
    ["unknown host", socketError("ENOTFOUND"), Code.Unavailable, /host not found/],
    [
      "several refused addresses",
      Object.assign(new AggregateError([socketError("ECONNREFUSED"), socketError("ECONNREFUSED")]), { code: "ECONNREFUSED" }),
      Code.Unavailable,
      /connection refused/,
    ],
    ["lost connection", new Error("Connection terminated unexpectedly"), Code.Unavailable, /the connection was closed unexpectedly/],
    ["connect timeout", new Error("Connection terminated due to connection timeout"), Code.Unavailable, /no connection could be opened within 2000 ms/],
    ["busy pool", new Error("timeout exceeded when trying to connect"), Code.Unavailable, /no pooled connection became free within 2000 ms \(all 10/],
    ["reply timeout", new Error("Query read timeout"), Code.DeadlineExceeded, /did not reply within 3000 ms/],
    ["statement timeout", serverError("57014", "canceling statement due to statement timeout"), Code.DeadlineExceeded, /statement_timeout is 2000 ms/],
    ["lock timeout", serverError("55P03", "canceling statement due to lock timeout"), Code.DeadlineExceeded, /could not lock the row/],
    ["terminated by an administrator", serverError("57P01", "terminating connection"), Code.Unavailable, /administrator command\) \(SQLSTATE 57P01\)/],
    ["too many connections", serverError("53300", "sorry, too many clients already"), Code.Unavailable, /too many connections/],
    ["deadlock", serverError("40P01", "deadlock detected"), Code.Unavailable, /deadlocked.*retry.*nothing was written/],
    ["bad password", serverError("28P01", "password authentication failed"), Code.Unavailable, /authentication failed/],
    [
      "row-level security violation",
      serverError("42501", 'new row violates row-level security policy for table "keyvalue"'),
      Code.PermissionDenied,
      /denied the operation on prism\.keyvalue for role prism_proxy \(new row violates row-level security policy/,
    ],
    ["missing table", serverError("42P01", 'relation "prism.keyvalue" does not exist'), Code.Unavailable, /prismctl postgres migrate/],
    ["other server error", serverError("22021", "invalid byte sequence"), Code.Internal, /rejected the statement \(SQLSTATE 22021\)/],
    ["unexpected error", new RangeError("boom"), Code.Internal, /failed unexpectedly/],
  ];

  for (const [name, error, code, message] of cases) {
    it(`maps ${name}`, () => {
      const mapped = toPostgresError(error, CONTEXT);
      assert.ok(mapped instanceof PrismError);
      assert.equal(mapped.code, code);
      assert.match(mapped.rawMessage, message);
    });
  }

  it("keeps internal detail out of the message of an unexpected error", () => {
    assert.doesNotMatch(toPostgresError(new RangeError("secret-internal-state"), CONTEXT).rawMessage, /secret-internal-state/);
  });

  it("passes a PrismError through", () => {
    const original = new PrismError(Code.InvalidArgument, "INVALID_NAME", "bad key");
    assert.equal(toPostgresError(original, CONTEXT), original);
  });

  it("tells whether a lost write may have been applied", () => {
    const lost = new Error("Connection terminated unexpectedly");
    assert.match(toPostgresError(lost, { ...CONTEXT, commitSent: true }).rawMessage, /the write may have been applied/);
    assert.match(toPostgresError(lost, CONTEXT).rawMessage, /rolled back and nothing was written/);
    assert.match(toPostgresError(lost, { ...CONTEXT, operation: "read" }).rawMessage, /retry the request/);
    assert.match(toPostgresError(lost, { ...CONTEXT, operation: "check" }).rawMessage, /the request was not applied/);
  });

  it("drops row data from the cause", () => {
    const error = serverError("23505", "duplicate key value", "Key (tenant_id, key)=(acme, secret-key) already exists.");
    const mapped = toPostgresError(error, CONTEXT);
    const cause = mapped.cause as Error & { detail?: unknown };
    assert.equal(cause.detail, undefined);
    assert.doesNotMatch(JSON.stringify({ message: cause.message, mapped: mapped.rawMessage }), /secret-key/);
    assert.match(sanitizedCause(error).message, /SQLSTATE 23505/);
  });

  it("classifies failures for the health state", () => {
    assert.equal(failureKind(socketError("ECONNREFUSED")), "connection");
    assert.equal(failureKind(serverError("57P01", "terminating connection")), "connection");
    assert.equal(failureKind(new Error("Query read timeout")), "connection");
    assert.equal(failureKind(serverError("57014", "statement timeout")), "timeout");
    assert.equal(failureKind(new Error("timeout exceeded when trying to connect")), "timeout");
    assert.equal(failureKind(serverError("42P01", "relation does not exist")), "schema");
    assert.equal(failureKind(serverError("42501", "permission denied")), "request");
  });

  it("recognizes a connection that broke, but not one that never opened", () => {
    assert.equal(isBrokenConnection(serverError("57P01", "terminating connection")), true);
    assert.equal(isBrokenConnection(new Error("Connection terminated unexpectedly")), true);
    assert.equal(isBrokenConnection(socketError("ECONNRESET")), true);
    assert.equal(isBrokenConnection(socketError("ECONNREFUSED")), false);
    assert.equal(isBrokenConnection(new Error("Connection terminated due to connection timeout")), false);
    assert.equal(isBrokenConnection(new Error("Query read timeout")), false);
  });
});
