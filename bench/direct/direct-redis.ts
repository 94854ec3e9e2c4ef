import { Redis } from "ioredis";
import { DEFAULT_COMMAND_TIMEOUT_MS } from "../../src/backends/redis/redis-options.js";
import { BENCH_REDIS } from "../backends/bench-services.js";

/**
 * Opens one ioredis connection with the settings of the proxy's Redis driver that act on
 * every command: no offline queue, no retries, and a reply timeout of the driver's
 * default, which ioredis enforces with one timer per command. Unlike the driver, it
 * does not reconnect, because a benchmark point must fail rather than wait.
 */
export async function connectDirectRedis(): Promise<Redis> {
  const client = new Redis({
    ...BENCH_REDIS,
    lazyConnect: true,
    enableOfflineQueue: false,
    maxRetriesPerRequest: 0,
    autoResendUnfulfilledCommands: false,
    commandTimeout: DEFAULT_COMMAND_TIMEOUT_MS,
    retryStrategy: () => null,
    connectionName: "prism-bench-direct",
  });
  await client.connect();
  return client;
}
