import { Redis } from "ioredis";
import type { Document } from "yaml";
import { escapeGlob } from "../../src/backends/redis/channel-pattern.js";
import { decodeEnvelope } from "../../src/backends/redis/message-envelope.js";
import { DEFAULT_KEY_FORMAT, PrefixStrategy } from "../../src/isolation/prefix-strategy.js";
import { BENCH_KEY, benchValue, keyValueGet, keyValueSet } from "../keyvalue-operations.js";
import type { Scenario } from "../scenario.js";
import { backendProxyTarget } from "./backend-proxy-target.js";
import { BENCH_REDIS, BENCH_REDIS_ENDPOINT } from "./bench-services.js";
import { benchTenant, type BenchTenant } from "./bench-tenant.js";
import { sameBytes, withBackendCheck } from "./probe-checks.js";
import { BENCH_TOPIC, pubSubPublish, type DirectSubscription, type ReceivedMessage } from "./publish-operation.js";

/** Keys per SCAN call while the cleanup looks for the run's keys. */
const SCAN_COUNT = 1000;

/** Maps keys and topics to Redis keys and channels as the proxy's driver does with the default format. */
const REDIS_NAMES = new PrefixStrategy(DEFAULT_KEY_FORMAT, "key");

/** Opens a plain ioredis connection for the bench's own checks and cleanup, which fails instead of reconnecting. */
async function connectRedis(): Promise<Redis> {
  const client = new Redis({ ...BENCH_REDIS, lazyConnect: true, maxRetriesPerRequest: 1, retryStrategy: () => null });
  await client.connect();
  return client;
}

/** Writes the Redis backend into a generated configuration and selects it for `api`. */
function useRedis(document: Document, tenant: BenchTenant, api: "keyvalue" | "pubsub"): void {
  tenant.configure(document);
  document.setIn(["backends", "redis"], {
    endpoint: BENCH_REDIS_ENDPOINT,
    isolation: { type: "keyspace_prefix", format: DEFAULT_KEY_FORMAT },
  });
  document.setIn(["interfaces", api, "backend"], "redis");
}

/** Throws unless the proxy stored the bench value under the tenant's Redis key. */
async function checkStoredValue(tenantId: string): Promise<void> {
  const key = REDIS_NAMES.toPhysical(tenantId, BENCH_KEY);
  const client = await connectRedis();
  try {
    const stored = await client.getBuffer(key);
    if (stored === null || !sameBytes(stored, benchValue())) {
      throw new Error(`Redis key ${key} contains ${stored === null ? "nothing" : `${stored.length} other bytes`} after the proxy's Set`);
    }
  } finally {
    client.disconnect();
  }
}

/** Deletes every key under the tenant's prefix: the bench key, and anything else a failed run left. */
async function deleteTenantKeys(tenantId: string): Promise<void> {
  const client = await connectRedis();
  try {
    const pattern = `${escapeGlob(REDIS_NAMES.prefixFor(tenantId))}*`;
    let cursor = "0";
    do {
      const [next, keys] = await client.scan(cursor, "MATCH", pattern, "COUNT", SCAN_COUNT);
      if (keys.length > 0) {
        await client.unlink(...keys);
      }
      cursor = next;
    } while (cursor !== "0");
  } finally {
    client.disconnect();
  }
}

/** Subscribes a plain client to the tenant's channel of BENCH_TOPIC and decodes the driver's envelope. */
async function subscribeToChannel(tenantId: string): Promise<DirectSubscription> {
  const channel = REDIS_NAMES.toPhysical(tenantId, BENCH_TOPIC);
  const client = await connectRedis();
  const firstMessage = new Promise<ReceivedMessage>((resolve) => {
    client.once("message", (_channel: string, text: string) => {
      const envelope = decodeEnvelope(text);
      resolve({ payload: envelope?.payload ?? Buffer.from(text), messageId: envelope?.messageId ?? "" });
    });
  });
  try {
    // The reply to SUBSCRIBE comes after the server registered the subscription.
    await client.subscribe(channel);
  } catch (error) {
    client.disconnect();
    throw error;
  }
  return {
    firstMessage,
    close: () => {
      client.disconnect();
      return Promise.resolve();
    },
  };
}

/** KeyValue Set and Get on Redis: ioredis directly against the proxy with interfaces.keyvalue on Redis. */
export function keyValueRedisScenario(concurrencies: readonly number[]): Scenario {
  const tenant = benchTenant("kv-redis");
  const checkStored = (): Promise<void> => checkStoredValue(tenant.id);
  return {
    name: "keyvalue-redis",
    description:
      `KeyValue Set and Get on Redis (${BENCH_REDIS_ENDPOINT}). The direct baseline calls ioredis SET and GET from one thread per core, ` +
      "with each thread's callers on one connection as in the proxy's driver. The proxy runs with interfaces.keyvalue on Redis.",
    operations: [withBackendCheck(keyValueSet(), checkStored), withBackendCheck(keyValueGet(), checkStored)],
    concurrencies,
    targets: [
      { kind: "in-process", name: "direct", label: "Direct ioredis", workerScript: "dist/bench/direct/redis-keyvalue-worker.js" },
      backendProxyTarget({
        configName: "proxy-redis-keyvalue",
        configure: (document) => useRedis(document, tenant, "keyvalue"),
        tearDown: () => deleteTenantKeys(tenant.id),
      }),
    ],
    headers: tenant.headers,
    ratios: [{ numerator: "proxy", denominator: "direct" }],
  };
}

/** Publish on Redis Pub/Sub: ioredis PUBLISH directly against the proxy with interfaces.pubsub on Redis. */
export function publishRedisScenario(concurrencies: readonly number[]): Scenario {
  const tenant = benchTenant("pub-redis");
  return {
    name: "publish-redis",
    description:
      `PubSub Publish on Redis Pub/Sub (${BENCH_REDIS_ENDPOINT}), with no subscriber. The direct baseline publishes the driver's JSON ` +
      "envelope with ioredis PUBLISH from one thread per core, with each thread's callers on one connection as in the proxy's driver. " +
      "The proxy runs with interfaces.pubsub on Redis.",
    operations: [pubSubPublish(() => subscribeToChannel(tenant.id))],
    concurrencies,
    targets: [
      { kind: "in-process", name: "direct", label: "Direct ioredis", workerScript: "dist/bench/direct/redis-publish-worker.js" },
      // Redis Pub/Sub stores nothing, so the proxy target has nothing to clean up.
      backendProxyTarget({ configName: "proxy-redis-pubsub", configure: (document) => useRedis(document, tenant, "pubsub") }),
    ],
    headers: tenant.headers,
    ratios: [{ numerator: "proxy", denominator: "direct" }],
  };
}
