import type { Logger } from "../observability/logger.js";
import { NamespaceBudget, zeroRejections, type NamespaceUsage, type RejectionCounts } from "./namespace-budget.js";
import type { LimitName, ResolvedLimits } from "./resolved-limits.js";

/** Span of the "last second" measurements: admitted requests and CPU time. */
export const DEFAULT_USAGE_WINDOW_MS = 1000;
/** Buckets of that window, so it slides in 100 ms steps. */
export const DEFAULT_USAGE_BUCKETS = 10;
/** Inactivity after which a namespace's admission state is dropped. */
export const DEFAULT_IDLE_EVICTION_MS = 60_000;
/** Interval of the sweep that drops idle namespaces. */
export const DEFAULT_EVICTION_SWEEP_MS = 10_000;

/** Reads process CPU time, user plus system, in microseconds. */
export function processCpuMicros(): number {
  const usage = process.cpuUsage();
  return usage.user + usage.system;
}

export interface AdmissionOptions {
  /** Monotonic clock in milliseconds. Default: performance.now. */
  now?: () => number;
  /** Process CPU time in microseconds. Default: processCpuMicros. */
  cpuMicros?: () => number;
  /** Default: DEFAULT_IDLE_EVICTION_MS. */
  idleEvictionMs?: number;
  /** Interval of the eviction timer; 0 starts no timer, and the owner calls evictIdle(). Default: DEFAULT_EVICTION_SWEEP_MS. */
  sweepIntervalMs?: number;
  /** Default: DEFAULT_USAGE_WINDOW_MS. */
  usageWindowMs?: number;
  /** Default: DEFAULT_USAGE_BUCKETS. */
  usageBuckets?: number;
  logger?: Logger;
}

interface Clocks {
  now(): number;
  cpuMicros(): number;
}

/**
 * Admits requests against the per-namespace limits of one proxy process: max_rps with
 * burst, max_in_flight, a CPU time budget and a memory budget. State is kept per
 * namespace, created on the first request and dropped once the namespace is idle.
 */
export class Admission {
  readonly #budgets = new Map<string, NamespaceBudget>();
  readonly #rejectedTotals = zeroRejections();
  readonly #clocks: Clocks;
  readonly #idleEvictionMs: number;
  readonly #window: { windowMs: number; bucketCount: number };
  readonly #logger: Logger | undefined;
  #sweepTimer: NodeJS.Timeout | undefined;

