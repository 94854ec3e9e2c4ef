/** A first-in first-out queue of fixed capacity on a ring buffer: push and shift are O(1). */
export class BoundedQueue<T> {
  readonly #slots: (T | undefined)[];
  #head = 0;
  #length = 0;

  constructor(readonly capacity: number) {
    if (!Number.isInteger(capacity) || capacity < 1) {
      throw new RangeError(`queue capacity must be an integer of at least 1, got ${capacity}`);
    }
    this.#slots = new Array<T | undefined>(capacity);
  }

  get length(): number {
    return this.#length;
  }

  /** Appends an item; returns false, leaving the queue unchanged, when it is full. */
  push(item: T): boolean {
    if (this.#length === this.capacity) {
      return false;
    }
    this.#slots[(this.#head + this.#length) % this.capacity] = item;
    this.#length++;
    return true;
  }

  /** Returns up to `count` items from the front without removing them. */
  peek(count: number): T[] {
    const taken = Math.min(count, this.#length);
    const items: T[] = [];
    for (let offset = 0; offset < taken; offset++) {
      items.push(this.#slots[(this.#head + offset) % this.capacity] as T);
    }
    return items;
  }

  /** Removes up to `count` items from the front; returns how many it removed. */
  discard(count: number): number {
    const removed = Math.min(count, this.#length);
    for (let offset = 0; offset < removed; offset++) {
      this.#slots[(this.#head + offset) % this.capacity] = undefined;
    }
    this.#head = (this.#head + removed) % this.capacity;
    this.#length -= removed;
    return removed;
  }
}
