import { createHmac } from "node:crypto";

/** Prefix of a redacted resource, so a reader can tell a digest from a key that looks like one. */
export const REDACTED_RESOURCE_PREFIX = "hmac-sha256:";

/** Shortest redaction key accepted, in bytes: a shorter key makes the digests easier to brute-force. */
export const MIN_REDACTION_KEY_BYTES = 16;

/**
 * Replaces resource names with their HMAC-SHA256 under a secret key. The same name
 * always gives the same digest, so an operator who knows a key can still find its
 * records by computing the digest, while a reader without the secret learns nothing
 * from the audit trail about the names themselves.
 */
export class ResourceRedaction {
  readonly #key: Buffer;

  constructor(key: string) {
    const bytes = Buffer.from(key, "utf8");
    if (bytes.length < MIN_REDACTION_KEY_BYTES) {
      throw new RangeError(
        `the audit redaction key has ${bytes.length} bytes; use at least ${MIN_REDACTION_KEY_BYTES} random bytes, for example from "openssl rand -hex 32"`,
      );
    }
    this.#key = bytes;
  }

  /** Returns "hmac-sha256:" and the lowercase hex digest of the name's UTF-8 bytes. */
  redact(resource: string): string {
    return REDACTED_RESOURCE_PREFIX + createHmac("sha256", this.#key).update(resource, "utf8").digest("hex");
  }
}
