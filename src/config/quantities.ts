/**
 * Parsers for the quantities of the configuration file: durations, byte sizes and CPU.
 * Each returns a result instead of throwing, so a schema can turn a failure into an
 * issue and keep checking the rest of the file.
 */

import type { Bytes, Cores, DurationMs } from "./model.js";

export type ParseResult<T> = { ok: true; value: T } | { ok: false; error: string };

/** Maximum duration accepted, because Node.js timers fire at once for delays above 2^31-1 ms. */
export const MAX_DURATION_MS = 2 ** 31 - 1;

const DURATION_UNITS_MS: Readonly<Record<string, number>> = { ms: 1, s: 1000, m: 60_000, h: 3_600_000 };
const BYTE_UNITS: Readonly<Record<string, number>> = {
  k: 1e3,
  M: 1e6,
  G: 1e9,
  T: 1e12,
  Ki: 2 ** 10,
  Mi: 2 ** 20,
  Gi: 2 ** 30,
  Ti: 2 ** 40,
};

const DURATION_PATTERN = /^(\d+(?:\.\d+)?)(ms|s|m|h)?$/;
const BYTE_SIZE_PATTERN = /^(\d+(?:\.\d+)?)(Ki|Mi|Gi|Ti|k|M|G|T)?$/;
const CPU_PATTERN = /^(\d+(?:\.\d+)?)(m)?$/;

const DURATION_FORMS = 'a number with unit ms, s, m or h (for example "250ms", "300s", "5m", "1h"), or a bare number of seconds';
const BYTE_SIZE_FORMS =
  'a number with unit Ki, Mi, Gi, Ti (powers of 1024) or k, M, G, T (powers of 1000), for example "512Mi" or "2G", or a bare number of bytes';
const CPU_FORMS = 'a number of cores such as "0.5" or "2", or millicores such as "500m"';

/** Parses a duration such as "300s", "5m", "250ms", "1h" or a bare number of seconds into milliseconds. */
export function parseDuration(input: unknown): ParseResult<DurationMs> {
  const parsed = splitQuantity(input, DURATION_PATTERN, "s");
  if (!parsed) {
    return { ok: false, error: `invalid duration ${quote(input)}. Use ${DURATION_FORMS}` };
  }

  const milliseconds = parsed.number * (DURATION_UNITS_MS[parsed.unit] ?? Number.NaN);
  const rounded = roundIfWhole(milliseconds);
  if (rounded === undefined) {
    return { ok: false, error: `invalid duration ${quote(input)}: it must be a whole number of milliseconds` };
  }
  if (rounded > MAX_DURATION_MS) {
    return { ok: false, error: `duration ${quote(input)} is too long. The maximum is ${MAX_DURATION_MS}ms (about 24.8 days)` };
  }
  return { ok: true, value: rounded };
}

/** Parses a byte size such as "1Gi", "512Mi", "2G", "64k" or a bare number of bytes into bytes. */
export function parseByteSize(input: unknown): ParseResult<Bytes> {
  const parsed = splitQuantity(input, BYTE_SIZE_PATTERN, "");
  if (!parsed) {
    return { ok: false, error: `invalid size ${quote(input)}. Use ${BYTE_SIZE_FORMS}` };
  }

  const multiplier = parsed.unit === "" ? 1 : (BYTE_UNITS[parsed.unit] ?? Number.NaN);
  const bytes = roundIfWhole(parsed.number * multiplier);
  if (bytes === undefined) {
    return { ok: false, error: `invalid size ${quote(input)}: it must be a whole number of bytes` };
  }
  if (bytes > Number.MAX_SAFE_INTEGER) {
    return { ok: false, error: `size ${quote(input)} is too large` };
  }
  return { ok: true, value: bytes };
}

/** Parses a CPU amount such as "0.5", "2" or "500m" (millicores) into cores. The amount must be above zero. */
export function parseCpu(input: unknown): ParseResult<Cores> {
  const parsed = splitQuantity(input, CPU_PATTERN, "");
  if (!parsed) {
    return { ok: false, error: `invalid CPU amount ${quote(input)}. Use ${CPU_FORMS}` };
  }

  const millicores = roundIfWhole(parsed.unit === "m" ? parsed.number : parsed.number * 1000);
  if (millicores === undefined) {
    return { ok: false, error: `invalid CPU amount ${quote(input)}: the smallest unit is 1m (0.001 cores)` };
  }
  if (millicores === 0) {
    return { ok: false, error: `invalid CPU amount ${quote(input)}: it must be greater than 0` };
  }
  return { ok: true, value: millicores / 1000 };
}

/**
 * Splits "300s" into 300 and "s". A YAML number has no unit, so it takes `bareUnit`.
 * Returns undefined for anything else, including negative numbers.
 */
function splitQuantity(input: unknown, pattern: RegExp, bareUnit: string): { number: number; unit: string } | undefined {
  if (typeof input === "number") {
    return Number.isFinite(input) && input >= 0 ? { number: input, unit: bareUnit } : undefined;
  }
  if (typeof input !== "string") {
    return undefined;
  }

  const match = pattern.exec(input);
  if (!match?.[1]) {
    return undefined;
  }
  return { number: Number(match[1]), unit: match[2] ?? bareUnit };
}

/** Rounds away binary floating-point noise such as 0.1 * 3600000, and rejects real fractions. */
function roundIfWhole(value: number): number | undefined {
  const rounded = Math.round(value);
  return Number.isFinite(value) && Math.abs(value - rounded) < 1e-6 ? rounded : undefined;
}

function quote(input: unknown): string {
  if (typeof input === "string") {
    return JSON.stringify(input);
  }
  if (typeof input === "number" || typeof input === "boolean") {
    return String(input);
  }
  if (input === null || input === undefined) {
    return "(empty)";
  }
  return Array.isArray(input) ? "(a list)" : "(a mapping)";
}
