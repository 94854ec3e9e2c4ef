import { Code, ConnectError } from "@connectrpc/connect";
import type { Message } from "../gen/prism/interfaces/pubsub/pubsub_basic_pb.js";
import type { Output } from "./cli-io.js";
import { argumentAt, type CommandSpec, type Invocation } from "./command.js";
import { ExitCode } from "./exit-codes.js";
import { parsePositiveInteger, parseSecondsToMs, stringOption } from "./options.js";
import { withPrismClient, type PrismClient } from "./prism-client.js";

/** Reason prismctl ended a subscription itself; undefined while the stream runs or when the proxy ended it. */
type StopReason = "count" | "signal" | "timeout";

interface SubscribeRequest {
  topic: string;
  subscriberId: string;
}

interface ReceiveLimits {
  /** Messages after which to stop; undefined for no limit. */
  count: number | undefined;
  /** Time after which to stop, in ms; 0 for no limit. */
  durationMs: number;
}

const STOP_SIGNALS: readonly NodeJS.Signals[] = ["SIGINT", "SIGTERM"];

const payloadDecoder = new TextDecoder();

function writeMessage(output: Output, message: Message): void {
  if (output.json) {
    output.writeJson({
      topic: message.topic,
      payload: Buffer.from(message.payload).toString("base64"),
      metadata: message.metadata,
      message_id: message.messageId,
      timestamp: Number(message.timestamp),
    });
  } else {
    output.io.stdout.write(`${payloadDecoder.decode(message.payload)}\n`);
  }
}

/**
 * Prints messages until the count is reached, the time runs out, SIGINT or SIGTERM
 * arrives, or the proxy ends the stream. Ending early aborts the call, which cancels
 * the stream so the proxy closes the subscription. Returns the exit code.
 */
async function receiveMessages(
  invocation: Invocation,
  client: PrismClient,
  request: SubscribeRequest,
  limits: ReceiveLimits,
): Promise<ExitCode> {
  const controller = new AbortController();
  let stopReason: StopReason | undefined;
  const stop = (reason: StopReason): void => {
    stopReason ??= reason;
    controller.abort();
  };

  const onSignal = (): void => stop("signal");
  STOP_SIGNALS.forEach((signal) => process.once(signal, onSignal));
  const timer = limits.durationMs > 0 ? setTimeout(() => stop("timeout"), limits.durationMs) : undefined;

  let received = 0;
  try {
    for await (const message of client.pubSub.subscribe(request, { signal: controller.signal })) {
      writeMessage(invocation.output, message);
      received += 1;
      if (limits.count !== undefined && received >= limits.count) {
        stop("count");
        break;
      }
    }
  } catch (error) {
    // Aborting the call on purpose surfaces as CANCELED; anything else is a real failure.
    const cancelledByUs = stopReason !== undefined && error instanceof ConnectError && error.code === Code.Canceled;
    if (!cancelledByUs) {
      throw error;
    }
  } finally {
    clearTimeout(timer);
    STOP_SIGNALS.forEach((signal) => process.off(signal, onSignal));
  }

  return exitCodeAfterStop(invocation.output, stopReason, received, limits);
}

function exitCodeAfterStop(
  output: Output,
  stopReason: StopReason | undefined,
  received: number,
  limits: ReceiveLimits,
): ExitCode {
  const short = limits.count !== undefined && received < limits.count;
  if (stopReason === undefined) {
    output.note(`the proxy ended the subscription after ${received} messages`);
  }
  if (stopReason === "timeout" && short) {
    output.note(`received ${received} of ${limits.count} messages before the ${limits.durationMs / 1000} s timeout`);
  }

  // An interrupt is how a person ends a subscription, so it counts as success.
  return short && stopReason !== "signal" ? ExitCode.NotFound : ExitCode.Success;
}

export const subscribeCommand: CommandSpec = {
  group: "pubsub",
  name: "subscribe",
  synopsis: "TOPIC",
  minArgs: 1,
  maxArgs: 1,
  summary: "print messages as they arrive, until Ctrl-C",
  description: `Subscribes to TOPIC in the namespace and prints one line per message: the payload as
UTF-8 text, or with --json an object {"topic", "payload" (base64), "metadata",
"message_id", "timestamp" (milliseconds since the Unix epoch)}. Only messages published
after the subscription starts arrive. Payloads that contain newlines or binary data
need --json.

The command exits 0 on Ctrl-C (SIGINT) or SIGTERM, after --count messages, when
--timeout passes without --count, or when the proxy ends the subscription cleanly. With
--count N it exits 1 when --timeout passes, or the proxy ends the subscription, before
N messages arrived. When prismctl stops by itself it cancels the stream, so the proxy
closes the subscription at once.`,
  options: {
    "subscriber-id": {
      type: "string",
      valueName: "ID",
      help: 'subscriber id, which pubsub Unsubscribe calls name; 1 to 128 letters, digits, ".", "_", ":", "@" or "-" (default: a random id from the proxy)',
    },
    count: { type: "string", valueName: "N", help: "exit after N messages (default: no limit)" },
    timeout: {
      type: "string",
      valueName: "SECONDS",
      help: "stop listening after SECONDS, fractions allowed, 0 for no limit (default: no limit); replaces the per-call deadline",
    },
  },
  connects: true,
  examples: [
    "prismctl pubsub subscribe orders.created --namespace acme-prod",
    "prismctl pubsub subscribe 'orders.*' --json --namespace acme-prod",
    "prismctl pubsub subscribe orders.created --count 1 --timeout 30 --namespace acme-prod",
  ],
  run: async (invocation) => {
    const topic = argumentAt(invocation, 0);
    const subscriberId = stringOption(invocation.values, "subscriber-id") ?? "";
    const countText = stringOption(invocation.values, "count");
    const timeoutText = stringOption(invocation.values, "timeout");
    const limits: ReceiveLimits = {
      count: countText === undefined ? undefined : parsePositiveInteger(countText, "--count", invocation.helpTopic),
      durationMs: timeoutText === undefined ? 0 : parseSecondsToMs(timeoutText, "--timeout", invocation.helpTopic),
    };

    return withPrismClient(invocation, (client, settings) => {
      if (invocation.io.stderr.isTTY === true) {
        invocation.output.note(`listening on ${JSON.stringify(topic)} in namespace ${settings.namespace}; press Ctrl-C to stop`);
      }
      return receiveMessages(invocation, client, { topic, subscriberId }, limits);
    });
  },
};
