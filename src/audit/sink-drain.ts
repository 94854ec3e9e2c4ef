import { backoffDelayMs, type ResolvedBackoff } from "../backends/backoff.js";
import type { Logger } from "../observability/logger.js";
import type { AuditEvent } from "./audit-event.js";
import { emptyDropCounts, type DropReason, type SinkMetrics } from "./audit-metrics.js";
import type { AuditRecord } from "./audit-record.js";
import type { AuditSink } from "./audit-sink.js";
import { BoundedQueue } from "./bounded-queue.js";

/** One recorded event, shared by every sink's queue, prepared once by whichever sink reaches it first. */
export interface PendingEvent {
  readonly event: AuditEvent;
  record?: AuditRecord;
}

export type SinkState = "healthy" | "failing" | "closed";

export interface SinkDrainOptions {
  sink: AuditSink;
  /** Events the queue can hold. */
  capacity: number;
  /** Most events passed to one sink.write call. */
  batchSize: number;
  backoff: ResolvedBackoff;
  prepare: (event: AuditEvent) => AuditRecord;
  /** Called after every successful batch, so the audit log can re-check its admission state. */
  onProgress: () => void;
  logger: Logger;
}

/**
 * Moves one sink's queued events to the sink, one batch at a time, off the request
 * path. A failed batch stays at the front of the queue and is retried after a backoff
 * with jitter, so events reach the sink in the order they were recorded.
 */
export class SinkDrain {
  readonly queue: BoundedQueue<PendingEvent>;
  readonly #sink: AuditSink;
  readonly #options: SinkDrainOptions;
  readonly #log: Logger;
  readonly #dropped = emptyDropCounts();
  #written = 0;
  #errors = 0;
  #state: SinkState = "healthy";
  #failedAttempts = 0;
  #failingSince = 0;
  #scheduled: NodeJS.Immediate | undefined;
  #running: Promise<void> | undefined;
  #retryTimer: NodeJS.Timeout | undefined;
  #wakeRetry: (() => void) | undefined;
  #idleWaiters: (() => void)[] = [];

  constructor(options: SinkDrainOptions) {
    this.#options = options;
    this.#sink = options.sink;
    this.#log = options.logger;
    this.queue = new BoundedQueue(options.capacity);
  }

  get name(): string {
    return this.#sink.name;
  }

  get state(): SinkState {
    return this.#state;
  }

  metrics(): SinkMetrics {
    return { written: this.#written, dropped: { ...this.#dropped }, errors: this.#errors, queued: this.queue.length };
  }

  /** Queues an event and schedules a drain; returns false when the queue is full. O(1). */
  enqueue(pending: PendingEvent): boolean {
    if (this.#state === "closed" || !this.queue.push(pending)) {
      return false;
    }
    this.#schedule();
    return true;
  }

  countDrop(reason: DropReason, count = 1): void {
    this.#dropped[reason] += count;
  }

  /** Resolves true once the queue is empty and no write is in progress, or false after timeoutMs. */
  async waitForIdle(timeoutMs: number): Promise<boolean> {
    if (this.#idle()) {
      return true;
    }

    let timer: NodeJS.Timeout | undefined;
    const idle = new Promise<boolean>((resolve) => this.#idleWaiters.push(() => resolve(true)));
    const timeout = new Promise<boolean>((resolve) => {
      timer = setTimeout(() => resolve(false), Math.max(0, timeoutMs));
    });
    try {
      return await Promise.race([idle, timeout]);
    } finally {
      clearTimeout(timer);
    }
  }

  /**
   * Waits up to timeoutMs for the queue to drain, then stops: events still queued are
   * counted as dropped (close_timeout) and logged, and the sink is closed. A write still
   * in progress at that point may complete, but its events stay counted as dropped.
   */
  async close(timeoutMs: number): Promise<void> {
    if (this.#state === "closed") {
      return;
    }

    await this.waitForIdle(timeoutMs);
    this.#setState("closed");
    clearImmediate(this.#scheduled);
    this.#scheduled = undefined;
    clearTimeout(this.#retryTimer);
    this.#wakeRetry?.();

    const left = this.queue.discard(this.queue.length);
    if (left > 0) {
      this.countDrop("close_timeout", left);
      this.#log.error(
        { dropped: left, timeoutMs, target: this.#sink.target },
        "audit events dropped: the sink did not store them before the close deadline",
      );
    }
    this.#notifyIdle();

    try {
      await this.#sink.close();
    } catch (error) {
      this.#log.error({ err: error, target: this.#sink.target }, "closing the audit sink failed");
    }
  }

  /** A method rather than a field test, because close() changes the state while a write is awaited. */
  #isClosed(): boolean {
    return this.#state === "closed";
  }

  #idle(): boolean {
    return this.queue.length === 0 && this.#running === undefined && this.#scheduled === undefined;
  }

  /** Starts a drain on a later turn of the event loop, so record() never runs a sink's code. */
  #schedule(): void {
    if (this.#scheduled !== undefined || this.#running !== undefined) {
      return;
    }
    this.#scheduled = setImmediate(() => {
      this.#scheduled = undefined;
      this.#running = this.#run()
        .catch((error: unknown) => this.#log.error({ err: error, target: this.#sink.target }, "audit drain failed"))
        .finally(() => {
          this.#running = undefined;
          if (this.queue.length > 0 && this.#state !== "closed") {
            this.#schedule();
          } else {
            this.#notifyIdle();
          }
        });
    });
  }

