import { describe, it } from "node:test";
import assert from "node:assert/strict";
import { SlidingWindow } from "../../src/limits/sliding-window.js";

describe("SlidingWindow", () => {
  void it("sums amounts within the window", () => {
    const window = new SlidingWindow(1000, 10);
    window.add(0, 5);
    window.add(450, 2);
    window.add(999, 1);
    assert.equal(window.total(999), 8);
  });

  void it("drops a bucket once the window has moved past it", () => {
    const window = new SlidingWindow(1000, 10);
    window.add(50, 5);
    window.add(150, 2);
    assert.equal(window.total(999), 7);
    assert.equal(window.total(1000), 2, "the bucket [0, 100) left at 1000 ms");
    assert.equal(window.total(1100), 0);
  });

  void it("clears everything after a long gap", () => {
    const window = new SlidingWindow(1000, 10);
    window.add(0, 5);
    window.add(60_000, 1);
    assert.equal(window.total(60_000), 1);
  });

  void it("computes when the total falls to a target", () => {
    const window = new SlidingWindow(1000, 10);
    window.add(0, 400);
    window.add(250, 300);
    window.add(530, 100);

    assert.equal(window.msUntilAtMost(600, 800), 0);
    assert.equal(window.msUntilAtMost(600, 500), 400, "the bucket [0, 100) leaves at 1000 ms");
    assert.equal(window.msUntilAtMost(600, 100), 600, "the bucket [200, 300) leaves at 1200 ms");
    assert.equal(window.msUntilAtMost(600, 0), 900, "the bucket [500, 600) leaves at 1500 ms");
  });

  void it("rejects invalid sizes", () => {
    assert.throws(() => new SlidingWindow(1000, 0), /invalid sliding window: 1000 ms in 0 buckets/);
    assert.throws(() => new SlidingWindow(0, 10), /invalid sliding window/);
  });
});
