import { cpuLimitedError, inFlightExceededError, memoryExceededError, rateLimitedError } from "./admission-errors.js";
import { RateLimiter } from "./rate-limiter.js";
import type { LimitName, ResolvedLimits } from "./resolved-limits.js";
import { SlidingWindow } from "./sliding-window.js";

export type RejectionCounts = Record<LimitName, number>;

export function zeroRejections(): RejectionCounts {
  return { max_rps: 0, max_in_flight: 0, cpu: 0, memory: 0 };
}

/** Use of one limit; `limit` is null when the limit is not set. */
export interface LimitUsage {
  used: number;
  limit: number | null;
}

/** A namespace's use of its limits, for `prismctl metrics namespace` and the metrics endpoint. */
export interface NamespaceUsage {
  namespace: string;
  /** Requests admitted over the last second, in requests per second; `burst` is null without a rate limit. */
  rps: LimitUsage & { burst: number | null };
  /** Requests and open streams running now. */
  inFlight: LimitUsage;
  /** CPU time charged over the last second, in cores. */
  cpuCores: LimitUsage;
  /** Bytes held in flight now. */
  memoryBytes: LimitUsage;
  /** Requests rejected per limit since this namespace's state was created. */
  rejected: RejectionCounts;
}

/** Window and bucket count of the measurements over "the last second". */
export interface WindowSettings {
  windowMs: number;
  bucketCount: number;
}

/**
 * The admission state of one namespace: rate limiter, in-flight count, bytes held, and
 * the recent admissions and CPU time. Every check runs before any state changes, so a
 * rejected request leaves no trace except its rejection count.
 */
export class NamespaceBudget {
  readonly namespace: string;
  #limits: ResolvedLimits;
  #rateLimiter: RateLimiter | undefined;
  readonly #admitted: SlidingWindow;
  readonly #cpuMicros: SlidingWindow;
  readonly #rejected = zeroRejections();
  readonly #onRejected: (limit: LimitName) => void;
  #inFlight = 0;
  #heldBytes = 0;
  #lastActivityMs: number;

  constructor(namespace: string, limits: ResolvedLimits, nowMs: number, window: WindowSettings, onRejected: (limit: LimitName) => void) {
    this.namespace = namespace;
    this.#limits = limits;
    this.#admitted = new SlidingWindow(window.windowMs, window.bucketCount);
    this.#cpuMicros = new SlidingWindow(window.windowMs, window.bucketCount);
    this.#onRejected = onRejected;
    this.#lastActivityMs = nowMs;
    this.#applyLimits(limits, nowMs);
  }

  get inFlight(): number {
    return this.#inFlight;
  }

  get heldBytes(): number {
    return this.#heldBytes;
  }

  /**
   * Admits one request holding `requestBytes`, or throws RESOURCE_EXHAUSTED. The checks
   * run in the order max_in_flight, memory, cpu, max_rps, so a request rejected for
   * another limit does not use up the rate.
   */
  admit(limits: ResolvedLimits, requestBytes: number, nowMs: number): void {
    this.#lastActivityMs = nowMs;
    if (limits !== this.#limits) {
      this.#applyLimits(limits, nowMs);
    }

    if (this.#inFlight >= limits.maxInFlight) {
      throw this.#reject("max_in_flight", inFlightExceededError(this.namespace, limits, this.#inFlight));
    }
    this.#checkMemory(requestBytes, () => `this request of ${requestBytes} bytes`);
    this.#checkCpu(nowMs);

    const waitMs = this.#rateLimiter?.tryAcquire(nowMs) ?? 0;
    if (waitMs > 0) {
      throw this.#reject("max_rps", rateLimitedError(this.namespace, limits, waitMs));
    }

    this.#inFlight++;
    this.#heldBytes += requestBytes;
    this.#admitted.add(nowMs, 1);
  }

  /** Ends one admitted request and frees the bytes it held. */
  finish(heldBytes: number, nowMs: number): void {
    this.#inFlight = Math.max(0, this.#inFlight - 1);
    this.releaseMemory(heldBytes, nowMs);
  }

  /** Adds bytes to those held in flight, or throws RESOURCE_EXHAUSTED when they would exceed the memory budget. */
  chargeMemory(bytes: number, describe: () => string, nowMs: number): void {
    this.#lastActivityMs = nowMs;
    this.#checkMemory(bytes, describe);
    this.#heldBytes += bytes;
  }

  releaseMemory(bytes: number, nowMs: number): void {
    this.#lastActivityMs = nowMs;
    this.#heldBytes = Math.max(0, this.#heldBytes - bytes);
  }

  chargeCpu(micros: number, nowMs: number): void {
    this.#lastActivityMs = nowMs;
    this.#cpuMicros.add(nowMs, micros);
  }

  /**
   * True when nothing runs or is held, the rate limiter has refilled, and the namespace
   * has been inactive for idleMs, so dropping this state changes no future decision.
   */
  isIdle(nowMs: number, idleMs: number): boolean {
    return (
      this.#inFlight === 0 &&
      this.#heldBytes === 0 &&
      nowMs - this.#lastActivityMs >= idleMs &&
      (this.#rateLimiter?.isIdle(nowMs) ?? true)
    );
  }

  usage(nowMs: number): NamespaceUsage {
    const limits = this.#limits;
    const seconds = this.#admitted.windowMs / 1000;
    return {
      namespace: this.namespace,
      rps: {
        used: this.#admitted.total(nowMs) / seconds,
        limit: limits.maxRps ?? null,
        burst: limits.maxRps === undefined ? null : limits.burst,
      },
      inFlight: { used: this.#inFlight, limit: limits.maxInFlight },
      cpuCores: { used: this.#usedCores(nowMs), limit: limits.cpuCores ?? null },
      memoryBytes: { used: this.#heldBytes, limit: limits.memoryBytes ?? null },
      rejected: { ...this.#rejected },
    };
  }

  #checkMemory(bytes: number, describe: () => string): void {
    const budget = this.#limits.memoryBytes;
    if (budget !== undefined && this.#heldBytes + bytes > budget) {
      throw this.#reject("memory", memoryExceededError(this.namespace, this.#limits, this.#heldBytes, describe(), bytes));
    }
  }

  #checkCpu(nowMs: number): void {
    const cores = this.#limits.cpuCores;
    if (cores === undefined) {
      return;
    }

    const budgetMicros = cores * this.#cpuMicros.windowMs * 1000;
    if (this.#cpuMicros.total(nowMs) > budgetMicros) {
      const waitMs = this.#cpuMicros.msUntilAtMost(nowMs, budgetMicros);
      throw this.#reject("cpu", cpuLimitedError(this.namespace, this.#limits, this.#usedCores(nowMs), waitMs));
    }
  }

  #usedCores(nowMs: number): number {
    return this.#cpuMicros.total(nowMs) / (this.#cpuMicros.windowMs * 1000);
  }

  #reject<E>(limit: LimitName, error: E): E {
    this.#rejected[limit]++;
    this.#onRejected(limit);
    return error;
  }

  #applyLimits(limits: ResolvedLimits, nowMs: number): void {
    this.#limits = limits;
    if (limits.maxRps === undefined) {
      this.#rateLimiter = undefined;
      return;
    }

    const rate = { maxRps: limits.maxRps, burst: limits.burst };
    if (this.#rateLimiter === undefined) {
      this.#rateLimiter = new RateLimiter(rate, nowMs);
    } else {
      this.#rateLimiter.reconfigure(rate, nowMs);
    }
  }
}
