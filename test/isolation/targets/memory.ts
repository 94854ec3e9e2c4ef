import { MemoryKeyValueDriver } from "../../../src/backends/memory/memory-keyvalue.js";
import { MemoryPubSubDriver } from "../../../src/backends/memory/memory-pubsub.js";
import { DEFAULT_KEY_FORMAT, DEFAULT_SUBJECT_FORMAT, PrefixStrategy } from "../../../src/isolation/prefix-strategy.js";
import type { ConformanceTarget, RawEntry } from "../conformance-target.js";

/** The embedded backend; its raw view is the shared map and the shared subscriber set. */
export function memoryTarget(): ConformanceTarget {
  const keys = new PrefixStrategy(DEFAULT_KEY_FORMAT, "key");
  const subjects = new PrefixStrategy(DEFAULT_SUBJECT_FORMAT, "subject");
  let keyValue: MemoryKeyValueDriver | undefined;
  let pubSub: MemoryPubSubDriver | undefined;

  return {
    name: "memory",

    setup() {
      keyValue = new MemoryKeyValueDriver(keys);
      pubSub = new MemoryPubSubDriver(subjects);
      return Promise.resolve({ keyValue, pubSub });
    },

    rawEntries(tenantIds) {
      const entries: RawEntry[] = [];
      for (const physical of keyValue?.physicalKeys() ?? []) {
        for (const tenantId of tenantIds) {
          const key = keys.toLogical(tenantId, physical);
          const stored = keyValue?.read(physical);
          if (key !== undefined && stored !== undefined) {
            entries.push({ tenantId, key, value: stored.value });
          }
        }
      }
      return Promise.resolve(entries);
    },

    rawSubscribe(_tenantIds, onMessage) {
      if (pubSub === undefined) {
        throw new Error("setup() was not called");
      }
      // Every physical subject of the shared hierarchy, outside any tenant binding.
      return pubSub.rawSubscribe(">", (subject, payload) => onMessage({ subject, payload }));
    },

    async teardown() {
      await keyValue?.close();
      await pubSub?.close();
    },
  };
}
