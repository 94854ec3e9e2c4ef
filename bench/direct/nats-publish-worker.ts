// Direct baseline of publish-nats: @nats-io/transport-node publish of the message the
// proxy's NATS driver publishes (the payload with the Prism-Message-Id and
// Prism-Timestamp-Ms headers). Each publish is followed by flush(), which sends a PING and
// waits for the server's PONG. That is the driver's confirmation, one round trip per publish.
// The callers of each caller thread share one connection, as concurrent requests share
// the driver's one connection. The subject has the proxy's form,
// tenant.<tenant id>.bench.publish, under a tenant id of this worker's own. Core NATS
// stores nothing, so there is nothing to delete afterwards.
//
// Usage: node dist/bench/direct/nats-publish-worker.js --operation Publish
//          --concurrency N --warmup-ms MS --duration-ms MS
import { randomUUID } from "node:crypto";
import { connect } from "@nats-io/transport-node";
import { encodeMessageHeaders } from "../../src/backends/nats/nats-headers.js";
import { DEFAULT_SUBJECT_FORMAT, PrefixStrategy } from "../../src/isolation/prefix-strategy.js";
import { BENCH_NATS_ENDPOINT } from "../backends/bench-services.js";
import { requireNoStreamCaptures } from "../backends/nats-streams.js";
import { BENCH_TOPIC } from "../backends/publish-operation.js";
import { benchValue } from "../keyvalue-operations.js";
import { directTenantId, runDirectWorker, type DirectClient } from "./direct-worker.js";

interface Shared {
  subject: string;
}

/** Picks the subject and makes sure no JetStream stream would store what the worker publishes. */
async function setUp(): Promise<Shared> {
  const subject = new PrefixStrategy(DEFAULT_SUBJECT_FORMAT, "subject").toPhysical(directTenantId("pub"), BENCH_TOPIC);
  const connection = await connect({ servers: BENCH_NATS_ENDPOINT, name: "prism-bench-setup" });
  try {
    await requireNoStreamCaptures(connection, subject);
  } finally {
    await connection.close();
  }
  return { subject };
}

async function connectClient({ subject }: Shared): Promise<DirectClient> {
  const payload = benchValue();
  const connection = await connect({ servers: BENCH_NATS_ENDPOINT, name: "prism-bench-direct" });

  const publish = async (): Promise<void> => {
    const headers = encodeMessageHeaders({ payload, metadata: {}, messageId: randomUUID(), timestampMs: Date.now() });
    connection.publish(subject, payload, { headers });
    await connection.flush();
  };

  return {
    callFor: () => publish,
    close: () => connection.close(),
  };
}

runDirectWorker({
  name: "nats-publish-worker",
  operations: ["Publish"],
  setUp,
  connect: connectClient,
  tearDown: () => Promise.resolve(),
});
