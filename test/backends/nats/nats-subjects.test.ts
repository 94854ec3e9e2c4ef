/** The NATS driver's own check of physical subjects. */

import assert from "node:assert/strict";
import { describe, test } from "node:test";

import { DEFAULT_MAX_SUBJECT_BYTES } from "../../../src/backends/nats/nats-options.js";
import { checkTenantSubject } from "../../../src/backends/nats/nats-subjects.js";
import { Code, PrismError } from "../../../src/errors/prism-error.js";

describe("checkTenantSubject", () => {
  const prefix = "tenant.acme.";
  const accepts = (subject: string, use: "publish" | "subscribe"): void =>
    checkTenantSubject(subject, prefix, use, DEFAULT_MAX_SUBJECT_BYTES);
  const invalid = (error: unknown): boolean => error instanceof PrismError && error.code === Code.InvalidArgument;

  test("accepts subjects inside the prefix", () => {
    accepts("tenant.acme.orders", "publish");
    accepts("tenant.acme.orders.eu-west_1", "publish");
    accepts("tenant.acme.*.eu", "subscribe");
    accepts("tenant.acme.>", "subscribe");
  });

  test("rejects subjects outside the prefix", () => {
    assert.throws(() => accepts("tenant.globex.orders", "publish"), invalid);
    assert.throws(() => accepts("tenant.acme", "subscribe"), invalid);
    assert.throws(() => accepts("tenant.acme.", "publish"), invalid);
    assert.throws(() => accepts("tenant.acmeorders", "publish"), invalid);
    assert.throws(() => checkTenantSubject("tenant.acme>", "tenant.acme", "subscribe", 100), invalid);
  });

  test("rejects protocol delimiters and invisible characters", () => {
    for (const bad of [" ", "\t", "\r", "\n", "\u0000", "\u00a0", "\u200b", "\u2028"]) {
      assert.throws(() => accepts(`tenant.acme.a${bad}b`, "publish"), invalid, JSON.stringify(bad));
    }
  });

  test("restricts wildcards", () => {
    assert.throws(() => accepts("tenant.acme.*", "publish"), invalid);
    assert.throws(() => accepts("tenant.acme.>", "publish"), invalid);
    assert.throws(() => accepts("tenant.acme.a*", "publish"), invalid);
    assert.throws(() => accepts("tenant.acme.a*", "subscribe"), invalid);
    assert.throws(() => accepts("tenant.acme.>.a", "subscribe"), invalid);
    assert.throws(() => accepts("tenant.acme.a..b", "subscribe"), invalid);
  });

  test("enforces the byte limit including the prefix", () => {
    checkTenantSubject(`${prefix}${"é".repeat(10)}`, prefix, "publish", prefix.length + 20);
    assert.throws(() => checkTenantSubject(`${prefix}${"é".repeat(11)}`, prefix, "publish", prefix.length + 20), invalid);
  });
});
