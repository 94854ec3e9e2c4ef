/** Mapping of NATS client errors to PrismErrors. */

import assert from "node:assert/strict";
import { describe, test } from "node:test";

import {
  AuthorizationError,
  ClosedConnectionError,
  PermissionViolationError,
  RequestError,
  TimeoutError,
} from "@nats-io/transport-node";

import { toNatsError, type NatsCallContext } from "../../../src/backends/nats/nats-errors.js";
import { Code } from "../../../src/errors/prism-error.js";

describe("toNatsError", () => {
  const context: NatsCallContext = { endpoint: "127.0.0.1:4222", operation: "publish", timeoutMs: 100 };

  test("maps client errors to gRPC codes", () => {
    const cases: [unknown, Code][] = [
      [new PermissionViolationError("denied", "publish", "tenant.a.x"), Code.PermissionDenied],
      [new TimeoutError(), Code.Unavailable],
      [new ClosedConnectionError(), Code.Unavailable],
      [new RequestError("connection disconnected"), Code.Unavailable],
      [new AuthorizationError("Authorization Violation"), Code.Unavailable],
      [Object.assign(new Error("connect ECONNREFUSED"), { code: "ECONNREFUSED" }), Code.Unavailable],
      [new Error("something else"), Code.Internal],
    ];
    for (const [error, code] of cases) {
      assert.equal(toNatsError(error, context).code, code, String(error));
    }
  });

  test("names the backend and endpoint", () => {
    const error = toNatsError(new ClosedConnectionError(), context);
    assert.match(error.rawMessage, /^nats 127\.0\.0\.1:4222 is unavailable: the connection is closed;/);
    assert.equal(error.reason, "BACKEND_UNAVAILABLE");
    assert.equal(toNatsError(new TimeoutError(), context).reason, "BACKEND_TIMEOUT");
  });
});
