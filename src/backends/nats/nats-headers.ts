/**
 * Encoding of a Prism message on NATS. The payload is the message body as raw bytes, and
 * the message id, publish time and metadata are NATS headers (NATS 2.2 and later).
 *
 * NATS header names are printable ASCII without ":" and header values may not contain
 * CR or LF, and the client trims surrounding whitespace from values. Metadata keys and
 * values are arbitrary strings, so both are percent-encoded over their UTF-8 bytes, with
 * only the RFC 3986 unreserved characters A-Z a-z 0-9 - . _ ~ left as they are. A raw
 * NATS consumer recovers them with decodeURIComponent.
 */

import { headers, type MsgHdrs } from "@nats-io/transport-node";

import type { DeliveredMessage, PublishedMessage } from "../driver.js";

export const MESSAGE_ID_HEADER = "Prism-Message-Id";
/** Publish time in milliseconds since the Unix epoch, as a decimal integer. */
export const TIMESTAMP_HEADER = "Prism-Timestamp-Ms";
/** Each metadata entry is one header: this prefix, then the percent-encoded key. */
export const METADATA_HEADER_PREFIX = "Prism-Meta-";

const UNRESERVED = /^[A-Za-z0-9._~-]$/;
const encoder = new TextEncoder();

function byteLength(text: string): number {
  return encoder.encode(text).byteLength;
}

/** Builds the headers that carry everything of the message except its payload. */
export function encodeMessageHeaders(message: PublishedMessage): MsgHdrs {
  const encoded = headers();
  encoded.set(MESSAGE_ID_HEADER, percentEncode(message.messageId));
  encoded.set(TIMESTAMP_HEADER, String(Math.trunc(message.timestampMs)));
  for (const [key, value] of Object.entries(message.metadata)) {
    encoded.set(`${METADATA_HEADER_PREFIX}${percentEncode(key)}`, percentEncode(value));
  }
  return encoded;
}

/**
 * Size of the headers on the wire: "NATS/1.0", one "name: value" line per value, and an
 * empty line, each ended by CRLF. The server counts it against max_payload.
 */
export function headersWireSize(encoded: MsgHdrs): number {
  let size = byteLength("NATS/1.0\r\n") + byteLength("\r\n");
  for (const [name, values] of encoded) {
    for (const value of values) {
      size += byteLength(`${name}: ${value}\r\n`);
    }
  }
  return size;
}

/**
 * Rebuilds a delivered message. A message published by a plain NATS client has no Prism
 * headers: its id is empty, its timestamp is the time it was received, and only headers
 * with the metadata prefix become metadata.
 */
export function decodeMessage(
  topic: string,
  payload: Uint8Array,
  received: MsgHdrs | undefined,
  receivedAtMs: number,
): DeliveredMessage {
  // Entries first, so a key such as "__proto__" becomes an own property, not a prototype.
  const entries: [string, string][] = [];
  let messageId = "";
  let timestampMs = receivedAtMs;

  for (const name of received?.keys() ?? []) {
    const value = received?.get(name) ?? "";
    if (name === MESSAGE_ID_HEADER) {
      messageId = percentDecode(value);
    } else if (name === TIMESTAMP_HEADER) {
      timestampMs = parseTimestamp(value) ?? receivedAtMs;
    } else if (name.startsWith(METADATA_HEADER_PREFIX)) {
      entries.push([percentDecode(name.slice(METADATA_HEADER_PREFIX.length)), percentDecode(value)]);
    }
  }

  return { topic, payload, metadata: Object.fromEntries(entries), messageId, timestampMs };
}

/** Percent-encodes every UTF-8 byte outside the unreserved characters. Lone surrogates become U+FFFD. */
export function percentEncode(text: string): string {
  let output = "";
  for (const character of text) {
    if (UNRESERVED.test(character)) {
      output += character;
      continue;
    }
    for (const byte of encoder.encode(character)) {
      output += `%${byte.toString(16).toUpperCase().padStart(2, "0")}`;
    }
  }
  return output;
}

/** Reverses percentEncode; text that is not valid percent-encoding is returned unchanged. */
export function percentDecode(text: string): string {
  if (!text.includes("%")) {
    return text;
  }
  try {
    return decodeURIComponent(text);
  } catch {
    return text;
  }
}

function parseTimestamp(value: string): number | undefined {
  if (!/^\d{1,16}$/.test(value)) {
    return undefined;
  }
  return Number(value);
}
