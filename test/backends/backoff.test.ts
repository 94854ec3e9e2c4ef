import { describe, it } from "node:test";
import assert from "node:assert/strict";
import {
  DEFAULT_BACKOFF_INITIAL_DELAY_MS,
  DEFAULT_BACKOFF_MAX_DELAY_MS,
  backoffCeilingMs,
  backoffDelayMs,
  resolveBackoff,
} from "../../src/backends/backoff.js";

describe("backoff", () => {
  it("doubles the ceiling per attempt up to the cap", () => {
    const backoff = resolveBackoff({ initialDelayMs: 100, maxDelayMs: 1000 });
    assert.deepEqual(
      [1, 2, 3, 4, 5, 6].map((attempt) => backoffCeilingMs(attempt, backoff)),
      [100, 200, 400, 800, 1000, 1000],
    );
  });

  it("stays at the cap for huge attempt numbers", () => {
    const backoff = resolveBackoff({ initialDelayMs: 100, maxDelayMs: 1000 });
    assert.equal(backoffCeilingMs(10_000, backoff), 1000);
    assert.equal(backoffCeilingMs(Number.MAX_SAFE_INTEGER, backoff), 1000);
  });

  it("treats attempts below 1 as the first", () => {
    const backoff = resolveBackoff({ initialDelayMs: 100, maxDelayMs: 1000 });
    assert.equal(backoffCeilingMs(0, backoff), 100);
    assert.equal(backoffCeilingMs(-3, backoff), 100);
  });

  it("draws the delay uniformly below the ceiling", () => {
    const low = resolveBackoff({ initialDelayMs: 100, maxDelayMs: 1000, random: () => 0 });
    const middle = resolveBackoff({ initialDelayMs: 100, maxDelayMs: 1000, random: () => 0.5 });
    const high = resolveBackoff({ initialDelayMs: 100, maxDelayMs: 1000, random: () => 0.999_999 });

    assert.equal(backoffDelayMs(3, low), 0);
    assert.equal(backoffDelayMs(3, middle), 200);
    assert.equal(backoffDelayMs(3, high), 399);
  });

  it("keeps random delays within bounds", () => {
    const backoff = resolveBackoff();
    for (let attempt = 1; attempt <= 20; attempt++) {
      const delay = backoffDelayMs(attempt, backoff);
      assert.ok(Number.isInteger(delay), `delay ${delay} is not whole milliseconds`);
      assert.ok(delay >= 0, `delay ${delay} at attempt ${attempt} is negative`);
      assert.ok(delay <= backoffCeilingMs(attempt, backoff), `delay ${delay} at attempt ${attempt} is above the ceiling`);
    }
  });

  it("applies the defaults", () => {
    const backoff = resolveBackoff();
    assert.equal(backoff.initialDelayMs, DEFAULT_BACKOFF_INITIAL_DELAY_MS);
    assert.equal(backoff.maxDelayMs, DEFAULT_BACKOFF_MAX_DELAY_MS);
    assert.equal(backoff.random, Math.random);
  });

  it("keeps an explicit 0", () => {
    const backoff = resolveBackoff({ initialDelayMs: 0, maxDelayMs: 0 });
    assert.equal(backoffDelayMs(5, backoff), 0);
  });

  it("rejects impossible settings", () => {
    assert.throws(() => resolveBackoff({ initialDelayMs: -1 }), TypeError);
    assert.throws(() => resolveBackoff({ initialDelayMs: Number.NaN }), TypeError);
    assert.throws(() => resolveBackoff({ initialDelayMs: 500, maxDelayMs: 100 }), TypeError);
    assert.throws(() => resolveBackoff({ maxDelayMs: Number.POSITIVE_INFINITY }), TypeError);
  });
});
