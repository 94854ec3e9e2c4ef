import assert from "node:assert/strict";
import { describe, it } from "node:test";

import { compareNumber, parseNumericComparison } from "../../src/config/comparison.js";
import { MAX_DURATION_MS, parseByteSize, parseCpu, parseDuration, type ParseResult } from "../../src/config/quantities.js";

function valueOf<T>(result: ParseResult<T>): T {
  assert.ok(result.ok, result.ok ? "" : result.error);
  return result.value;
}

function errorOf<T>(result: ParseResult<T>): string {
  assert.ok(!result.ok, "expected the value to be rejected");
  return result.error;
}

void describe("parseDuration", () => {
  const valid: [unknown, number][] = [
    ["250ms", 250],
    ["300s", 300_000],
    ["5m", 300_000],
    ["1h", 3_600_000],
    ["1.5s", 1500],
    ["0.1h", 360_000],
    ["0s", 0],
    ["300", 300_000],
    [300, 300_000],
    [0.25, 250],
  ];
  for (const [input, expected] of valid) {
    void it(`parses ${JSON.stringify(input)}`, () => {
      assert.equal(valueOf(parseDuration(input)), expected);
    });
  }

  const invalid: unknown[] = ["5 minutes", "1h30m", "-5s", "5d", "5S", "", "s", -1, null, [], true, "1.5ms"];
  for (const input of invalid) {
    void it(`rejects ${JSON.stringify(input)}`, () => {
      assert.match(errorOf(parseDuration(input)), /duration/);
    });
  }

  void it("lists the allowed units", () => {
    const error = errorOf(parseDuration("5 minutes"));
    assert.ok(error.includes('"5 minutes"'), error);
    assert.ok(error.includes("ms, s, m or h"), error);
    assert.ok(error.includes("bare number of seconds"), error);
  });

  void it("rejects durations past the timer limit", () => {
    assert.equal(valueOf(parseDuration(`${MAX_DURATION_MS}ms`)), MAX_DURATION_MS);
    assert.match(errorOf(parseDuration("1000h")), /too long/);
  });
});

void describe("parseByteSize", () => {
  const valid: [unknown, number][] = [
    ["1Gi", 2 ** 30],
    ["512Mi", 512 * 2 ** 20],
    ["2G", 2e9],
    ["64k", 64_000],
    ["1Ki", 1024],
    ["1.5Ki", 1536],
    ["1Ti", 2 ** 40],
    ["1024", 1024],
    [1048576, 1048576],
    [0, 0],
  ];
  for (const [input, expected] of valid) {
    void it(`parses ${JSON.stringify(input)}`, () => {
      assert.equal(valueOf(parseByteSize(input)), expected);
    });
  }

  const invalid: unknown[] = ["8GB", "1K", "1 Gi", "-1Mi", "1.5", "Gi", 1.5, -1, {}, "1e3"];
  for (const input of invalid) {
    void it(`rejects ${JSON.stringify(input)}`, () => {
      assert.match(errorOf(parseByteSize(input)), /size/);
    });
  }

  void it("lists the allowed units", () => {
    const error = errorOf(parseByteSize("8GB"));
    assert.ok(error.includes("Ki, Mi, Gi, Ti"), error);
    assert.ok(error.includes("k, M, G, T"), error);
  });
});

void describe("parseCpu", () => {
  const valid: [unknown, number][] = [
    ["0.5", 0.5],
    ["2", 2],
    ["500m", 0.5],
    ["1500m", 1.5],
    ["0.001", 0.001],
    [4, 4],
  ];
  for (const [input, expected] of valid) {
    void it(`parses ${JSON.stringify(input)}`, () => {
      assert.equal(valueOf(parseCpu(input)), expected);
    });
  }

  const invalid: unknown[] = ["0", "0m", "half", "2 cores", "0.5m", "-1", "0.0001", null];
  for (const input of invalid) {
    void it(`rejects ${JSON.stringify(input)}`, () => {
      assert.match(errorOf(parseCpu(input)), /CPU/);
    });
  }

  void it("lists the allowed forms", () => {
    assert.ok(errorOf(parseCpu("half")).includes('"500m"'));
  });
});

void describe("parseNumericComparison", () => {
  const valid: [unknown, string, number][] = [
    [">100000", ">", 100000],
    [">=5", ">=", 5],
    ["<10", "<", 10],
    ["<=7", "<=", 7],
    ["=3", "=", 3],
    ["100", "=", 100],
    ["> 2.5", ">", 2.5],
    [42, "=", 42],
  ];
  for (const [input, op, value] of valid) {
    void it(`parses ${JSON.stringify(input)}`, () => {
      assert.deepEqual(valueOf(parseNumericComparison(input)), { op, value });
    });
  }

  for (const input of ["=>5", "more than 5", ">", "", "5>", null]) {
    void it(`rejects ${JSON.stringify(input)}`, () => {
      assert.match(errorOf(parseNumericComparison(input)), /operator >, >=, <, <= or =/);
    });
  }

  void it("compares with every operator", () => {
    assert.equal(compareNumber(150_000, { op: ">", value: 100_000 }), true);
    assert.equal(compareNumber(100_000, { op: ">", value: 100_000 }), false);
    assert.equal(compareNumber(100_000, { op: ">=", value: 100_000 }), true);
    assert.equal(compareNumber(9, { op: "<", value: 10 }), true);
    assert.equal(compareNumber(10, { op: "<=", value: 10 }), true);
    assert.equal(compareNumber(11, { op: "<=", value: 10 }), false);
    assert.equal(compareNumber(3, { op: "=", value: 3 }), true);
    assert.equal(compareNumber(4, { op: "=", value: 3 }), false);
  });
});
