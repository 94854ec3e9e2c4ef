import { describe, it } from "node:test";
import assert from "node:assert/strict";
import { RateLimiter } from "../../src/limits/rate-limiter.js";

/** Calls tryAcquire `callers` times at every tick of [0, windowMs) and counts the admissions. */
function admittedUnderDemand(limiter: RateLimiter, windowMs: number, tickMs: number, callers: number, startMs = 0): number {
  let admitted = 0;
  for (let nowMs = startMs; nowMs < startMs + windowMs; nowMs += tickMs) {
    for (let caller = 0; caller < callers; caller++) {
      if (limiter.tryAcquire(nowMs) === 0) {
        admitted++;
      }
    }
  }
  return admitted;
}

describe("RateLimiter", () => {
  const cases = [
    { maxRps: 100, burst: 10, windowMs: 1000, tickMs: 1 },
    { maxRps: 500, burst: 50, windowMs: 1000, tickMs: 1 },
    { maxRps: 3, burst: 2, windowMs: 5000, tickMs: 1 },
    { maxRps: 2.5, burst: 1, windowMs: 2000, tickMs: 1 },
    { maxRps: 1000, burst: 100, windowMs: 3000, tickMs: 1 },
    { maxRps: 7, burst: 1, windowMs: 3000, tickMs: 10 },
    { maxRps: 0.5, burst: 3, windowMs: 10_000, tickMs: 1 },
  ];

  for (const { maxRps, burst, windowMs, tickMs } of cases) {
    void it(`admits rate × window + burst at ${maxRps} rps, burst ${burst}`, () => {
      const limiter = new RateLimiter({ maxRps, burst }, 0);
      const expected = (maxRps * windowMs) / 1000 + burst;
      assert.equal(admittedUnderDemand(limiter, windowMs, tickMs, 50), expected);
    });
  }

  void it("admits exactly max_rps per second after the burst", () => {
    const limiter = new RateLimiter({ maxRps: 40, burst: 8 }, 0);
    assert.equal(admittedUnderDemand(limiter, 1000, 1, 20, 0), 48);
    for (let second = 1; second <= 5; second++) {
      assert.equal(admittedUnderDemand(limiter, 1000, 1, 20, second * 1000), 40, `second ${second}`);
    }
  });

  void it("admits burst + 1 at once from a full bucket", () => {
    const limiter = new RateLimiter({ maxRps: 10, burst: 4 }, 0);
    assert.equal(admittedUnderDemand(limiter, 1, 1, 100), 5);
  });

  void it("spaces requests 1/max_rps apart with burst 0", () => {
    const limiter = new RateLimiter({ maxRps: 4, burst: 0 }, 0);
    assert.equal(limiter.tryAcquire(0), 0);
    assert.equal(limiter.tryAcquire(0), 250);
    assert.equal(limiter.tryAcquire(249), 1);
    assert.equal(limiter.tryAcquire(250), 0);
  });

  void it("returns a retry time after which the request is admitted", () => {
    const limiter = new RateLimiter({ maxRps: 3, burst: 1 }, 0);
    assert.equal(limiter.tryAcquire(0), 0);
    assert.equal(limiter.tryAcquire(0), 0);

    const waitMs = limiter.tryAcquire(0);
    assert.equal(waitMs, 334, "one interval of 333.3 ms, rounded up");
    assert.ok(limiter.tryAcquire(waitMs - 1) > 0);
    assert.equal(limiter.tryAcquire(waitMs), 0);
  });

  void it("reports idle once the bucket has refilled", () => {
    const limiter = new RateLimiter({ maxRps: 10, burst: 2 }, 0);
    for (let index = 0; index < 3; index++) {
      limiter.tryAcquire(0);
    }
    assert.equal(limiter.isIdle(0), false);
    assert.equal(limiter.isIdle(299), false);
    assert.equal(limiter.isIdle(300), true);
  });

  void it("starts full again after a long pause", () => {
    const limiter = new RateLimiter({ maxRps: 10, burst: 2 }, 0);
    admittedUnderDemand(limiter, 1000, 1, 10);
    assert.equal(admittedUnderDemand(limiter, 1, 1, 10, 60_000), 3);
  });

  void it("keeps earlier admissions when reconfigured", () => {
    const limiter = new RateLimiter({ maxRps: 10, burst: 0 }, 0);
    assert.equal(limiter.tryAcquire(0), 0);
    // The next request stays due at 100 ms; the one after it follows at the new rate.
    limiter.reconfigure({ maxRps: 1, burst: 0 }, 50);
    assert.equal(limiter.tryAcquire(50), 50);
    assert.equal(limiter.tryAcquire(100), 0);
    assert.equal(limiter.tryAcquire(100), 1000);
    assert.deepEqual(limiter.limit, { maxRps: 1, burst: 0 });
  });

  void it("rejects invalid limits", () => {
    assert.throws(() => new RateLimiter({ maxRps: 0, burst: 1 }, 0), /maxRps must be a finite number above 0, got 0/);
    assert.throws(() => new RateLimiter({ maxRps: 5, burst: 1.5 }, 0), /burst must be a whole number of 0 or more, got 1.5/);
  });
});
