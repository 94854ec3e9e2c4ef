import type { BackendKind, PrismConfig } from "../config/model.js";
import { PrefixStrategy, DEFAULT_SUBJECT_FORMAT } from "../isolation/prefix-strategy.js";
import type { Logger } from "../observability/logger.js";
import type { KeyValueDriver, PubSubDriver } from "./driver.js";
import { MemoryKeyValueDriver } from "./memory/memory-keyvalue.js";
import { MemoryPubSubDriver } from "./memory/memory-pubsub.js";
import { natsDriverOptionsFromConfig } from "./nats/nats-config.js";
import { NatsPubSubDriver } from "./nats/nats-pubsub.js";
import { postgresDriverOptionsFromConfig } from "./postgres/postgres-config.js";
import { PostgresKeyValueDriver } from "./postgres/postgres-keyvalue.js";
import { redisDriverOptionsFromConfig } from "./redis/redis-config.js";
import { RedisKeyValueDriver } from "./redis/redis-keyvalue.js";
import { RedisPubSubDriver } from "./redis/redis-pubsub.js";

function requireRedis(config: PrismConfig, api: string): NonNullable<PrismConfig["backends"]["redis"]> {
  const redis = config.backends.redis;
  if (redis === undefined) {
    throw new Error(`the redis backend serves ${api} but backends.redis is missing; add backends.redis with an endpoint`);
  }
  return redis;
}

function unsupported(kind: BackendKind, api: string): Error {
  return new Error(`the ${kind} backend cannot serve ${api}; choose another backend in interfaces.${api}.backend`);
}

/** Creates the key-value driver for one backend kind. */
export function createKeyValueDriver(kind: BackendKind, config: PrismConfig, logger: Logger): KeyValueDriver {
  switch (kind) {
    case "memory":
      return new MemoryKeyValueDriver(new PrefixStrategy(config.backends.memory.isolation.format, "key"));
    case "redis":
      return new RedisKeyValueDriver(redisDriverOptionsFromConfig(requireRedis(config, "keyvalue"), logger));
    case "postgres":
      return new PostgresKeyValueDriver(postgresDriverOptionsFromConfig(config, logger));
    default:
      throw unsupported(kind, "keyvalue");
  }
}

/** Creates the PubSub driver for one backend kind. */
export function createPubSubDriver(kind: BackendKind, config: PrismConfig, logger: Logger): PubSubDriver {
  switch (kind) {
    case "memory":
      return new MemoryPubSubDriver(new PrefixStrategy(DEFAULT_SUBJECT_FORMAT, "subject"));
    case "nats": {
      const nats = config.backends.nats;
      if (nats === undefined) {
        throw new Error("the nats backend serves pubsub but backends.nats is missing; add backends.nats with an endpoint");
      }
      return new NatsPubSubDriver(natsDriverOptionsFromConfig(nats, logger));
    }
    case "redis":
      return new RedisPubSubDriver(redisDriverOptionsFromConfig(requireRedis(config, "pubsub"), logger));
    default:
      throw unsupported(kind, "pubsub");
  }
}
