// Direct baseline of publish-redis: ioredis PUBLISH of the envelope the proxy's Redis
// driver publishes (message id, time, metadata and base64 payload in one JSON string).
// The callers of each caller thread share one connection, as concurrent requests share
// the driver's publisher connection. Each call builds a new envelope with a new random
// UUID, as the proxy does for each Publish. The channel has the proxy's form,
// tenant:<tenant id>:bench.publish, under a tenant id of this worker's own. Pub/Sub
// stores nothing, so there is nothing to delete afterwards.
//
// Usage: node dist/bench/direct/redis-publish-worker.js --operation Publish
//          --concurrency N --warmup-ms MS --duration-ms MS
import { randomUUID } from "node:crypto";
import { encodeEnvelope } from "../../src/backends/redis/message-envelope.js";
import { DEFAULT_KEY_FORMAT, PrefixStrategy } from "../../src/isolation/prefix-strategy.js";
import { BENCH_TOPIC } from "../backends/publish-operation.js";
import { benchValue } from "../keyvalue-operations.js";
import { connectDirectRedis } from "./direct-redis.js";
import { directTenantId, runDirectWorker, type DirectClient } from "./direct-worker.js";

interface Shared {
  channel: string;
}

function setUp(): Promise<Shared> {
  return Promise.resolve({ channel: new PrefixStrategy(DEFAULT_KEY_FORMAT, "key").toPhysical(directTenantId("pub"), BENCH_TOPIC) });
}

async function connect({ channel }: Shared): Promise<DirectClient> {
  const payload = benchValue();
  const client = await connectDirectRedis();

  const publish = async (): Promise<void> => {
    const envelope = encodeEnvelope({ payload, metadata: {}, messageId: randomUUID(), timestampMs: Date.now() });
    await client.publish(channel, envelope);
  };

  return {
    callFor: () => publish,
    close: () => {
      client.disconnect();
      return Promise.resolve();
    },
  };
}

runDirectWorker({ name: "redis-publish-worker", operations: ["Publish"], setUp, connect, tearDown: () => Promise.resolve() });
