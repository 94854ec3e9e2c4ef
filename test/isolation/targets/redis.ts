import { randomBytes } from "node:crypto";
import { Redis } from "ioredis";
import { escapeGlob, tenantGlob } from "../../../src/backends/redis/channel-pattern.js";
import { decodeEnvelope } from "../../../src/backends/redis/message-envelope.js";
import { RedisKeyValueDriver } from "../../../src/backends/redis/redis-keyvalue.js";
import { parseRedisEndpoint, type RedisTenantAclOptions } from "../../../src/backends/redis/redis-options.js";
import { RedisPubSubDriver } from "../../../src/backends/redis/redis-pubsub.js";
import { DEFAULT_KEY_FORMAT, PrefixStrategy } from "../../../src/isolation/prefix-strategy.js";
import { createLogger } from "../../../src/observability/logger.js";
import type { ConformanceTarget, RawEntry } from "../conformance-target.js";

export interface RedisTargetOptions {
  /** Runs every tenant on its own Redis ACL user, created for the run and deleted at teardown. */
  tenantAcl?: boolean;
}

/**
 * Creates the Redis target on the server that PRISM_TEST_REDIS_URL names (default the
 * local one). Its raw view is a plain client outside every driver, which runs SCAN MATCH
 * on each tenant's key prefix and PSUBSCRIBE on each tenant's channel prefix.
 */
export function redisTarget(options: RedisTargetOptions = {}): ConformanceTarget {
  const server = parseRedisEndpoint(process.env["PRISM_TEST_REDIS_URL"] ?? "redis://127.0.0.1:6379");
  const keys = new PrefixStrategy(DEFAULT_KEY_FORMAT, "key");
  const logger = createLogger({ level: "silent" });
  const tenantAcl: RedisTenantAclOptions | undefined = options.tenantAcl
    ? { secret: randomBytes(16).toString("hex"), userPrefix: `prism-conformance-${randomBytes(3).toString("hex")}-` }
    : undefined;

  let keyValue: RedisKeyValueDriver | undefined;
  let pubSub: RedisPubSubDriver | undefined;
  let commandClient: Redis | undefined;
  const subscribers = new Set<Redis>();

  const raw = (): Redis => new Redis({ ...server, maxRetriesPerRequest: 1 });
  const commands = (): Redis => (commandClient ??= raw());

  return {
    name: options.tenantAcl ? "redis with tenant ACL users" : "redis",

    setup() {
      keyValue = new RedisKeyValueDriver({ ...server, keyFormat: DEFAULT_KEY_FORMAT, tenantAcl, logger });
      pubSub = new RedisPubSubDriver({ ...server, keyFormat: DEFAULT_KEY_FORMAT, tenantAcl, logger });
      return Promise.resolve({ keyValue, pubSub });
    },

    async rawEntries(tenantIds) {
      const client = commands();
      const entries: RawEntry[] = [];
      for (const tenantId of tenantIds) {
        for (const physical of await scan(client, `${escapeGlob(keys.prefixFor(tenantId))}*`)) {
          const key = keys.toLogical(tenantId, physical);
          const value = await client.getBuffer(physical);
          if (key !== undefined && value !== null) {
            entries.push({ tenantId, key, value });
          }
        }
      }
      return entries;
    },

    async rawSubscribe(tenantIds, onMessage) {
      const subscriber = raw();
      subscribers.add(subscriber);
      subscriber.on("pmessageBuffer", (_pattern: Buffer, channel: Buffer, message: Buffer) => {
        const envelope = decodeEnvelope(message.toString("utf8"));
        onMessage({ subject: channel.toString("utf8"), payload: envelope?.payload ?? message });
      });
      const patterns = tenantIds.map((tenantId) => tenantGlob(keys, tenantId));
      await subscriber.psubscribe(...patterns);
      return () => {
        subscribers.delete(subscriber);
        subscriber.disconnect();
        return Promise.resolve();
      };
    },

    async teardown(tenantIds) {
      await keyValue?.close();
      await pubSub?.close();

      const client = commands();
      for (const tenantId of tenantIds) {
        const physical = await scan(client, `${escapeGlob(keys.prefixFor(tenantId))}*`);
        if (physical.length > 0) {
          await client.unlink(...physical);
        }
      }
      if (tenantAcl?.userPrefix !== undefined) {
        const users = (await client.acl("USERS")).filter((user) => user.startsWith(tenantAcl.userPrefix ?? ""));
        if (users.length > 0) {
          await client.acl("DELUSER", ...users);
        }
      }
      subscribers.forEach((subscriber) => subscriber.disconnect());
      subscribers.clear();
      client.disconnect();
      commandClient = undefined;
    },
  };
}

async function scan(client: Redis, match: string): Promise<string[]> {
  const found: string[] = [];
  let cursor = "0";
  do {
    const [next, batch] = await client.scan(cursor, "MATCH", match, "COUNT", 1000);
    found.push(...batch);
    cursor = next;
  } while (cursor !== "0");
  return found;
}
