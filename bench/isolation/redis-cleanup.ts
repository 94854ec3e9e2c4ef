import { Redis } from "ioredis";
import { escapeGlob } from "../../src/backends/redis/channel-pattern.js";
import { DEFAULT_KEY_FORMAT, PrefixStrategy } from "../../src/isolation/prefix-strategy.js";
import { BENCH_REDIS } from "../backends/bench-services.js";

/** Keys per SCAN call while the cleanup looks for a tenant's keys. */
const SCAN_COUNT = 1000;

const REDIS_NAMES = new PrefixStrategy(DEFAULT_KEY_FORMAT, "key");

/** Deletes every Redis key under the tenant's prefix (SCAN MATCH, then UNLINK); returns how many. */
export async function deleteRedisTenantKeys(tenantId: string): Promise<number> {
  const client = new Redis({ ...BENCH_REDIS, lazyConnect: true, maxRetriesPerRequest: 1, retryStrategy: () => null });
  await client.connect();
  let deleted = 0;
  try {
    const pattern = `${escapeGlob(REDIS_NAMES.prefixFor(tenantId))}*`;
    let cursor = "0";
    do {
      const [next, keys] = await client.scan(cursor, "MATCH", pattern, "COUNT", SCAN_COUNT);
      if (keys.length > 0) {
        deleted += await client.unlink(...keys);
      }
      cursor = next;
    } while (cursor !== "0");
  } finally {
    client.disconnect();
  }
  return deleted;
}
