import type { BackendKind, PrismConfig } from "../config/model.js";
import { PrefixStrategy, DEFAULT_SUBJECT_FORMAT } from "../isolation/prefix-strategy.js";
import type { Logger } from "../observability/logger.js";
import type { KeyValueDriver, PubSubDriver } from "./driver.js";
import { MemoryKeyValueDriver } from "./memory/memory-keyvalue.js";
import { MemoryPubSubDriver } from "./memory/memory-pubsub.js";

export interface Drivers {
  keyValue: KeyValueDriver;
  pubSub: PubSubDriver;
}

function unsupported(kind: BackendKind, api: string): Error {
  return new Error(`the ${kind} backend cannot serve ${api}; choose another backend in interfaces.${api}.backend`);
}

/** Creates the key-value driver that interfaces.keyvalue.backend selects. */
export function createKeyValueDriver(config: PrismConfig, _logger: Logger): KeyValueDriver {
  const kind = config.interfaces.keyvalue.backend;
  switch (kind) {
    case "memory":
      return new MemoryKeyValueDriver(new PrefixStrategy(config.backends.memory.isolation.format, "key"));
    default:
      throw unsupported(kind, "keyvalue");
  }
}

/** Creates the PubSub driver that interfaces.pubsub.backend selects. */
export function createPubSubDriver(config: PrismConfig, _logger: Logger): PubSubDriver {
  const kind = config.interfaces.pubsub.backend;
  switch (kind) {
    case "memory":
      return new MemoryPubSubDriver(new PrefixStrategy(DEFAULT_SUBJECT_FORMAT, "subject"));
    default:
      throw unsupported(kind, "pubsub");
  }
}

export function createDrivers(config: PrismConfig, logger: Logger): Drivers {
  return { keyValue: createKeyValueDriver(config, logger), pubSub: createPubSubDriver(config, logger) };
}
