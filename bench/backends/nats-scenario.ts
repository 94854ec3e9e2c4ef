import { connect } from "@nats-io/transport-node";
import { MESSAGE_ID_HEADER } from "../../src/backends/nats/nats-headers.js";
import { DEFAULT_SUBJECT_FORMAT, PrefixStrategy } from "../../src/isolation/prefix-strategy.js";
import type { Scenario } from "../scenario.js";
import { backendProxyTarget } from "./backend-proxy-target.js";
import { BENCH_NATS_ENDPOINT } from "./bench-services.js";
import { benchTenant } from "./bench-tenant.js";
import { requireNoStreamCaptures } from "./nats-streams.js";
import { BENCH_TOPIC, pubSubPublish, type DirectSubscription, type ReceivedMessage } from "./publish-operation.js";

/** Maps topics to NATS subjects as the proxy's driver does with the default hierarchy. */
const NATS_SUBJECTS = new PrefixStrategy(DEFAULT_SUBJECT_FORMAT, "subject");

/** Subscribes a plain NATS client to the tenant's subject of BENCH_TOPIC and reads the driver's message-id header. */
async function subscribeToSubject(tenantId: string): Promise<DirectSubscription> {
  const connection = await connect({ servers: BENCH_NATS_ENDPOINT, name: "prism-bench-probe" });
  const subscription = connection.subscribe(NATS_SUBJECTS.toPhysical(tenantId, BENCH_TOPIC), { max: 1 });
  const firstMessage = (async (): Promise<ReceivedMessage> => {
    for await (const message of subscription) {
      return { payload: message.data, messageId: message.headers?.get(MESSAGE_ID_HEADER) ?? "" };
    }
    throw new Error("the probe's NATS subscription ended without a message");
  })();
  // close() ends the subscription, which rejects firstMessage when the probe failed before awaiting it.
  firstMessage.catch(() => undefined);

  // The server handles a connection's commands in order, so by the PONG it has registered the subscription.
  await connection.flush();
  return { firstMessage, close: () => connection.close() };
}

/** Fails the setup when a JetStream stream would store the messages the proxy publishes for the tenant. */
async function checkNoStreamCaptures(tenantId: string): Promise<void> {
  const connection = await connect({ servers: BENCH_NATS_ENDPOINT, name: "prism-bench-setup" });
  try {
    await requireNoStreamCaptures(connection, NATS_SUBJECTS.toPhysical(tenantId, BENCH_TOPIC));
  } finally {
    await connection.close();
  }
}

/** Publish on core NATS: the NATS client directly against the proxy with interfaces.pubsub on NATS. */
export function publishNatsScenario(concurrencies: readonly number[]): Scenario {
  const tenant = benchTenant("pub-nats");
  return {
    name: "publish-nats",
    description:
      `PubSub Publish on core NATS (${BENCH_NATS_ENDPOINT}), with no subscriber of its own. The direct baseline publishes the driver's ` +
      "message and headers with @nats-io/transport-node from one thread per core, with each thread's callers on one connection as in " +
      "the driver. Each publish is confirmed by flush(), one PING/PONG round trip, as the driver confirms it. " +
      "The proxy runs with interfaces.pubsub on NATS.",
    operations: [pubSubPublish(() => subscribeToSubject(tenant.id))],
    concurrencies,
    targets: [
      { kind: "in-process", name: "direct", label: "Direct NATS client", workerScript: "dist/bench/direct/nats-publish-worker.js" },
      // Core NATS stores nothing once no stream captures the subject, so there is nothing to clean up.
      backendProxyTarget({
        configName: "proxy-nats-pubsub",
        configure: (document) => {
          tenant.configure(document);
          document.setIn(["backends", "nats"], {
            endpoint: BENCH_NATS_ENDPOINT,
            isolation: { type: "subject_hierarchy", format: DEFAULT_SUBJECT_FORMAT },
          });
          document.setIn(["interfaces", "pubsub", "backend"], "nats");
        },
        setUp: () => checkNoStreamCaptures(tenant.id),
      }),
    ],
    headers: tenant.headers,
    ratios: [{ numerator: "proxy", denominator: "direct" }],
  };
}
