import type { RequestLimitsConfig } from "../config/model.js";
import { invalidArgument, resourceExhausted } from "../errors/prism-error.js";
import { byteLength, quoteName } from "../isolation/names.js";

/** Rejects a value larger than request_limits.max_value_bytes with RESOURCE_EXHAUSTED. */
export function checkValueSize(value: Uint8Array, limits: RequestLimitsConfig, what = "value"): void {
  if (value.byteLength > limits.max_value_bytes) {
    throw resourceExhausted(
      `${what} is ${value.byteLength} bytes; the limit is ${limits.max_value_bytes} bytes (request_limits.max_value_bytes)`,
    );
  }
}

/** Rejects an empty batch with INVALID_ARGUMENT and one above request_limits.max_batch_size with RESOURCE_EXHAUSTED. */
export function checkBatchSize(count: number, limits: RequestLimitsConfig, field: string): void {
  if (count === 0) {
    throw invalidArgument(`${field} must contain at least one entry`);
  }
  if (count > limits.max_batch_size) {
    throw resourceExhausted(
      `${field} has ${count} entries; the limit is ${limits.max_batch_size} (request_limits.max_batch_size); split the batch`,
    );
  }
}

/** Rejects metadata, options or tags above the entry count or byte limits, or with empty keys. */
export function checkMetadata(metadata: Record<string, string>, limits: RequestLimitsConfig, field: string): void {
  const keys = Object.keys(metadata);
  if (keys.length > limits.max_metadata_entries) {
    throw resourceExhausted(
      `${field} has ${keys.length} entries; the limit is ${limits.max_metadata_entries} (request_limits.max_metadata_entries)`,
    );
  }

  let size = 0;
  for (const key of keys) {
    if (key.length === 0) {
      throw invalidArgument(`${field} contains an empty key`);
    }
    if (/\p{Cc}/u.test(key)) {
      throw invalidArgument(`${field} key ${quoteName(key)} contains a control character`);
    }
    size += byteLength(key) + byteLength(metadata[key] ?? "");
  }

  if (size > limits.max_metadata_bytes) {
    throw resourceExhausted(
      `${field} is ${size} bytes; the limit is ${limits.max_metadata_bytes} bytes (request_limits.max_metadata_bytes)`,
    );
  }
}
