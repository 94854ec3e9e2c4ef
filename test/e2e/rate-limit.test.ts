import { after, before, describe, it } from "node:test";
import assert from "node:assert/strict";
import { Code, ConnectError } from "@connectrpc/connect";
import { KeyValueBasicInterface } from "../../src/gen/prism/interfaces/keyvalue/keyvalue_basic_pb.js";
import { DEMO_KEYS, startTestProxy, type TestProxy } from "../support/test-proxy.js";

const MAX_RPS = 50;
const BURST = 10;
const REQUESTS = 400;

describe("namespace rate limit under concurrency", () => {
  let gateway: TestProxy;

  before(async () => {
    gateway = await startTestProxy((config) => {
      const acme = config.tenants.find((tenant) => tenant.id === "acme");
      assert.ok(acme);
      acme.limits = { max_rps: MAX_RPS, burst: BURST, max_in_flight: REQUESTS };
    });
  });

  after(async () => {
    await gateway.close();
  });

  it("admits the configured rate within one burst while another namespace runs", async () => {
    const flooded = gateway.client(KeyValueBasicInterface, { namespace: "acme-prod", apiKey: DEMO_KEYS.acme });
    const steady = gateway.client(KeyValueBasicInterface, { namespace: "globex-prod", apiKey: DEMO_KEYS.globex });
    await steady.set({ key: "steady", value: new Uint8Array([1]) });

    const startedAt = performance.now();
    const outcomes = await Promise.all(
      Array.from({ length: REQUESTS }, (_, index) =>
        flooded.exists({ key: `flood-${index}` }).then(
          () => "admitted" as const,
          (error: unknown) => {
            const failure = ConnectError.from(error);
            assert.equal(failure.code, Code.ResourceExhausted, failure.message);
            return "rejected" as const;
          },
        ),
      ),
    );
    const elapsedSeconds = (performance.now() - startedAt) / 1000;
    const steadyResults = await Promise.all(Array.from({ length: 20 }, () => steady.exists({ key: "steady" })));

    const admitted = outcomes.filter((outcome) => outcome === "admitted").length;
    // GCRA admits burst + 1 at once and then one request every 1/max_rps seconds.
    const allowed = BURST + 1 + Math.ceil(elapsedSeconds * MAX_RPS);
    assert.ok(admitted >= BURST + 1, `only ${admitted} requests were admitted`);
    assert.ok(admitted <= allowed, `${admitted} requests admitted in ${elapsedSeconds.toFixed(3)} s, at most ${allowed} allowed`);
    assert.ok(steadyResults.every((result) => result.exists), "the other namespace was affected");
  });
});
