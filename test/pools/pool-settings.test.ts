import { describe, it } from "node:test";
import assert from "node:assert/strict";
import {
  DEFAULT_ACQUIRE_TIMEOUT_MS,
  DEFAULT_CLOSE_TIMEOUT_MS,
  DEFAULT_CONNECTIONS_PER_NAMESPACE,
  DEFAULT_IDLE_CONNECTION_TIMEOUT_MS,
  DEFAULT_IDLE_POOL_TIMEOUT_MS,
  DEFAULT_MAX_CONNECTIONS,
  DEFAULT_MAX_TOTAL_CONNECTIONS,
  DEFAULT_PER_SESSION_LIMIT,
  DEFAULT_SESSION_CLOSE_GRACE_MS,
} from "../../src/pools/pool-defaults.js";
import { checkPoolPolicySettings, resolvePoolPolicySettings } from "../../src/pools/pool-settings.js";

describe("pool settings", () => {
  it("applies every default without configuration", () => {
    assert.deepEqual(resolvePoolPolicySettings("redis", undefined, undefined), {
      maxConnections: DEFAULT_MAX_CONNECTIONS,
      shared: true,
      connectionsPerNamespace: DEFAULT_CONNECTIONS_PER_NAMESPACE,
      maxTotalConnections: DEFAULT_MAX_TOTAL_CONNECTIONS,
      perNamespace: true,
      perSessionLimit: DEFAULT_PER_SESSION_LIMIT,
      connectionReuse: true,
      idlePoolTimeoutMs: DEFAULT_IDLE_POOL_TIMEOUT_MS,
      acquireTimeoutMs: DEFAULT_ACQUIRE_TIMEOUT_MS,
      idleTimeoutMs: DEFAULT_IDLE_CONNECTION_TIMEOUT_MS,
      closeTimeoutMs: DEFAULT_CLOSE_TIMEOUT_MS,
      sessionCloseGraceMs: DEFAULT_SESSION_CLOSE_GRACE_MS,
    });
  });

  it("reads the backend's own section only", () => {
    const pools = {
      per_namespace: true,
      redis: { connections_per_namespace: 20, max_total_connections: 400 },
      nats: { max_connections: 250, per_session_limit: 3 },
    };

    const nats = resolvePoolPolicySettings("nats", pools, { connection_reuse: false });
    const redis = resolvePoolPolicySettings("redis", pools, { connection_reuse: false });

    assert.equal(nats.maxConnections, 250);
    assert.equal(nats.perSessionLimit, 3);
    assert.equal(nats.connectionsPerNamespace, DEFAULT_CONNECTIONS_PER_NAMESPACE);
    assert.equal(nats.connectionReuse, false);
    assert.equal(redis.connectionsPerNamespace, 20);
    assert.equal(redis.maxTotalConnections, 400);
    assert.equal(redis.maxConnections, DEFAULT_MAX_CONNECTIONS);
  });

  it("prefers the backend's shared flag over the top-level one", () => {
    assert.equal(resolvePoolPolicySettings("redis", { shared: false }, undefined).shared, false);
    assert.equal(resolvePoolPolicySettings("redis", { shared: false, redis: { shared: true } }, undefined).shared, true);
    assert.equal(resolvePoolPolicySettings("redis", { per_namespace: false }, undefined).perNamespace, false);
  });

  it("keeps explicit durations, including 0", () => {
    const settings = resolvePoolPolicySettings("postgres", undefined, undefined, {
      idlePoolTimeoutMs: 60_000,
      idleTimeoutMs: 0,
      closeTimeoutMs: 0,
      sessionCloseGraceMs: 0,
    });

    assert.equal(settings.idlePoolTimeoutMs, 60_000);
    assert.equal(settings.idleTimeoutMs, 0);
    assert.equal(settings.closeTimeoutMs, 0);
    assert.equal(settings.sessionCloseGraceMs, 0);
    assert.equal(settings.acquireTimeoutMs, DEFAULT_ACQUIRE_TIMEOUT_MS);
  });

  it("rejects settings no pool can run with", () => {
    const valid = resolvePoolPolicySettings("redis", undefined, undefined);
    checkPoolPolicySettings(valid);

    assert.throws(() => checkPoolPolicySettings({ ...valid, perSessionLimit: 0 }), /perSessionLimit must be an integer of at least 1, got 0/);
    assert.throws(() => checkPoolPolicySettings({ ...valid, acquireTimeoutMs: 0 }), /acquireTimeoutMs must be an integer of at least 1/);
    assert.throws(() => checkPoolPolicySettings({ ...valid, idlePoolTimeoutMs: -1 }), /idlePoolTimeoutMs must be a whole number/);
    assert.throws(() => checkPoolPolicySettings({ ...valid, idleTimeoutMs: 2 ** 31 }), /idleTimeoutMs must be a whole number of milliseconds from 0 to 2147483647/);
  });
});
