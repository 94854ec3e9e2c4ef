/** Numeric comparisons of routing rules, such as annual_revenue: ">100000". */

import type { NumericComparison } from "./model.js";
import type { ParseResult } from "./quantities.js";

const COMPARISON_PATTERN = /^(>=|<=|>|<|=)?\s*(-?\d+(?:\.\d+)?)$/;

/** Parses ">100000", ">=5", "<10", "<=7", "=3" or a bare number (meaning "=") into a comparison. */
export function parseNumericComparison(input: unknown): ParseResult<NumericComparison> {
  if (typeof input === "number" && Number.isFinite(input)) {
    return { ok: true, value: { op: "=", value: input } };
  }

  const match = typeof input === "string" ? COMPARISON_PATTERN.exec(input.trim()) : null;
  if (!match?.[2]) {
    const quotedInput = typeof input === "string" ? JSON.stringify(input) : typeof input;
    return {
      ok: false,
      error: `invalid comparison ${quotedInput}. Use an operator >, >=, <, <= or = followed by a number, for example ">100000", or a bare number`,
    };
  }

  const op = (match[1] ?? "=") as NumericComparison["op"];
  return { ok: true, value: { op, value: Number(match[2]) } };
}

/** Returns whether `actual` satisfies the comparison, for example 150000 against ">100000". */
export function compareNumber(actual: number, comparison: NumericComparison): boolean {
  switch (comparison.op) {
    case ">":
      return actual > comparison.value;
    case ">=":
      return actual >= comparison.value;
    case "<":
      return actual < comparison.value;
    case "<=":
      return actual <= comparison.value;
    case "=":
      return actual === comparison.value;
  }
}
