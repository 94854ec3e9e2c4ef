/** The NATS isolation conformance target: its raw view receives each tenant's traffic where it lands. */

import assert from "node:assert/strict";
import { test } from "node:test";

import { connect, headers } from "@nats-io/transport-node";

import type { RawMessage } from "../../isolation/conformance-target.js";
import { natsTarget } from "../../isolation/targets/nats.js";
import { Collector, message, readText, text, uniqueTenantId } from "./nats-test-helpers.js";
import { SHARED_NATS_ENDPOINT } from "./nats-test-server.js";

test("nats target shows prefixed traffic and stray Prism messages", async () => {
  const tenantIds = [uniqueTenantId("target-a"), uniqueTenantId("target-b")];
  const target = natsTarget();
  const { pubSub } = await target.setup(tenantIds);
  assert.ok(pubSub !== undefined);
  const seen = new Collector<RawMessage>();
  const stop = await target.rawSubscribe?.(tenantIds, seen.push);
  const stranger = await connect({ servers: SHARED_NATS_ENDPOINT });

  try {
    await pubSub.forTenant(tenantIds[0] ?? "").publish("orders", message("from a"));
    await pubSub.forTenant(tenantIds[1] ?? "").publish("orders", message("from b"));

    // Neither of these is this run's tenant traffic, so the raw view must skip them.
    stranger.publish(`tenant.${uniqueTenantId("other-run")}.orders`, text("other run"), { headers: prismHeaders() });
    stranger.publish(`unrelated.${tenantIds[0] ?? ""}`, text("no prism header"));
    // A Prism message outside every prefix is what a prefix bug would produce.
    stranger.publish(`stray.${tenantIds[0] ?? ""}`, text("stray"), { headers: prismHeaders() });
    await stranger.flush();

    const items = await seen.waitFor(3);
    assert.deepEqual(
      items.map((item) => [item.subject, readText(item.payload)]),
      [
        [`tenant.${tenantIds[0] ?? ""}.orders`, "from a"],
        [`tenant.${tenantIds[1] ?? ""}.orders`, "from b"],
        [`stray.${tenantIds[0] ?? ""}`, "stray"],
      ],
    );
  } finally {
    await stranger.close();
    await stop?.();
    await target.teardown(tenantIds);
  }
  assert.equal(pubSub.health().state, "closed");
});

function prismHeaders() {
  const prism = headers();
  prism.set("Prism-Message-Id", "raw");
  return prism;
}
