/** Bytes charged for a number, bigint or enum field: the size of a 64-bit value. */
const SCALAR_BYTES = 8;

/**
 * Measures the payload of a decoded request for the namespace memory budget. It counts
 * the bytes of every bytes and string field (keys, values, topics, metadata keys and
 * values), 8 per number and 1 per boolean, in nested messages, lists and maps. Unknown
 * fields the decoder kept count their raw bytes. Strings count their UTF-8 length, and
 * the field names and type name of a message are skipped.
 */
export function measurePayloadBytes(message: unknown): number {
  let total = 0;
  const pending: unknown[] = [message];

  while (pending.length > 0) {
    const value = pending.pop();
    if (value instanceof Uint8Array) {
      total += value.byteLength;
    } else if (typeof value === "string") {
      total += Buffer.byteLength(value, "utf8");
    } else if (typeof value === "number" || typeof value === "bigint") {
      total += SCALAR_BYTES;
    } else if (typeof value === "boolean") {
      total += 1;
    } else if (Array.isArray(value)) {
      // A loop, because spreading a list of a million entries would overflow the call stack.
      for (const entry of value as unknown[]) {
        pending.push(entry);
      }
    } else if (typeof value === "object" && value !== null) {
      total += pushFields(value as Record<string, unknown>, pending);
    }
  }
  return total;
}

/** Queues an object's field values; returns the bytes of its keys when it is a map rather than a message. */
function pushFields(object: Record<string, unknown>, pending: unknown[]): number {
  // protobuf-es messages carry their type name in $typeName; plain objects are proto maps.
  const isMessage = typeof object["$typeName"] === "string";
  let keyBytes = 0;

  for (const [key, field] of Object.entries(object)) {
    if (key === "$typeName") {
      continue;
    }
    if (!isMessage) {
      keyBytes += Buffer.byteLength(key, "utf8");
    }
    pending.push(field);
  }
  return keyBytes;
}
