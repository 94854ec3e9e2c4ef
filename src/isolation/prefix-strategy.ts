/**
 * Name rewriting for backends isolated by prefix: Redis keys, NATS subjects, Kafka
 * topics, and the embedded store. The format is validated at load: {tenant_id} comes
 * first and a separator outside the tenant-id alphabet follows it, so the prefixes of
 * two tenants are disjoint and no name can reach outside its tenant's prefix.
 */
export class PrefixStrategy {
  readonly #head: string;
  readonly #middle: string;
  readonly #tail: string;

  /**
   * @param format for example "tenant:{tenant_id}:{key}"
   * @param placeholder the name placeholder in the format: "key", "subject" or "topic"
   */
  constructor(
    readonly format: string,
    placeholder: "key" | "subject" | "topic",
  ) {
    const tenantToken = "{tenant_id}";
    const nameToken = `{${placeholder}}`;
    const tenantAt = format.indexOf(tenantToken);
    const nameAt = format.indexOf(nameToken);
    if (tenantAt < 0 || nameAt < tenantAt + tenantToken.length) {
      throw new TypeError(`isolation format ${JSON.stringify(format)} must contain {tenant_id} before ${nameToken}`);
    }

    this.#head = format.slice(0, tenantAt);
    this.#middle = format.slice(tenantAt + tenantToken.length, nameAt);
    this.#tail = format.slice(nameAt + nameToken.length);
  }

  /** The part every physical name of the tenant starts with. */
  prefixFor(tenantId: string): string {
    return `${this.#head}${tenantId}${this.#middle}`;
  }

  toPhysical(tenantId: string, name: string): string {
    return `${this.prefixFor(tenantId)}${name}${this.#tail}`;
  }

  /** Returns the tenant-relative name, or undefined when the name is not the tenant's. */
  toLogical(tenantId: string, physical: string): string | undefined {
    const prefix = this.prefixFor(tenantId);
    if (!physical.startsWith(prefix) || !physical.endsWith(this.#tail)) {
      return undefined;
    }
    if (physical.length < prefix.length + this.#tail.length) {
      return undefined;
    }
    return physical.slice(prefix.length, physical.length - this.#tail.length);
  }
}

export const DEFAULT_KEY_FORMAT = "tenant:{tenant_id}:{key}";
export const DEFAULT_SUBJECT_FORMAT = "tenant.{tenant_id}.{subject}";
