import { describe, it } from "node:test";
import assert from "node:assert/strict";
import { channelTargetFor, escapeGlob, hasWildcard, tenantGlob } from "../../../src/backends/redis/channel-pattern.js";
import { PrefixStrategy } from "../../../src/isolation/prefix-strategy.js";

const strategy = new PrefixStrategy("tenant:{tenant_id}:{key}", "key");

describe("redis channel patterns", () => {
  it("maps a topic without wildcards to one channel", () => {
    assert.deepEqual(channelTargetFor(strategy, "acme", "orders.created", false), {
      kind: "channel",
      name: "tenant:acme:orders.created",
    });
    assert.deepEqual(channelTargetFor(strategy, "acme", "orders.created", true), {
      kind: "channel",
      name: "tenant:acme:orders.created",
    });
  });

  it("turns * and > tokens into globs under the prefix", () => {
    assert.deepEqual(channelTargetFor(strategy, "acme", "orders.*", false), { kind: "pattern", name: "tenant:acme:orders.*" });
    assert.deepEqual(channelTargetFor(strategy, "acme", "orders.*.eu", false), { kind: "pattern", name: "tenant:acme:orders.*.eu" });
    assert.deepEqual(channelTargetFor(strategy, "acme", ">", false), { kind: "pattern", name: "tenant:acme:*" });
  });

  it("uses the tenant-wide glob in ACL mode", () => {
    assert.deepEqual(channelTargetFor(strategy, "acme", "orders.*", true), { kind: "pattern", name: "tenant:acme:*" });
  });

  it("escapes glob characters outside wildcard tokens", () => {
    const odd = new PrefixStrategy("odd[{tenant_id}]?:{key}", "key");
    assert.equal(channelTargetFor(odd, "acme", "a.*", false).name, "odd\\[acme\\]\\?:a.*");
    assert.equal(tenantGlob(odd, "acme"), "odd\\[acme\\]\\?:*");
    assert.equal(escapeGlob("a*b?c[d]e\\f"), "a\\*b\\?c\\[d\\]e\\\\f");
  });

  it("detects wildcards only as whole tokens", () => {
    assert.equal(hasWildcard("a.*"), true);
    assert.equal(hasWildcard("a.>"), true);
    assert.equal(hasWildcard("a.b"), false);
    assert.equal(hasWildcard("a*.b"), false);
  });
});
