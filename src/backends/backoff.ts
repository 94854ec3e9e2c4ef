/**
 * Reconnect delays: exponential backoff with full jitter. Attempt n waits a uniformly
 * random time between 0 and min(maxDelayMs, initialDelayMs * 2^(n-1)), so clients that
 * lost the same server spread their reconnects instead of arriving together.
 */

/** Upper bound of the first attempt's delay. */
export const DEFAULT_BACKOFF_INITIAL_DELAY_MS = 100;
/** Cap of every delay, however many attempts have failed. */
export const DEFAULT_BACKOFF_MAX_DELAY_MS = 5000;

/** Exponents above this already exceed any cap that fits in a safe integer. */
const MAX_EXPONENT = 52;

export interface BackoffOptions {
  /** Upper bound of the first delay in milliseconds; default DEFAULT_BACKOFF_INITIAL_DELAY_MS. */
  initialDelayMs?: number;
  /** Cap of every delay in milliseconds; default DEFAULT_BACKOFF_MAX_DELAY_MS. */
  maxDelayMs?: number;
  /** Source of uniform numbers in [0, 1); default Math.random. Tests pass a fixed one. */
  random?: () => number;
}

/** Backoff options with every default applied. */
export interface ResolvedBackoff {
  initialDelayMs: number;
  maxDelayMs: number;
  random: () => number;
}

/** Applies the defaults and rejects negative or non-finite delays with a TypeError. */
export function resolveBackoff(options: BackoffOptions = {}): ResolvedBackoff {
  const initialDelayMs = options.initialDelayMs ?? DEFAULT_BACKOFF_INITIAL_DELAY_MS;
  const maxDelayMs = options.maxDelayMs ?? DEFAULT_BACKOFF_MAX_DELAY_MS;

  if (!Number.isFinite(initialDelayMs) || initialDelayMs < 0) {
    throw new TypeError(`backoff initialDelayMs must be a finite number >= 0, got ${initialDelayMs}`);
  }
  if (!Number.isFinite(maxDelayMs) || maxDelayMs < initialDelayMs) {
    throw new TypeError(`backoff maxDelayMs must be finite and >= initialDelayMs (${initialDelayMs}), got ${maxDelayMs}`);
  }

  return { initialDelayMs, maxDelayMs, random: options.random ?? Math.random };
}

/** Returns the upper bound of the delay before attempt `attempt` (1 for the first retry). */
export function backoffCeilingMs(attempt: number, backoff: ResolvedBackoff): number {
  const exponent = Math.min(Math.max(Math.floor(attempt) - 1, 0), MAX_EXPONENT);
  return Math.min(backoff.maxDelayMs, backoff.initialDelayMs * 2 ** exponent);
}

/** Draws the delay in whole milliseconds before attempt `attempt` (1 for the first retry). */
export function backoffDelayMs(attempt: number, backoff: ResolvedBackoff): number {
  return Math.floor(backoff.random() * backoffCeilingMs(attempt, backoff));
}
