import { randomUUID } from "node:crypto";
import { create, toBinary } from "@bufbuild/protobuf";
import { createClient, type Transport } from "@connectrpc/connect";
import {
  PublishRequestSchema,
  PublishResponseSchema,
  PubSubBasicInterface,
} from "../../src/gen/prism/interfaces/pubsub/pubsub_basic_pb.js";
import { benchValue } from "../keyvalue-operations.js";
import type { Operation } from "../scenario.js";
import { PROBE_DELIVERY_TIMEOUT_MS } from "./bench-services.js";
import { sameBytes, withTimeout } from "./probe-checks.js";

const SERVICE_PATH = "/prism.interfaces.pubsub.PubSubBasicInterface";

/** The topic every Publish of the PubSub scenarios sends to, inside the run's own tenant. */
export const BENCH_TOPIC = "bench.publish";

/** A message as a plain client of the backend received it. */
export interface ReceivedMessage {
  payload: Uint8Array;
  /** The message id the proxy put on the wire; empty when the backend's encoding had none. */
  messageId: string;
}

/** A subscription opened directly on the backend, outside the proxy. */
export interface DirectSubscription {
  /** Resolves with the first message the subscription receives. */
  readonly firstMessage: Promise<ReceivedMessage>;
  close(): Promise<void>;
}

/**
 * Subscribes directly on the backend to the physical channel or subject that BENCH_TOPIC
 * of the run's tenant maps to, and resolves once the server has registered the
 * subscription, so a message published afterwards reaches it.
 */
export type DirectSubscriber = () => Promise<DirectSubscription>;

/**
 * PubSubBasicInterface/Publish of a BENCH_VALUE_BYTES payload to BENCH_TOPIC without
 * metadata. The proxy returns a random UUID as message id, so every successful
 * response has the same size. The probe publishes once through the proxy and requires
 * that a direct subscriber on the backend receives the same payload and message id,
 * which shows the proxy publishes to the real backend under the tenant's prefix.
 */
export function pubSubPublish(subscribe: DirectSubscriber): Operation {
  const payload = benchValue();
  return {
    name: "Publish",
    path: `${SERVICE_PATH}/Publish`,
    requestMessage: toBinary(PublishRequestSchema, create(PublishRequestSchema, { topic: BENCH_TOPIC, payload })),
    responseMessageBytes: toBinary(PublishResponseSchema, create(PublishResponseSchema, { success: true, messageId: randomUUID() })).length,
    async probe(transport: Transport, headers: Record<string, string>): Promise<void> {
      const client = createClient(PubSubBasicInterface, transport);
      const subscription = await subscribe();
      try {
        const response = await client.publish({ topic: BENCH_TOPIC, payload }, { headers });
        if (!response.success || response.error !== "" || response.messageId === "") {
          throw new Error(
            `Publish probe returned success=${response.success} messageId=${JSON.stringify(response.messageId)} error=${JSON.stringify(response.error)}`,
          );
        }

        const received = await withTimeout(subscription.firstMessage, PROBE_DELIVERY_TIMEOUT_MS, "the message published by the Publish probe");
        if (!sameBytes(received.payload, payload) || received.messageId !== response.messageId) {
          throw new Error(
            `the direct subscriber received ${received.payload.length} payload bytes with message id ${JSON.stringify(received.messageId)}; ` +
              `expected the ${payload.length} bytes published with message id ${JSON.stringify(response.messageId)}`,
          );
        }
      } finally {
        await subscription.close();
      }
    },
  };
}
