import { after, before, describe, it } from "node:test";
import assert from "node:assert/strict";
import { KeyValueBasicInterface } from "../../../src/gen/prism/interfaces/keyvalue/keyvalue_basic_pb.js";
import { KeyValueTTLInterface } from "../../../src/gen/prism/interfaces/keyvalue/keyvalue_ttl_pb.js";
import type { PostgresBackendSettings } from "../../../src/backends/postgres/postgres-config.js";
import type { BackendConfig } from "../../../src/config/model.js";
import { DEMO_KEYS, startTestProxy, type TestProxy } from "../../support/test-proxy.js";
import { bytes, PostgresFixture } from "./postgres-test-support.js";

describe("proxy on the postgres key-value backend", () => {
  const fixture = new PostgresFixture();
  let gateway: TestProxy;

  before(async () => {
    await fixture.migrate();
    gateway = await startTestProxy((config) => {
      const postgres: BackendConfig & PostgresBackendSettings = {
        endpoint: fixture.proxyUrl,
        isolation: { type: "row_level_security", enable_rls: true, tenant_column: "tenant_id" },
        // The test's own schema, so runs never share a table.
        schema: fixture.schema,
        table: fixture.table,
      };
      config.backends.postgres = postgres;
      config.interfaces.keyvalue.backend = "postgres";
    });
  });

  after(async () => {
    await gateway?.close();
    await fixture.drop();
  });

  it("stores each tenant's value in its own row", async () => {
    const acme = gateway.client(KeyValueBasicInterface, { namespace: "acme-prod", apiKey: DEMO_KEYS.acme });
    const globex = gateway.client(KeyValueBasicInterface, { namespace: "globex-prod", apiKey: DEMO_KEYS.globex });

    await acme.set({ key: "shared", value: bytes("acme value") });
    await globex.set({ key: "shared", value: bytes("globex value") });

    assert.deepEqual(new Uint8Array((await acme.get({ key: "shared" })).value), bytes("acme value"));
    assert.deepEqual(new Uint8Array((await globex.get({ key: "shared" })).value), bytes("globex value"));
    assert.deepEqual(
      (await fixture.rawRows()).map((row) => [row.tenant, row.key]),
      [
        ["acme", "shared"],
        ["globex", "shared"],
      ],
    );

    await globex.delete({ key: "shared" });
    assert.equal((await acme.exists({ key: "shared" })).exists, true, "globex's delete removed acme's row");
  });

  it("follows Redis TTL semantics over the API", async () => {
    const basic = gateway.client(KeyValueBasicInterface, { namespace: "initech-prod", apiKey: DEMO_KEYS.initech });
    const ttl = gateway.client(KeyValueTTLInterface, { namespace: "initech-prod", apiKey: DEMO_KEYS.initech });

    assert.equal((await ttl.getTTL({ key: "ttl" })).ttlSeconds, -2n);
    await basic.set({ key: "ttl", value: bytes("x") });
    assert.equal((await ttl.getTTL({ key: "ttl" })).ttlSeconds, -1n);
    assert.equal((await ttl.expire({ key: "ttl", ttlSeconds: 60n })).keyExisted, true);
    assert.equal((await ttl.persist({ key: "ttl" })).expirationRemoved, true);
    assert.equal((await ttl.expire({ key: "ttl", ttlSeconds: 0n })).keyExisted, true);
    assert.equal((await basic.exists({ key: "ttl" })).exists, false);
  });

  it("reports the backend as ready on /readyz", async () => {
    const response = await fetch(`http://${gateway.proxy.adminAddress}/readyz`);
    const body = (await response.json()) as { backends: { backend: string; state: string }[] };
    assert.equal(response.status, 200, JSON.stringify(body));
    assert.ok(body.backends.some((backend) => backend.backend === "postgres" && backend.state === "ready"));
  });
});
