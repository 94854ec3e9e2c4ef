import { resourceExhausted } from "../../errors/prism-error.js";

/** Messages a subscriber may fall behind by before its stream is ended as a slow consumer. */
export const DEFAULT_SUBSCRIBER_BUFFER_MESSAGES = 1024;

/**
 * A bounded queue between a backend subscription and one response stream. It ends
 * when end() is called, fails with the abort reason when the signal aborts, and fails
 * with RESOURCE_EXHAUSTED when the consumer falls more than `capacity` messages behind.
 */
export class MessageQueue<T> implements AsyncIterable<T> {
  readonly #items: T[] = [];
  #waiter: { resolve: (result: IteratorResult<T>) => void; reject: (reason: unknown) => void } | undefined;
  #ended = false;
  #failure: Error | undefined;

  constructor(
    private readonly capacity: number,
    private readonly signal: AbortSignal,
  ) {
    signal.addEventListener("abort", this.#onAbort, { once: true });
  }

  get length(): number {
    return this.#items.length;
  }

  push(item: T): void {
    if (this.#ended || this.#failure !== undefined) {
      return;
    }

    if (this.#waiter !== undefined) {
      const waiter = this.#waiter;
      this.#waiter = undefined;
      waiter.resolve({ value: item, done: false });
      return;
    }

    if (this.#items.length >= this.capacity) {
      this.fail(
        resourceExhausted(
          `subscriber fell ${this.capacity} messages behind and was disconnected as a slow consumer; read faster or narrow the topic`,
        ),
      );
      return;
    }
    this.#items.push(item);
  }

  /** Ends the stream after the buffered messages are read. */
  end(): void {
    this.#ended = true;
    this.#settleWaiter();
  }

  fail(reason: unknown): void {
    if (this.#failure !== undefined) {
      return;
    }
    this.#failure = reason instanceof Error ? reason : new Error(String(reason));
    this.#items.length = 0;
    this.#settleWaiter();
  }

  /** Removes the abort listener; call when the stream is finished. */
  dispose(): void {
    this.signal.removeEventListener("abort", this.#onAbort);
    this.#ended = true;
    this.#items.length = 0;
  }

  [Symbol.asyncIterator](): AsyncIterator<T> {
    return { next: () => this.#next() };
  }

  #next(): Promise<IteratorResult<T>> {
    if (this.#failure !== undefined) {
      return Promise.reject(this.#failure);
    }

    const item = this.#items.shift();
    if (item !== undefined) {
      return Promise.resolve({ value: item, done: false });
    }
    if (this.#ended) {
      return Promise.resolve({ value: undefined, done: true });
    }

    return new Promise((resolve, reject) => {
      this.#waiter = { resolve, reject };
    });
  }

  #settleWaiter(): void {
    const waiter = this.#waiter;
    if (waiter === undefined) {
      return;
    }
    this.#waiter = undefined;
    if (this.#failure !== undefined) {
      waiter.reject(this.#failure);
    } else if (this.#ended && this.#items.length === 0) {
      waiter.resolve({ value: undefined, done: true });
    }
  }

  readonly #onAbort = (): void => {
    this.fail(this.signal.reason);
  };
}
