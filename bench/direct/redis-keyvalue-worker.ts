// Direct baseline of keyvalue-redis: ioredis SET and GET of one key. The callers of each
// caller thread share one connection, as concurrent requests share the proxy driver's
// one connection. The key has the proxy's form, tenant:<tenant id>:bench-key, under a
// tenant id of this worker's own, and is deleted at the end.
//
// Usage: node dist/bench/direct/redis-keyvalue-worker.js --operation Set|Get
//          --concurrency N --warmup-ms MS --duration-ms MS
import { DEFAULT_KEY_FORMAT, PrefixStrategy } from "../../src/isolation/prefix-strategy.js";
import { BENCH_KEY, BENCH_VALUE_BYTES, benchValue } from "../keyvalue-operations.js";
import { connectDirectRedis } from "./direct-redis.js";
import { directTenantId, runDirectWorker, type DirectClient } from "./direct-worker.js";

interface Shared {
  key: string;
}

/** Stores the value every Get reads. */
async function setUp(): Promise<Shared> {
  const key = new PrefixStrategy(DEFAULT_KEY_FORMAT, "key").toPhysical(directTenantId("kv"), BENCH_KEY);
  const client = await connectDirectRedis();
  try {
    await client.set(key, Buffer.from(benchValue()));
  } finally {
    client.disconnect();
  }
  return { key };
}

async function connect({ key }: Shared): Promise<DirectClient> {
  const value = Buffer.from(benchValue());
  const client = await connectDirectRedis();

  const set = async (): Promise<void> => {
    await client.set(key, value);
  };
  const get = async (): Promise<void> => {
    const stored = await client.getBuffer(key);
    if (stored?.length !== BENCH_VALUE_BYTES) {
      throw new Error(`GET ${key} returned ${stored === null ? "no value" : `${stored.length} bytes`}, expected ${BENCH_VALUE_BYTES}`);
    }
  };

  return {
    callFor: (operation) => (operation === "Set" ? set : get),
    close: () => {
      client.disconnect();
      return Promise.resolve();
    },
  };
}

async function tearDown({ key }: Shared): Promise<void> {
  const client = await connectDirectRedis();
  try {
    await client.unlink(key);
  } finally {
    client.disconnect();
  }
}

runDirectWorker({ name: "redis-keyvalue-worker", operations: ["Set", "Get"], setUp, connect, tearDown });
