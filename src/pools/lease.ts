/**
 * One connection lent by a pool to one request. The holder runs its commands on
 * `connection` and then either releases it, so the pool can lend it again, or destroys
 * it after a failure, so the pool never lends a broken connection.
 */
export interface Lease<C> extends AsyncDisposable {
  readonly connection: C;
  /** The factory's id of the connection. */
  readonly connectionId: string;

  /** Returns the connection to its pool. Calls after the first release or destroy do nothing. */
  release(): void;

  /**
   * Closes the connection instead of returning it, and resolves once it is closed. The
   * error is logged as the reason. Calls after the first release or destroy do nothing.
   */
  destroy(error?: unknown): Promise<void>;
}

/** The pool's side of a lease: what release and destroy do with the connection. */
export interface LeaseReturn {
  release(): void;
  destroy(error: unknown): Promise<void>;
}

/** A lease that forwards its first release or destroy to its pool and ignores any later one. */
export class PoolLease<C> implements Lease<C> {
  #returned = false;

  constructor(
    readonly connection: C,
    readonly connectionId: string,
    private readonly pool: LeaseReturn,
  ) {}

  release(): void {
    if (this.#returned) {
      return;
    }
    this.#returned = true;
    this.pool.release();
  }

  destroy(error?: unknown): Promise<void> {
    if (this.#returned) {
      return Promise.resolve();
    }
    this.#returned = true;
    return this.pool.destroy(error);
  }

  /** Releases the lease, so `await using lease = await pool.acquire()` returns it at the end of the block. */
  [Symbol.asyncDispose](): Promise<void> {
    this.release();
    return Promise.resolve();
  }
}
