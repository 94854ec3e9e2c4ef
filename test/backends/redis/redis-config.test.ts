import { describe, it } from "node:test";
import assert from "node:assert/strict";
import type { BackendConfig } from "../../../src/config/model.js";
import { redisDriverOptionsFromConfig } from "../../../src/backends/redis/redis-config.js";
import { silentLogger } from "./redis-test-support.js";

const BASE: BackendConfig = {
  endpoint: "127.0.0.1:6380",
  isolation: { type: "keyspace_prefix", format: "kv:{tenant_id}:{key}" },
};

describe("redis options from configuration", () => {
  it("maps the common keys", () => {
    const options = redisDriverOptionsFromConfig(
      { ...BASE, username: "prism", password: "pw", database: "3", command_timeout: 750 },
      silentLogger(),
    );
    assert.equal(options.host, "127.0.0.1");
    assert.equal(options.port, 6380);
    assert.equal(options.username, "prism");
    assert.equal(options.password, "pw");
    assert.equal(options.db, 3);
    assert.equal(options.keyFormat, "kv:{tenant_id}:{key}");
    assert.equal(options.commandTimeoutMs, 750);
    assert.equal(options.tenantAcl, undefined);
  });

  it("keeps the default prefix for physical isolation", () => {
    const options = redisDriverOptionsFromConfig({ ...BASE, isolation: { type: "physical" } }, silentLogger());
    assert.equal(options.keyFormat, "tenant:{tenant_id}:{key}");
  });

  it("maps tenant ACL settings only when enabled", () => {
    const disabled = redisDriverOptionsFromConfig({ ...BASE, tenant_acl: { enabled: false, secret: "x" } }, silentLogger());
    assert.equal(disabled.tenantAcl, undefined);

    const enabled = redisDriverOptionsFromConfig(
      { ...BASE, tenant_acl: { enabled: true, secret: "s".repeat(32), user_prefix: "p-", manage_users: false } },
      silentLogger(),
    );
    assert.deepEqual(enabled.tenantAcl, { secret: "s".repeat(32), previousSecrets: undefined, userPrefix: "p-", manageUsers: false });
  });

  it("rejects settings the driver cannot honour", () => {
    const logger = silentLogger();
    assert.throws(() => redisDriverOptionsFromConfig({ ...BASE, ssl_mode: "require" }, logger), /ssl_mode/);
    assert.throws(() => redisDriverOptionsFromConfig({ ...BASE, client_cert_auth: true }, logger), /client_cert_auth/);
    assert.throws(() => redisDriverOptionsFromConfig({ ...BASE, database: "main" }, logger), /database/);
    assert.throws(() => redisDriverOptionsFromConfig({ ...BASE, tenant_acl: { enabled: true } }, logger), /tenant_acl\.secret/);
  });
});
