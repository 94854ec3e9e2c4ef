/**
 * The encoding of a published message on a Redis channel. Redis carries one string per
 * message, so the payload and its metadata travel together as one JSON object:
 *
 *   {"v":1,"id":"<message id>","ts":<publish time, ms since the epoch>,"md":{...},"p":"<payload, base64>"}
 *
 * Base64 makes the payload about a third larger on the wire. In exchange, any Redis
 * client can read the envelope with a JSON parser.
 */

import type { PublishedMessage } from "../driver.js";

export const ENVELOPE_VERSION = 1;

interface Envelope {
  v: number;
  id: string;
  ts: number;
  md: Record<string, string>;
  p: string;
}

export function encodeEnvelope(message: PublishedMessage): string {
  const envelope: Envelope = {
    v: ENVELOPE_VERSION,
    id: message.messageId,
    ts: message.timestampMs,
    md: message.metadata,
    p: Buffer.from(message.payload.buffer, message.payload.byteOffset, message.payload.byteLength).toString("base64"),
  };
  return JSON.stringify(envelope);
}

/** Returns the message, or undefined when the text is not an envelope of a known version. */
export function decodeEnvelope(text: string): PublishedMessage | undefined {
  let parsed: unknown;
  try {
    parsed = JSON.parse(text);
  } catch {
    return undefined;
  }
  if (!isEnvelope(parsed)) {
    return undefined;
  }

  return {
    payload: Buffer.from(parsed.p, "base64"),
    metadata: parsed.md,
    messageId: parsed.id,
    timestampMs: parsed.ts,
  };
}

function isEnvelope(value: unknown): value is Envelope {
  if (typeof value !== "object" || value === null) {
    return false;
  }

  const candidate = value as Partial<Record<keyof Envelope, unknown>>;
  return (
    candidate.v === ENVELOPE_VERSION &&
    typeof candidate.id === "string" &&
    typeof candidate.ts === "number" &&
    Number.isSafeInteger(candidate.ts) &&
    typeof candidate.p === "string" &&
    isStringRecord(candidate.md)
  );
}

function isStringRecord(value: unknown): value is Record<string, string> {
  if (typeof value !== "object" || value === null || Array.isArray(value)) {
    return false;
  }
  return Object.values(value).every((entry) => typeof entry === "string");
}
