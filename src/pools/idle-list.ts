/**
 * The idle connections of one pool, ordered by the time they became idle. The pool lends
 * the most recent first, so the others age out, and one unref'd timer closes each
 * connection that stays idle past the idle timeout.
 */

/** A connection owned by a pool, with what the pool tracks about it. */
export interface PooledConnection<C> {
  readonly connection: C;
  /** The factory's id of the connection. */
  readonly id: string;
  /** When create() resolved, in epoch milliseconds. */
  readonly openedAt: number;
  /** When it last became idle, in epoch milliseconds. */
  idleSince: number;
}

export class IdleList<C> {
  /** The longest idle first, the most recent last. */
  readonly #entries: PooledConnection<C>[] = [];
  readonly #idleTimeoutMs: number;
  readonly #onExpired: (pooled: PooledConnection<C>) => void;
  #timer: NodeJS.Timeout | undefined;
  #closed = false;

  /** `onExpired` receives each connection removed because it stayed idle for `idleTimeoutMs`. */
  constructor(idleTimeoutMs: number, onExpired: (pooled: PooledConnection<C>) => void) {
    this.#idleTimeoutMs = idleTimeoutMs;
    this.#onExpired = onExpired;
  }

  get length(): number {
    return this.#entries.length;
  }

  /** When the longest-idle connection became idle; undefined when the list is empty. */
  get oldestIdleSince(): number | undefined {
    return this.#entries[0]?.idleSince;
  }

  push(pooled: PooledConnection<C>): void {
    pooled.idleSince = Date.now();
    this.#entries.push(pooled);
    this.#schedule();
  }

  popNewest(): PooledConnection<C> | undefined {
    return this.#entries.pop();
  }

  shiftOldest(): PooledConnection<C> | undefined {
    return this.#entries.shift();
  }

  /** Stops the timer and returns every entry; later pushes are kept without a timer. */
  close(): PooledConnection<C>[] {
    this.#closed = true;
    clearTimeout(this.#timer);
    this.#timer = undefined;
    return this.#entries.splice(0);
  }

  #schedule(): void {
    const longestIdle = this.#entries[0];
    if (this.#timer !== undefined || longestIdle === undefined || this.#closed) {
      return;
    }

    const delayMs = Math.max(0, longestIdle.idleSince + this.#idleTimeoutMs - Date.now());
    // Unref'd: idle connections alone must not keep the process alive.
    this.#timer = setTimeout(() => this.#sweep(), delayMs).unref();
  }

  #sweep(): void {
    this.#timer = undefined;
    const now = Date.now();
    for (let pooled = this.#entries[0]; pooled !== undefined; pooled = this.#entries[0]) {
      if (now - pooled.idleSince < this.#idleTimeoutMs) {
        break;
      }
      this.#entries.shift();
      this.#onExpired(pooled);
    }
    this.#schedule();
  }
}
