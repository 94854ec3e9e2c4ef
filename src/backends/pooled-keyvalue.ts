import type { IsolationLevel } from "../config/model.js";
import { Code, PrismError } from "../errors/prism-error.js";
import type { ConnectionFactory } from "../pools/connection-factory.js";
import type { Lease } from "../pools/lease.js";
import type { PooledBackend } from "../pools/pool-settings.js";
import type { KeyValueDriver, KeyValueEntry, KeyValueStore } from "./driver.js";

/**
 * A key-value driver whose connections the pool layer owns. The pool policy of the
 * request's isolation level lends one connection per request, and the driver binds a
 * tenant store to it.
 */
export interface PooledKeyValueDriver<C> extends KeyValueDriver {
  readonly pooledBackend: PooledBackend;
  /** Opens connections for a pool that serves this tenant at this isolation level. */
  connectionFactory(tenantId: string, level: IsolationLevel): ConnectionFactory<C>;
  /** Binds the tenant's store to one leased connection. */
  storeOn(tenantId: string, connection: C): KeyValueStore;
}

export function isPooledKeyValueDriver(driver: KeyValueDriver): driver is PooledKeyValueDriver<unknown> {
  return "pooledBackend" in driver && "connectionFactory" in driver && "storeOn" in driver;
}

/** Whether a failure means the connection itself may be broken, so it must not be lent again. */
export function brokeConnection(error: unknown): boolean {
  return error instanceof PrismError
    ? error.code === Code.Unavailable || error.code === Code.DeadlineExceeded || error.code === Code.Internal
    : true;
}

/**
 * A tenant store that leases its connection on its first operation and holds it until
 * finish(): the request returns it, or destroys it when an operation failed in a way
 * that may have broken it.
 */
export class LeasedKeyValueStore<C> implements KeyValueStore {
  #lease: Promise<Lease<C>> | undefined;
  #store: KeyValueStore | undefined;
  #failure: unknown;
  #finished = false;

  constructor(
    private readonly acquire: () => Promise<Lease<C>>,
    private readonly bind: (connection: C) => KeyValueStore,
  ) {}

  /** Returns the connection to its pool, or destroys it after a connection failure. Idempotent. */
  finish(): void {
    if (this.#finished) {
      return;
    }
    this.#finished = true;
    const failure = this.#failure;
    void this.#lease?.then(
      (lease) => (failure === undefined ? lease.release() : lease.destroy(failure)),
      () => undefined,
    );
  }

  set(key: string, value: Uint8Array): Promise<void> {
    return this.#run((store) => store.set(key, value));
  }

  get(key: string): Promise<Uint8Array | undefined> {
    return this.#run((store) => store.get(key));
  }

  delete(key: string): Promise<boolean> {
    return this.#run((store) => store.delete(key));
  }

  exists(key: string): Promise<boolean> {
    return this.#run((store) => store.exists(key));
  }

  expire(key: string, ttlSeconds: number): Promise<boolean> {
    return this.#run((store) => store.expire(key, ttlSeconds));
  }

  getTtl(key: string): Promise<number> {
    return this.#run((store) => store.getTtl(key));
  }

  persist(key: string): Promise<boolean> {
    return this.#run((store) => store.persist(key));
  }

  batchSet(entries: readonly KeyValueEntry[]): Promise<void> {
    return this.#run((store) => store.batchSet(entries));
  }

  batchGet(keys: readonly string[]): Promise<(Uint8Array | undefined)[]> {
    return this.#run((store) => store.batchGet(keys));
  }

  batchDelete(keys: readonly string[]): Promise<boolean[]> {
    return this.#run((store) => store.batchDelete(keys));
  }

  async #run<T>(operation: (store: KeyValueStore) => Promise<T>): Promise<T> {
    if (this.#finished) {
      throw new PrismError(Code.Internal, "INTERNAL", "a key-value store was used after its request ended");
    }
    this.#lease ??= this.acquire();
    const lease = await this.#lease;
    this.#store ??= this.bind(lease.connection);
    try {
      return await operation(this.#store);
    } catch (error) {
      if (brokeConnection(error)) {
        this.#failure = error;
      }
      throw error;
    }
  }
}
