/**
 * The FIFO queue of requests waiting for a connection. Each waiter leaves it exactly
 * once: served, timed out, cancelled by its signal, or rejected by the pool. Its timer
 * and abort listener are removed when it leaves.
 */

import type { PrismError } from "../errors/prism-error.js";

export interface WaitQueueOptions {
  /** Time a waiter stays queued before it is rejected. */
  timeoutMs: number;
  /** Builds the rejection of a waiter whose time ran out, once it has left the queue. */
  timeoutError(): PrismError;
  /** Builds the rejection of a waiter whose signal aborted. */
  cancelError(reason: unknown): PrismError;
  /** Called after a waiter timed out or was cancelled. */
  onLeave(): void;
}

class Waiter<T> {
  timer: NodeJS.Timeout | undefined;
  detachSignal: (() => void) | undefined;

  constructor(
    readonly resolve: (value: T) => void,
    readonly reject: (error: PrismError) => void,
  ) {}

  detach(): void {
    clearTimeout(this.timer);
    this.timer = undefined;
    this.detachSignal?.();
    this.detachSignal = undefined;
  }
}

export class WaitQueue<T> {
  readonly #options: WaitQueueOptions;
  readonly #waiters: Waiter<T>[] = [];

  constructor(options: WaitQueueOptions) {
    this.#options = options;
  }

  get length(): number {
    return this.#waiters.length;
  }

  /**
   * Queues a request. The promise settles when the request is served, times out or is
   * cancelled. The caller should try to serve the queue right after this returns.
   */
  wait(signal: AbortSignal | undefined): Promise<T> {
    return new Promise<T>((resolve, reject) => {
      const waiter = new Waiter(resolve, reject);
      this.#waiters.push(waiter);

      // Ref'd, unlike the idle timer: a caller awaits this promise, which must settle.
      waiter.timer = setTimeout(() => this.#expire(waiter), this.#options.timeoutMs);
      if (signal !== undefined) {
        const onAbort = (): void => this.#cancel(waiter, signal.reason);
        signal.addEventListener("abort", onAbort, { once: true });
        waiter.detachSignal = () => signal.removeEventListener("abort", onAbort);
      }
    });
  }

  /** Resolves the longest-waiting request with the value that `produce` returns. Returns false when no request waits. */
  serveFirst(produce: () => T): boolean {
    const waiter = this.#waiters.shift();
    if (waiter === undefined) {
      return false;
    }
    waiter.detach();
    waiter.resolve(produce());
    return true;
  }

  /** Rejects the longest-waiting request. Returns false when no request waits. */
  rejectFirst(error: PrismError): boolean {
    const waiter = this.#waiters.shift();
    if (waiter === undefined) {
      return false;
    }
    waiter.detach();
    waiter.reject(error);
    return true;
  }

  rejectAll(error: PrismError): void {
    for (const waiter of this.#waiters.splice(0)) {
      waiter.detach();
      waiter.reject(error);
    }
  }

  #expire(waiter: Waiter<T>): void {
    if (this.#remove(waiter)) {
      waiter.reject(this.#options.timeoutError());
      this.#options.onLeave();
    }
  }

  #cancel(waiter: Waiter<T>, reason: unknown): void {
    if (this.#remove(waiter)) {
      waiter.reject(this.#options.cancelError(reason));
      this.#options.onLeave();
    }
  }

  #remove(waiter: Waiter<T>): boolean {
    const index = this.#waiters.indexOf(waiter);
    if (index < 0) {
      return false;
    }
    this.#waiters.splice(index, 1);
    waiter.detach();
    return true;
  }
}
