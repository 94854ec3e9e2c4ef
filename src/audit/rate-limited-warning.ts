import type { Logger } from "../observability/logger.js";

/** Shortest time between two log records of one repeated condition. */
export const DEFAULT_WARNING_INTERVAL_MS = 10_000;

/**
 * Logs a repeated condition at most once per interval. The first occurrence is logged
 * at once, and each later record carries the number of occurrences since the previous
 * one. A flood of dropped events thus costs one log line per interval.
 */
export class RateLimitedWarning {
  #lastLoggedAt = Number.NEGATIVE_INFINITY;
  #suppressed = 0;

  constructor(
    private readonly logger: Logger,
    private readonly level: "warn" | "error",
    private readonly intervalMs = DEFAULT_WARNING_INTERVAL_MS,
  ) {}

  /** Counts one occurrence and logs it unless a record was written within the interval. */
  report(fields: Record<string, unknown>, message: string, now = Date.now()): void {
    if (now - this.#lastLoggedAt < this.intervalMs) {
      this.#suppressed++;
      return;
    }

    const occurrences = this.#suppressed + 1;
    this.#suppressed = 0;
    this.#lastLoggedAt = now;
    this.logger[this.level]({ ...fields, occurrences }, message);
  }
}
