import { randomUUID } from "node:crypto";
import type { ServiceImpl } from "@connectrpc/connect";
import type { MessageInitShape } from "@bufbuild/protobuf";
import { PubSubBasicInterface, type MessageSchema } from "../../gen/prism/interfaces/pubsub/pubsub_basic_pb.js";
import { invalidArgument, resourceExhausted } from "../../errors/prism-error.js";
import { quoteName, validateTopic } from "../../isolation/names.js";
import { measurePayloadBytes } from "../../limits/payload-bytes.js";
import { checkMetadata, checkValueSize } from "../../limits/request-limits.js";
import type { Pipeline } from "../../pipeline/pipeline.js";
import type { RequestScope } from "../../pipeline/request-scope.js";
import type { DeliveredMessage } from "../../backends/driver.js";
import { DEFAULT_SUBSCRIBER_BUFFER_MESSAGES, MessageQueue } from "./message-queue.js";

interface StreamControl {
  end(): void;
  fail(reason: unknown): void;
}

const SUBSCRIBER_ID = /^[A-Za-z0-9._:@-]{1,128}$/;

type MessageInit = MessageInitShape<typeof MessageSchema>;

/**
 * Open subscription streams, so Unsubscribe can end them. A stream is found by its
 * principal, namespace, subscriber id and topic: one principal can never end another's.
 */
export class ActiveSubscriptions {
  readonly #streams = new Map<string, Set<StreamControl>>();

  static keyOf(scope: RequestScope, subscriberId: string, topic: string): string {
    return JSON.stringify([scope.tenant.id, scope.namespace, scope.principal.name, subscriberId, topic]);
  }

  add(key: string, control: StreamControl): () => void {
    let controls = this.#streams.get(key);
    if (controls === undefined) {
      controls = new Set();
      this.#streams.set(key, controls);
    }
    const entries = controls;
    entries.add(control);
    return () => {
      entries.delete(control);
      if (entries.size === 0) {
        this.#streams.delete(key);
      }
    };
  }

  /** Ends every stream under the key cleanly; returns how many there were. */
  endAll(key: string): number {
    const controls = [...(this.#streams.get(key) ?? [])];
    controls.forEach((control) => control.end());
    return controls.length;
  }

  /** Ends every open stream with the given error, for shutdown. */
  failEverything(reason: unknown): void {
    this.#streams.forEach((controls) => controls.forEach((control) => control.fail(reason)));
  }

  get size(): number {
    let count = 0;
    this.#streams.forEach((ends) => (count += ends.size));
    return count;
  }
}

function checkSubscriberId(subscriberId: string): void {
  if (!SUBSCRIBER_ID.test(subscriberId)) {
    throw invalidArgument(
      `subscriber_id ${quoteName(subscriberId)} is not valid; use 1 to 128 letters, digits, ".", "_", ":", "@" or "-"`,
    );
  }
}

function toMessage(message: DeliveredMessage): MessageInit {
  return {
    topic: message.topic,
    payload: message.payload,
    metadata: message.metadata,
    messageId: message.messageId,
    timestamp: BigInt(message.timestampMs),
  };
}

/** A message waiting for its subscriber, with the bytes charged to the namespace's memory budget. */
interface BufferedMessage {
  message: DeliveredMessage;
  bytes: number;
}

/** Bytes one subscription may hold in its queue, unless two maximal values need more. */
export const DEFAULT_SUBSCRIBER_BUFFER_BYTES = 16 * 1024 * 1024;

/** Bytes held in one subscription's queue, against its cap. */
interface QueuedBytes {
  held: number;
  readonly cap: number;
}

/**
 * Queues a message for a subscriber. Ends the stream as a slow consumer when its queue
 * would hold more than its byte cap, and when the bytes would exceed the namespace's
 * memory budget.
 */
function buffer(
  scope: RequestScope,
  queue: MessageQueue<BufferedMessage>,
  queued: QueuedBytes,
  message: DeliveredMessage,
): void {
  const bytes = measurePayloadBytes(message);
  if (queued.held + bytes > queued.cap) {
    queue.fail(
      resourceExhausted(
        `subscriber fell ${queued.held} bytes behind, above its buffer of ${queued.cap} bytes, and was disconnected as a slow consumer; read faster or narrow the topic`,
      ),
    );
    return;
  }
  try {
    scope.admission.chargeMemory(bytes);
  } catch (error) {
    queue.fail(error);
    return;
  }
  // Bytes of a message the queue drops stay charged until the stream ends and its ticket is released.
  queued.held += bytes;
  queue.push({ message, bytes });
}

async function* deliver(scope: RequestScope, topic: string, subscriberId: string, active: ActiveSubscriptions) {
  validateTopic(topic, { limit: scope.topicLimit(), allowWildcards: true });
  checkSubscriberId(subscriberId);

  const releaseSlot = scope.session.openSubscription();
  const queue = new MessageQueue<BufferedMessage>(DEFAULT_SUBSCRIBER_BUFFER_MESSAGES, scope.signal);
  const queued: QueuedBytes = {
    held: 0,
    cap: Math.max(DEFAULT_SUBSCRIBER_BUFFER_BYTES, 2 * scope.limits.max_value_bytes),
  };
  const removeActive = active.add(ActiveSubscriptions.keyOf(scope, subscriberId, topic), queue);
  try {
    const subscription = await scope.pubSub().subscribe(
      topic,
      (message) => buffer(scope, queue, queued, message),
      (error) => queue.fail(error),
    );
    try {
      scope.log.debug({ subscriberId }, "subscription started");
      for await (const { message, bytes } of queue) {
        yield toMessage(message);
        queued.held -= bytes;
        scope.admission.releaseMemory(bytes);
      }
    } finally {
      await subscription.close();
      scope.log.debug({ subscriberId }, "subscription ended");
    }
  } finally {
    removeActive();
    queue.dispose();
    releaseSlot();
  }
}

export function pubSubHandlers(pipeline: Pipeline, active: ActiveSubscriptions): ServiceImpl<typeof PubSubBasicInterface> {
  return {
    publish: (request, context) =>
      pipeline.run(context, "pubsub.publish", request, async (scope) => {
        validateTopic(request.topic, { limit: scope.topicLimit(), allowWildcards: false });
        checkValueSize(request.payload, scope.limits, "payload");
        checkMetadata(request.metadata, scope.limits, "metadata");

        const messageId = randomUUID();
        await scope.pubSub().publish(request.topic, {
          payload: request.payload,
          metadata: request.metadata,
          messageId,
          timestampMs: Date.now(),
        });
        return { success: true, messageId };
      }),

    subscribe: (request, context) =>
      pipeline.stream(context, "pubsub.subscribe", request, (scope) => {
        checkMetadata(request.options, scope.limits, "options");
        const subscriberId = request.subscriberId === "" ? randomUUID() : request.subscriberId;
        return deliver(scope, request.topic, subscriberId, active);
      }),

    unsubscribe: (request, context) =>
      pipeline.run(context, "pubsub.unsubscribe", request, (scope) => {
        validateTopic(request.topic, { limit: scope.topicLimit(), allowWildcards: true });
        checkSubscriberId(request.subscriberId);
        // Idempotent like Delete: ending no stream is still a success.
        const ended = active.endAll(ActiveSubscriptions.keyOf(scope, request.subscriberId, request.topic));
        scope.log.debug({ ended }, "unsubscribe");
        return Promise.resolve({ success: true });
      }),
  };
}
