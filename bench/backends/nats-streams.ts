import { NoRespondersError, RequestError, type NatsConnection } from "@nats-io/transport-node";

/** Time the JetStream API may take to list the streams of a subject. */
const STREAM_LOOKUP_TIMEOUT_MS = 2000;

interface StreamNamesResponse {
  streams?: string[] | null;
  error?: { description?: string };
}

/**
 * Rejects when a JetStream stream on the server captures `subject`. Core NATS keeps no
 * message, but a stream whose subjects match would store every message the benchmark
 * publishes, and the run would leave them behind. A server without JetStream has no
 * responder for the API, which counts as no stream.
 */
export async function requireNoStreamCaptures(connection: NatsConnection, subject: string): Promise<void> {
  let reply: StreamNamesResponse;
  try {
    const message = await connection.request("$JS.API.STREAM.NAMES", JSON.stringify({ subject }), { timeout: STREAM_LOOKUP_TIMEOUT_MS });
    reply = message.json<StreamNamesResponse>();
  } catch (error) {
    if (isNoResponders(error)) {
      return;
    }
    throw error;
  }

  if (reply.error !== undefined) {
    throw new Error(`the JetStream API could not list the streams of ${subject}: ${reply.error.description ?? "no description"}`);
  }
  const streams = reply.streams ?? [];
  if (streams.length > 0) {
    throw new Error(
      `JetStream stream(s) ${streams.join(", ")} capture ${subject}, so benchmark messages would be stored; ` +
        "run the PubSub benchmark on a NATS server where no stream listens on tenant.>",
    );
  }
}

/** Returns whether the request found no responder, which the client reports bare or as the cause of a RequestError. */
function isNoResponders(error: unknown): boolean {
  return error instanceof NoRespondersError || (error instanceof RequestError && error.isNoResponders());
}