  async #run(): Promise<void> {
    while (this.queue.length > 0 && this.#state !== "closed") {
      const batch = this.queue.peek(this.#options.batchSize);
      try {
        const records = batch.map((pending) => (pending.record ??= this.#options.prepare(pending.event)));
        await this.#sink.write(records);
      } catch (error) {
        if (this.#isClosed()) {
          return;
        }
        this.#writeFailed(error);
        await this.#waitBeforeRetry();
        continue;
      }

      if (this.#isClosed()) {
        return;
      }
      this.queue.discard(batch.length);
      this.#written += batch.length;
      this.#writeSucceeded();
      this.#options.onProgress();
    }
  }

  #writeFailed(error: unknown): void {
    this.#errors++;
    this.#failedAttempts++;
    if (this.#state === "healthy") {
      this.#failingSince = Date.now();
      this.#setState("failing", { err: error, queued: this.queue.length });
      return;
    }
    // While failing, every tenth attempt is logged, so a long outage stays visible without a line per retry.
    if (this.#failedAttempts % 10 === 0) {
      this.#log.warn(
        { err: error, failedAttempts: this.#failedAttempts, queued: this.queue.length, target: this.#sink.target },
        "audit sink still failing",
      );
    }
  }

  #writeSucceeded(): void {
    if (this.#state !== "failing") {
      return;
    }
    this.#setState("healthy", { failedAttempts: this.#failedAttempts, failingMs: Date.now() - this.#failingSince });
    this.#failedAttempts = 0;
  }

  async #waitBeforeRetry(): Promise<void> {
    const delayMs = backoffDelayMs(this.#failedAttempts, this.#options.backoff);
    await new Promise<void>((resolve) => {
      this.#wakeRetry = resolve;
      this.#retryTimer = setTimeout(resolve, delayMs);
    });
    this.#retryTimer = undefined;
    this.#wakeRetry = undefined;
  }

  #notifyIdle(): void {
    if (!this.#idle()) {
      return;
    }
    const waiters = this.#idleWaiters;
    this.#idleWaiters = [];
    waiters.forEach((wake) => wake());
  }

  #setState(next: SinkState, fields: Record<string, unknown> = {}): void {
    const previous = this.#state;
    this.#state = next;
    const record = { ...fields, from: previous, to: next, target: this.#sink.target };
    const message = `audit sink ${previous} -> ${next}`;
    if (next === "failing") {
      this.#log.warn(record, message);
    } else {
      this.#log.info(record, message);
    }
  }
}
