import type { KeyValueDriver, KeyValueEntry, KeyValueStore, BackendHealth } from "../driver.js";
import type { PrefixStrategy } from "../../isolation/prefix-strategy.js";

/** Interval of the background sweep that frees expired entries. */
export const DEFAULT_SWEEP_INTERVAL_MS = 1000;

interface StoredValue {
  value: Uint8Array;
  /** Milliseconds since the epoch, or undefined without expiry. */
  expiresAt: number | undefined;
}

/**
 * In-process key-value store. All tenants share one map, keyed by the physical name
 * that the prefix strategy produces, exactly as they share one Redis keyspace.
 */
export class MemoryKeyValueDriver implements KeyValueDriver {
  readonly name = "memory";
  readonly #entries = new Map<string, StoredValue>();
  readonly #expiring = new Set<string>();
  readonly #sweepTimer: NodeJS.Timeout;
  readonly #now: () => number;
  #closed = false;

  constructor(
    readonly strategy: PrefixStrategy,
    options: { sweepIntervalMs?: number; now?: () => number } = {},
  ) {
    this.#now = options.now ?? Date.now;
    this.#sweepTimer = setInterval(() => this.#sweep(), options.sweepIntervalMs ?? DEFAULT_SWEEP_INTERVAL_MS);
    this.#sweepTimer.unref();
  }

  forTenant(tenantId: string): KeyValueStore {
    return new MemoryTenantStore(this, (key) => this.strategy.toPhysical(tenantId, key));
  }

  maxKeyBytes(_tenantId: string): number {
    // Map keys have no length limit; the request limits bound them.
    return Number.MAX_SAFE_INTEGER;
  }

  health(): BackendHealth {
    return { backend: this.name, state: this.#closed ? "closed" : "ready" };
  }

  close(): Promise<void> {
    this.#closed = true;
    clearInterval(this.#sweepTimer);
    return Promise.resolve();
  }

  /** Every physical key currently stored, expired ones excluded; for tests and tools. */
  physicalKeys(): string[] {
    return [...this.#entries.keys()].filter((key) => this.read(key) !== undefined);
  }

  read(physicalKey: string): StoredValue | undefined {
    const stored = this.#entries.get(physicalKey);
    if (stored === undefined) {
      return undefined;
    }
    if (stored.expiresAt !== undefined && stored.expiresAt <= this.#now()) {
      this.remove(physicalKey);
      return undefined;
    }
    return stored;
  }

  write(physicalKey: string, value: Uint8Array, expiresAt: number | undefined): void {
    this.#entries.set(physicalKey, { value, expiresAt });
    if (expiresAt === undefined) {
      this.#expiring.delete(physicalKey);
    } else {
      this.#expiring.add(physicalKey);
    }
  }

  remove(physicalKey: string): boolean {
    this.#expiring.delete(physicalKey);
    return this.#entries.delete(physicalKey);
  }

  now(): number {
    return this.#now();
  }

  #sweep(): void {
    for (const key of this.#expiring) {
      this.read(key);
    }
  }
}

class MemoryTenantStore implements KeyValueStore {
  constructor(
    private readonly driver: MemoryKeyValueDriver,
    private readonly physical: (key: string) => string,
  ) {}

  set(key: string, value: Uint8Array): Promise<void> {
    // A plain overwrite clears any previous TTL, as Redis SET does.
    this.driver.write(this.physical(key), value.slice(), undefined);
    return Promise.resolve();
  }

  get(key: string): Promise<Uint8Array | undefined> {
    return Promise.resolve(this.driver.read(this.physical(key))?.value);
  }

  delete(key: string): Promise<boolean> {
    const physicalKey = this.physical(key);
    const existed = this.driver.read(physicalKey) !== undefined;
    this.driver.remove(physicalKey);
    return Promise.resolve(existed);
  }

  exists(key: string): Promise<boolean> {
    return Promise.resolve(this.driver.read(this.physical(key)) !== undefined);
  }

  expire(key: string, ttlSeconds: number): Promise<boolean> {
    const physicalKey = this.physical(key);
    const stored = this.driver.read(physicalKey);
    if (stored === undefined) {
      return Promise.resolve(false);
    }

    if (ttlSeconds <= 0) {
      this.driver.remove(physicalKey);
    } else {
      this.driver.write(physicalKey, stored.value, this.driver.now() + ttlSeconds * 1000);
    }
    return Promise.resolve(true);
  }

  getTtl(key: string): Promise<number> {
    const stored = this.driver.read(this.physical(key));
    if (stored === undefined) {
      return Promise.resolve(-2);
    }
    if (stored.expiresAt === undefined) {
      return Promise.resolve(-1);
    }
    // Rounded to the nearest second, as Redis TTL rounds its millisecond value.
    return Promise.resolve(Math.max(0, Math.round((stored.expiresAt - this.driver.now()) / 1000)));
  }

  persist(key: string): Promise<boolean> {
    const physicalKey = this.physical(key);
    const stored = this.driver.read(physicalKey);
    if (stored?.expiresAt === undefined) {
      return Promise.resolve(false);
    }
    this.driver.write(physicalKey, stored.value, undefined);
    return Promise.resolve(true);
  }

  async batchSet(entries: readonly KeyValueEntry[]): Promise<void> {
    for (const entry of entries) {
      await this.set(entry.key, entry.value);
    }
  }

  batchGet(keys: readonly string[]): Promise<(Uint8Array | undefined)[]> {
    return Promise.all(keys.map((key) => this.get(key)));
  }

  batchDelete(keys: readonly string[]): Promise<boolean[]> {
    return Promise.all(keys.map((key) => this.delete(key)));
  }
}
