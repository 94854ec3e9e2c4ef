import { after, before, describe, it } from "node:test";
import assert from "node:assert/strict";
import { Code, ConnectError } from "@connectrpc/connect";
import type { RedisBackendSettings } from "../../src/backends/redis/redis-config.js";
import type { BackendConfig } from "../../src/config/model.js";
import { KeyValueBasicInterface } from "../../src/gen/prism/interfaces/keyvalue/keyvalue_basic_pb.js";
import { PrivateRedis } from "../backends/redis/redis-test-support.js";
import { DEMO_KEYS, assertSameBytes, eventually, startTestProxy, type TestProxy } from "../support/test-proxy.js";

interface Readiness {
  status: string;
  backends: { backend: string; state: string; serves: string }[];
}

async function readiness(gateway: TestProxy): Promise<Readiness> {
  const response = await fetch(`http://${gateway.proxy.adminAddress}/readyz`);
  return (await response.json()) as Readiness;
}

describe("backend outage", () => {
  let redis: PrivateRedis;
  let gateway: TestProxy;

  before(async () => {
    redis = await PrivateRedis.start();
    gateway = await startTestProxy((config) => {
      const backend: BackendConfig & RedisBackendSettings = {
        endpoint: `127.0.0.1:${redis.port}`,
        isolation: { type: "keyspace_prefix", format: "tenant:{tenant_id}:{key}" },
        command_timeout: 500,
        reconnect: { initial_delay: 20, max_delay: 200 },
      };
      config.backends.redis = backend;
      const acme = config.tenants.find((tenant) => tenant.id === "acme");
      assert.ok(acme);
      acme.interfaces = { keyvalue: { backend: "redis" } };
    });
  });

  after(async () => {
    await gateway.close();
    await redis.kill();
  });

  it("affects only the tenants on the failed backend", async () => {
    const onRedis = gateway.client(KeyValueBasicInterface, { namespace: "acme-prod", apiKey: DEMO_KEYS.acme });
    const onMemory = gateway.client(KeyValueBasicInterface, { namespace: "globex-prod", apiKey: DEMO_KEYS.globex });
    await onRedis.set({ key: "outage", value: new Uint8Array([1]) });
    await onMemory.set({ key: "outage", value: new Uint8Array([2]) });

    await redis.kill();

    let failure: ConnectError | undefined;
    const startedAt = Date.now();
    try {
      await onRedis.get({ key: "outage" });
    } catch (error) {
      failure = ConnectError.from(error);
    }
    assert.equal(failure?.code, Code.Unavailable);
    assert.match(failure?.rawMessage ?? "", /redis 127\.0\.0\.1:\d+/);
    assert.ok(Date.now() - startedAt < 2000, "the failed call took longer than its timeout");

    assertSameBytes((await onMemory.get({ key: "outage" })).value, new Uint8Array([2]));
    const degraded = await readiness(gateway);
    assert.equal(degraded.status, "degraded");
    assert.equal(degraded.backends.find((backend) => backend.backend === "redis")?.state !== "ready", true);

    await redis.restart();
    await eventually(() => gateway.proxy.drivers.health().every((backend) => backend.state === "ready"), "redis to recover", 10_000);
    await onRedis.set({ key: "outage", value: new Uint8Array([3]) });
    assertSameBytes((await onRedis.get({ key: "outage" })).value, new Uint8Array([3]));
    assert.equal((await readiness(gateway)).status, "ready");
  });
});
