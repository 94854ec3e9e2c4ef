/** Resolution and validation of the NATS driver options. */

import assert from "node:assert/strict";
import { describe, test } from "node:test";

import { describeEndpoint, parseNatsServers, resolveNatsOptions } from "../../../src/backends/nats/nats-options.js";
import { testLogger } from "./nats-test-helpers.js";

describe("NATS driver options", () => {
  test("parse endpoints and hide credentials", () => {
    assert.deepEqual(parseNatsServers("127.0.0.1:4222, nats://user:pw@[::1]:4223"), [
      "127.0.0.1:4222",
      "nats://user:pw@[::1]:4223",
    ]);
    assert.equal(describeEndpoint("nats://user:pw@host:4222,other:1"), "nats://host:4222,other:1");
    assert.throws(() => parseNatsServers("http://host:4222"), TypeError);
    assert.throws(() => parseNatsServers(" , "), TypeError);
  });

  test("reject a format that does not end with a token separator", () => {
    const resolve = (subjectFormat: string) => () =>
      resolveNatsOptions({ endpoint: "127.0.0.1:4222", subjectFormat, logger: testLogger() });

    assert.throws(resolve("tenant.{tenant_id}:{subject}"), TypeError);
    assert.throws(resolve("tenant.{tenant_id}.{subject}.suffix"), TypeError);
    assert.doesNotThrow(resolve("{tenant_id}.{subject}"));
    assert.doesNotThrow(resolve("apps.prism.{tenant_id}.{subject}"));
  });

  test("reject impossible limits and a password without a user", () => {
    const base = { endpoint: "127.0.0.1:4222", logger: testLogger() };
    assert.throws(() => resolveNatsOptions({ ...base, maxSubjectBytes: 5000 }), TypeError);
    assert.throws(() => resolveNatsOptions({ ...base, operationTimeoutMs: 0 }), TypeError);
    assert.throws(() => resolveNatsOptions({ ...base, password: "x" }), TypeError);
    assert.throws(() => resolveNatsOptions({ ...base, tenantCredentials: { secret: "too short" } }), TypeError);
  });
});
