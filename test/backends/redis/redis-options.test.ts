import { describe, it } from "node:test";
import assert from "node:assert/strict";
import {
  DEFAULT_COMMAND_TIMEOUT_MS,
  DEFAULT_CONNECT_TIMEOUT_MS,
  DEFAULT_TENANT_ACL_USER_PREFIX,
  parseRedisEndpoint,
  resolveRedisOptions,
} from "../../../src/backends/redis/redis-options.js";
import { silentLogger } from "./redis-test-support.js";

const SECRET = "0123456789abcdef0123456789abcdef";

describe("redis options", () => {
  it("parses endpoints", () => {
    assert.deepEqual(parseRedisEndpoint("127.0.0.1:6380"), { host: "127.0.0.1", port: 6380 });
    assert.deepEqual(parseRedisEndpoint("redis.svc"), { host: "redis.svc", port: 6379 });
    assert.deepEqual(parseRedisEndpoint("[::1]:7000"), { host: "::1", port: 7000 });
    assert.deepEqual(parseRedisEndpoint("redis://127.0.0.1:6379"), { host: "127.0.0.1", port: 6379 });
    assert.throws(() => parseRedisEndpoint("http://127.0.0.1:6379"), TypeError);
  });

  it("applies defaults once and keeps explicit values", () => {
    const resolved = resolveRedisOptions({ host: "127.0.0.1", logger: silentLogger() });
    assert.equal(resolved.port, 6379);
    assert.equal(resolved.endpoint, "127.0.0.1:6379");
    assert.equal(resolved.commandTimeoutMs, DEFAULT_COMMAND_TIMEOUT_MS);
    assert.equal(resolved.connectTimeoutMs, DEFAULT_CONNECT_TIMEOUT_MS);
    assert.equal(resolved.db, 0);
    assert.equal(resolved.tenantAcl, undefined);
    assert.equal(resolved.strategy.format, "tenant:{tenant_id}:{key}");

    const ipv6 = resolveRedisOptions({ host: "::1", port: 7000, logger: silentLogger() });
    assert.equal(ipv6.endpoint, "[::1]:7000");
  });

  it("resolves tenant ACL defaults", () => {
    const resolved = resolveRedisOptions({ host: "127.0.0.1", tenantAcl: { secret: SECRET }, logger: silentLogger() });
    assert.deepEqual(resolved.tenantAcl, {
      secret: SECRET,
      previousSecrets: [],
      userPrefix: DEFAULT_TENANT_ACL_USER_PREFIX,
      manageUsers: true,
    });
  });

  it("rejects impossible values", () => {
    const logger = silentLogger();
    assert.throws(() => resolveRedisOptions({ host: "", logger }), TypeError);
    assert.throws(() => resolveRedisOptions({ host: "h", port: 0, logger }), TypeError);
    assert.throws(() => resolveRedisOptions({ host: "h", commandTimeoutMs: 0, logger }), TypeError);
    assert.throws(() => resolveRedisOptions({ host: "h", db: -1, logger }), TypeError);
    assert.throws(() => resolveRedisOptions({ host: "h", tenantAcl: { secret: "short" }, logger }), TypeError);
    assert.throws(
      () => resolveRedisOptions({ host: "h", tenantAcl: { secret: SECRET, previousSecrets: ["short"] }, logger }),
      TypeError,
    );
    assert.throws(() => resolveRedisOptions({ host: "h", keyFormat: "{key}", logger }), TypeError);
  });
});