  constructor(options: AdmissionOptions = {}) {
    this.#clocks = {
      now: options.now ?? (() => performance.now()),
      cpuMicros: options.cpuMicros ?? processCpuMicros,
    };
    this.#idleEvictionMs = options.idleEvictionMs ?? DEFAULT_IDLE_EVICTION_MS;
    this.#window = {
      windowMs: options.usageWindowMs ?? DEFAULT_USAGE_WINDOW_MS,
      bucketCount: options.usageBuckets ?? DEFAULT_USAGE_BUCKETS,
    };
    this.#logger = options.logger;

    const sweepIntervalMs = options.sweepIntervalMs ?? DEFAULT_EVICTION_SWEEP_MS;
    if (sweepIntervalMs > 0) {
      this.#sweepTimer = setInterval(() => this.evictIdle(), sweepIntervalMs);
      // The sweep only frees memory, so it must not keep the process alive.
      this.#sweepTimer.unref();
    }
  }

  /** Namespaces with admission state. */
  get namespaceCount(): number {
    return this.#budgets.size;
  }

  /** Rejections per limit over the life of this process, kept when namespaces are evicted. */
  get rejectedTotals(): RejectionCounts {
    return { ...this.#rejectedTotals };
  }

  /**
   * Admits one request of `namespace` that holds `requestBytes` of payload, or throws a
   * RESOURCE_EXHAUSTED PrismError naming the limit. The returned ticket counts as in
   * flight and holds the bytes until its release().
   */
  admit(namespace: string, limits: ResolvedLimits, requestBytes: number): AdmissionTicket {
    const nowMs = this.#clocks.now();
    let budget = this.#budgets.get(namespace);
    if (budget === undefined) {
      budget = new NamespaceBudget(namespace, limits, nowMs, this.#window, (limit) => this.#countRejection(limit));
      this.#budgets.set(namespace, budget);
    }

    const bytes = Math.max(0, requestBytes);
    budget.admit(limits, bytes, nowMs);
    return new AdmissionTicket(budget, bytes, this.#clocks);
  }

  /** Reads the CPU clock, for AdmissionTicket.chargeCpuSince around work done before admit(). */
  readCpuMicros(): number {
    return this.#clocks.cpuMicros();
  }

  /** Returns the namespace's current use of its limits, or undefined when it has no state. */
  snapshot(namespace: string): NamespaceUsage | undefined {
    return this.#budgets.get(namespace)?.usage(this.#clocks.now());
  }

  /** Returns the namespace's use of these limits, all zero when it has no state yet. */
  usageOf(namespace: string, limits: ResolvedLimits): NamespaceUsage {
    return (
      this.snapshot(namespace) ?? {
        namespace,
        rps: { used: 0, limit: limits.maxRps ?? null, burst: limits.maxRps === undefined ? null : limits.burst },
        inFlight: { used: 0, limit: limits.maxInFlight },
        cpuCores: { used: 0, limit: limits.cpuCores ?? null },
        memoryBytes: { used: 0, limit: limits.memoryBytes ?? null },
        rejected: zeroRejections(),
      }
    );
  }

  /** Returns the use of every namespace with state, sorted by name, which is unique. */
  snapshotAll(): NamespaceUsage[] {
    const nowMs = this.#clocks.now();
    return [...this.#budgets.values()]
      .map((budget) => budget.usage(nowMs))
      .sort((left, right) => (left.namespace < right.namespace ? -1 : 1));
  }

  /** Drops the state of idle namespaces; returns how many were dropped. */
  evictIdle(): number {
    const nowMs = this.#clocks.now();
    let evicted = 0;
    for (const [namespace, budget] of this.#budgets) {
      if (budget.isIdle(nowMs, this.#idleEvictionMs)) {
        this.#budgets.delete(namespace);
        evicted++;
      }
    }
    if (evicted > 0) {
      this.#logger?.debug({ evicted, remaining: this.#budgets.size }, "idle namespace admission state evicted");
    }
    return evicted;
  }

  /** Stops the eviction timer. Admission keeps working; idempotent. */
  close(): void {
    clearInterval(this.#sweepTimer);
    this.#sweepTimer = undefined;
  }

  [Symbol.dispose](): void {
    this.close();
  }

  #countRejection(limit: LimitName): void {
    this.#rejectedTotals[limit]++;
  }
}

/**
 * One admitted request or stream. It counts as in flight and holds its bytes until
 * release(), which its owner calls when the request ends and which is idempotent.
 * CPU time is charged only for synchronous work: measureCpu(fn) measures fn until it
 * returns, so for an async fn only the part before its first await.
 */
export class AdmissionTicket {
  readonly namespace: string;
  #budget: NamespaceBudget | undefined;
  readonly #clocks: Clocks;
  #heldBytes: number;
  #measuring = false;

  constructor(budget: NamespaceBudget, requestBytes: number, clocks: Clocks) {
    this.namespace = budget.namespace;
    this.#budget = budget;
    this.#heldBytes = requestBytes;
    this.#clocks = clocks;
  }

  get released(): boolean {
    return this.#budget === undefined;
  }

  /** Bytes this ticket holds: the request's payload plus charged buffers not yet released. */
  get heldBytes(): number {
    return this.#heldBytes;
  }

  /**
   * Runs fn and charges the process CPU time from `startMicros` to its end to the namespace.
   * By default the time starts with fn. Passing a reading of Admission.readCpuMicros()
   * taken earlier in the same synchronous run also charges the work before admit(), and
   * saves a clock read. A nested call only runs fn, so nothing is charged twice.
   */
  measureCpu<T>(fn: () => T, startMicros?: number): T {
    if (this.#budget === undefined || this.#measuring) {
      return fn();
    }

    this.#measuring = true;
    startMicros ??= this.#clocks.cpuMicros();
    try {
      return fn();
    } finally {
      this.#measuring = false;
      this.chargeCpuSince(startMicros);
    }
  }

  /**
   * Charges the CPU time since `startMicros`, a reading of Admission.readCpuMicros()
   * taken in the same synchronous run, for work such as authentication before admit().
   */
  chargeCpuSince(startMicros: number): void {
    const used = this.#clocks.cpuMicros() - startMicros;
    if (this.#budget !== undefined && used > 0) {
      this.#budget.chargeCpu(used, this.#clocks.now());
    }
  }

  /**
   * Holds `bytes` more against the namespace's memory budget, such as a message buffered
   * for a subscriber. Throws RESOURCE_EXHAUSTED, holding nothing, when they would exceed it.
   * `what` names the bytes in the message. Does nothing after release().
   */
  chargeMemory(bytes: number, what = "a message buffered for a subscriber"): void {
    if (this.#budget === undefined || bytes <= 0) {
      return;
    }
    this.#budget.chargeMemory(bytes, () => `${what} (${bytes} bytes)`, this.#clocks.now());
    this.#heldBytes += bytes;
  }

  /** Returns bytes charged by this ticket, at most those it holds; release() returns the rest. */
  releaseMemory(bytes: number): void {
    if (this.#budget === undefined || bytes <= 0) {
      return;
    }
    const returned = Math.min(bytes, this.#heldBytes);
    this.#heldBytes -= returned;
    this.#budget.releaseMemory(returned, this.#clocks.now());
  }

  /** Ends the request: it no longer counts as in flight, and every byte it holds is returned. Idempotent. */
  release(): void {
    const budget = this.#budget;
    if (budget === undefined) {
      return;
    }
    this.#budget = undefined;
    budget.finish(this.#heldBytes, this.#clocks.now());
    this.#heldBytes = 0;
  }

  [Symbol.dispose](): void {
    this.release();
  }
}
