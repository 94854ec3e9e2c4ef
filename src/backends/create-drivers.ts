import type { BackendKind, PrismConfig } from "../config/model.js";
import { PrefixStrategy, DEFAULT_SUBJECT_FORMAT } from "../isolation/prefix-strategy.js";
import type { Logger } from "../observability/logger.js";
import type { KeyValueDriver, PubSubDriver } from "./driver.js";
import { MemoryKeyValueDriver } from "./memory/memory-keyvalue.js";
import { MemoryPubSubDriver } from "./memory/memory-pubsub.js";
import { natsDriverOptionsFromConfig } from "./nats/nats-config.js";
import { NatsPubSubDriver } from "./nats/nats-pubsub.js";

function unsupported(kind: BackendKind, api: string): Error {
  return new Error(`the ${kind} backend cannot serve ${api}; choose another backend in interfaces.${api}.backend`);
}

/** Creates the key-value driver for one backend kind. */
export function createKeyValueDriver(kind: BackendKind, config: PrismConfig, _logger: Logger): KeyValueDriver {
  switch (kind) {
    case "memory":
      return new MemoryKeyValueDriver(new PrefixStrategy(config.backends.memory.isolation.format, "key"));
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
    default:
      throw unsupported(kind, "pubsub");
  }
}
