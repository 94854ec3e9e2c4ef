import { describe, it } from "node:test";
import assert from "node:assert/strict";
import { ConfigError } from "../../src/config/config-error.js";
import { parseConfig } from "../../src/config/load.js";

describe("connection pool timeouts", () => {
  it("parses the pool durations to milliseconds", () => {
    const config = parseConfig(
      "proxy:\n  connection_pools:\n    idle_pool_timeout: 2m\n    acquire_timeout: 250ms\n    idle_connection_timeout: 10s\n",
      "pools.yaml",
      {},
    );
    assert.equal(config.proxy.connection_pools?.idle_pool_timeout, 120_000);
    assert.equal(config.proxy.connection_pools?.acquire_timeout, 250);
    assert.equal(config.proxy.connection_pools?.idle_connection_timeout, 10_000);
  });

  it("rejects a malformed duration with its path", () => {
    assert.throws(
      () => parseConfig("proxy:\n  connection_pools:\n    acquire_timeout: soon\n", "pools.yaml", {}),
      (error: unknown) => {
        assert.ok(error instanceof ConfigError);
        assert.match(error.message, /pools\.yaml:3:\d+: proxy\.connection_pools\.acquire_timeout/);
        return true;
      },
    );
  });
});
