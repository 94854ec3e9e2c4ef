/**
 * A running total over the last `windowMs` milliseconds, kept in `bucketCount` equal
 * buckets. The window is the current bucket plus the `bucketCount - 1` before it, so it
 * spans between `windowMs - bucketMs` and `windowMs` of history. Times are monotonic
 * milliseconds. A clock that steps backwards adds to the newest bucket.
 */
export class SlidingWindow {
  readonly windowMs: number;
  readonly bucketMs: number;
  readonly #buckets: Float64Array;
  /** Bucket number (time divided by bucketMs, rounded down) of the newest bucket. */
  #newest = Number.NEGATIVE_INFINITY;
  #total = 0;

  constructor(windowMs: number, bucketCount: number) {
    if (!Number.isInteger(bucketCount) || bucketCount < 1 || !(windowMs > 0)) {
      throw new RangeError(`invalid sliding window: ${windowMs} ms in ${bucketCount} buckets`);
    }
    this.windowMs = windowMs;
    this.bucketMs = windowMs / bucketCount;
    this.#buckets = new Float64Array(bucketCount);
  }

  add(nowMs: number, amount: number): void {
    this.#advance(nowMs);
    const index = this.#indexOf(this.#newest);
    this.#buckets[index] = (this.#buckets[index] ?? 0) + amount;
    this.#total += amount;
  }

  total(nowMs: number): number {
    this.#advance(nowMs);
    return this.#total;
  }

  /**
   * Returns the milliseconds until the total drops to `target` or below as old buckets
   * leave the window, assuming nothing more is added; 0 when it already has.
   */
  msUntilAtMost(nowMs: number, target: number): number {
    this.#advance(nowMs);
    const count = this.#buckets.length;
    const oldest = this.#newest - count + 1;
    let remaining = this.#total;

    for (let offset = 0; offset < count; offset++) {
      if (remaining <= target) {
        return offset === 0 ? 0 : Math.max(0, (oldest + offset - 1 + count) * this.bucketMs - nowMs);
      }
      remaining -= this.#buckets[this.#indexOf(oldest + offset)] ?? 0;
    }
    // Every bucket, the current one included, has to leave the window.
    return Math.max(0, (this.#newest + count) * this.bucketMs - nowMs);
  }

  /** Moves the window to nowMs, clearing the buckets that fell out of it. */
  #advance(nowMs: number): void {
    const current = Math.floor(nowMs / this.bucketMs);
    if (current <= this.#newest) {
      return;
    }

    const count = this.#buckets.length;
    if (current - this.#newest >= count) {
      this.#buckets.fill(0);
      this.#total = 0;
    } else {
      for (let bucket = this.#newest + 1; bucket <= current; bucket++) {
        const index = this.#indexOf(bucket);
        this.#total -= this.#buckets[index] ?? 0;
        this.#buckets[index] = 0;
      }
    }
    this.#newest = current;
  }

  #indexOf(bucket: number): number {
    const count = this.#buckets.length;
    return ((bucket % count) + count) % count;
  }
}
