/** A steady request rate plus the requests admitted at once above it. */
export interface RateLimit {
  /** Requests per second in steady state; any number above 0, fractions allowed. */
  readonly maxRps: number;
  /** Extra requests admitted at once; a whole number, 0 or more. */
  readonly burst: number;
}

/** Amount by which each admitted request moves the theoretical arrival time, in scaled units. */
const SCALED_INTERVAL = 1000;

/**
 * The generic cell rate algorithm (GCRA) for one namespace: equivalent to a token bucket
 * of `burst + 1` tokens refilled at `maxRps` per second, starting full. A request is
 * admitted when the theoretical arrival time (TAT) is at most `burst` emission intervals
 * ahead of now, and each admission moves the TAT one interval forward.
 *
 * Take a full bucket and requests arriving at every clock tick. Then exactly
 * maxRps × W + burst are admitted in the first W seconds, provided maxRps × W is whole and
 * one tick is shorter than burst / maxRps seconds. With coarser ticks, or with burst 0,
 * the time between a request's due time and the tick that sees it is lost, so fewer are
 * admitted, never more.
 *
 * Time is passed in by the caller as monotonic milliseconds, so tests drive it directly.
 */
export class RateLimiter {
  #limit: RateLimit;
  /** Origin of the scaled clock, in milliseconds. */
  #epochMs: number;
  /**
   * TAT in milliseconds since #epochMs multiplied by maxRps. One emission interval
   * (1000 / maxRps ms) is then exactly SCALED_INTERVAL, so admissions add whole numbers
   * and never accumulate rounding errors. The origin moves to now whenever the bucket is
   * full, which keeps the values small.
   */
  #scaledTat = 0;

  constructor(limit: RateLimit, nowMs: number) {
    RateLimiter.#check(limit);
    this.#limit = limit;
    this.#epochMs = nowMs;
  }

  get limit(): RateLimit {
    return this.#limit;
  }

  /** Admits one request and returns 0, or returns the whole milliseconds to wait before one would be admitted. */
  tryAcquire(nowMs: number): number {
    const now = this.#scaledNow(nowMs);
    if (this.#scaledTat <= now) {
      // The bucket is full, so the state equals a fresh limiter started now.
      this.#epochMs = nowMs;
      this.#scaledTat = SCALED_INTERVAL;
      return 0;
    }

    const allowedAt = this.#scaledTat - this.#limit.burst * SCALED_INTERVAL;
    if (allowedAt <= now) {
      this.#scaledTat += SCALED_INTERVAL;
      return 0;
    }
    return Math.max(1, Math.ceil((allowedAt - now) / this.#limit.maxRps));
  }

  /** True when the bucket is full again, so dropping this limiter loses nothing. */
  isIdle(nowMs: number): boolean {
    return this.#scaledTat <= this.#scaledNow(nowMs);
  }

  /** Changes the rate or burst, keeping the requests already admitted in the account. */
  reconfigure(limit: RateLimit, nowMs: number): void {
    if (limit.maxRps === this.#limit.maxRps && limit.burst === this.#limit.burst) {
      return;
    }
    RateLimiter.#check(limit);

    const tatMs = this.#epochMs + this.#scaledTat / this.#limit.maxRps;
    this.#limit = limit;
    this.#epochMs = nowMs;
    this.#scaledTat = Math.max(0, (tatMs - nowMs) * limit.maxRps);
  }

  #scaledNow(nowMs: number): number {
    return (nowMs - this.#epochMs) * this.#limit.maxRps;
  }

  static #check(limit: RateLimit): void {
    if (!(limit.maxRps > 0) || !Number.isFinite(limit.maxRps)) {
      throw new RangeError(`invalid rate limit: maxRps must be a finite number above 0, got ${limit.maxRps}`);
    }
    if (!Number.isInteger(limit.burst) || limit.burst < 0) {
      throw new RangeError(`invalid rate limit: burst must be a whole number of 0 or more, got ${limit.burst}`);
    }
  }
}
