import { connect, type NatsConnection, type Subscription } from "@nats-io/transport-node";
import { pino } from "pino";

import { MESSAGE_ID_HEADER } from "../../../src/backends/nats/nats-headers.js";
import { NatsPubSubDriver } from "../../../src/backends/nats/nats-pubsub.js";
import { DEFAULT_SUBJECT_FORMAT, PrefixStrategy } from "../../../src/isolation/prefix-strategy.js";
import type { ConformanceTarget, RawMessage } from "../conformance-target.js";

/** The NATS server the target uses; PRISM_TEST_NATS_URL overrides it. */
const NATS_ENDPOINT = process.env["PRISM_TEST_NATS_URL"] ?? "127.0.0.1:4222";

/**
 * NATS under the default subject hierarchy (PubSub only). The raw view is a plain NATS
 * client outside the driver, with one subscription to each tenant's "<prefix>>" and one to
 * ">" for anything the tenants' traffic produces outside every prefix.
 *
 * The ">" subscription receives the traffic of the whole shared server, including other
 * test runs. It therefore forwards only messages that carry the driver's message-id
 * header, lie outside these tenants' prefixes, and are not under another tenant's prefix
 * of the same format.
 * A driver bug that dropped or mangled the prefix shows up there. A message filed under
 * a tenant that is not part of this run does not.
 */
export function natsTarget(): ConformanceTarget {
  const subjects = new PrefixStrategy(DEFAULT_SUBJECT_FORMAT, "subject");
  let driver: NatsPubSubDriver | undefined;
  const rawConnections = new Set<NatsConnection>();

  return {
    name: "nats",

    setup() {
      driver = new NatsPubSubDriver({ endpoint: NATS_ENDPOINT, logger: pino({ level: "silent" }) });
      return Promise.resolve({ pubSub: driver });
    },

    async rawSubscribe(tenantIds, onMessage) {
      const raw = await connect({ servers: NATS_ENDPOINT, name: "prism-conformance-raw" });
      rawConnections.add(raw);
      const prefixes = tenantIds.map((tenantId) => subjects.prefixFor(tenantId));
      const forward = (subject: string, payload: Uint8Array): void => onMessage({ subject, payload } satisfies RawMessage);

      const subscriptions: Subscription[] = prefixes.map((prefix) =>
        raw.subscribe(`${prefix}>`, {
          callback: (error, message) => {
            if (error === null) {
              forward(message.subject, message.data);
            }
          },
        }),
      );
      subscriptions.push(
        raw.subscribe(">", {
          callback: (error, message) => {
            if (error !== null || prefixes.some((prefix) => message.subject.startsWith(prefix))) {
              return;
            }
            if (message.headers?.has(MESSAGE_ID_HEADER) !== true || underAnyTenantPrefix(subjects, message.subject)) {
              return;
            }
            forward(message.subject, message.data);
          },
        }),
      );
      await raw.flush();

      return async () => {
        subscriptions.forEach((subscription) => subscription.unsubscribe());
        rawConnections.delete(raw);
        await raw.drain();
      };
    },

    async teardown() {
      await driver?.close();
      await Promise.all([...rawConnections].map((raw) => raw.close()));
      rawConnections.clear();
      // Core NATS stores nothing, so there is nothing else to remove.
    },
  };
}

/** Returns whether the subject lies under the prefix of any tenant id, such as "tenant.<id>." by default. */
function underAnyTenantPrefix(subjects: PrefixStrategy, subject: string): boolean {
  const [head = "", middle = ""] = subjects.prefixFor("\u0000").split("\u0000");
  if (!subject.startsWith(head)) {
    return false;
  }
  const end = subject.indexOf(middle, head.length);
  return end > head.length && /^[a-z0-9][a-z0-9_-]{0,62}$/.test(subject.slice(head.length, end));
}
