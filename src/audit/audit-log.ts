import { resolveBackoff, type BackoffOptions } from "../backends/backoff.js";
import { Code, PrismError } from "../errors/prism-error.js";
import type { Logger } from "../observability/logger.js";
import {
  DEFAULT_AUDIT_BATCH_SIZE,
  DEFAULT_AUDIT_FLUSH_TIMEOUT_MS,
  DEFAULT_AUDIT_QUEUE_CAPACITY,
  DEFAULT_OVERFLOW_POLICY,
  type OverflowPolicy,
} from "./audit-defaults.js";
import type { AuditEvent, AuditEventType } from "./audit-event.js";
import type { AuditMetrics, SinkMetrics } from "./audit-metrics.js";
import { prepareRecord } from "./audit-record.js";
import type { AuditSink } from "./audit-sink.js";
import { RateLimitedWarning } from "./rate-limited-warning.js";
import type { ResourceRedaction } from "./resource-redaction.js";
import { SinkDrain, type SinkState } from "./sink-drain.js";

export const AUDIT_BEHIND_MESSAGE = "audit trail is behind; request rejected by audit.overflow_policy=reject";

/** Event types that record() keeps, by group. It ignores the others. */
export interface AuditEventSelection {
  session: boolean;
  connection: boolean;
  request: boolean;
}

export interface AuditLogOptions {
  sinks: readonly AuditSink[];
  logger: Logger;
  /** Default DEFAULT_OVERFLOW_POLICY. */
  overflowPolicy?: OverflowPolicy;
  /** Events per sink queue before the policy applies; default DEFAULT_AUDIT_QUEUE_CAPACITY. */
  queueCapacity?: number;
  /** Default DEFAULT_AUDIT_BATCH_SIZE. */
  batchSize?: number;
  /** Default DEFAULT_AUDIT_FLUSH_TIMEOUT_MS. */
  closeTimeoutMs?: number;
  /** Set to replace resource names with their HMAC. */
  redaction?: ResourceRedaction;
  /** Default: every type. */
  events?: AuditEventSelection;
  /** Retry delays after a failed sink write; defaults as in src/backends/backoff.ts. */
  backoff?: BackoffOptions;
}

const ALL_EVENTS: AuditEventSelection = { session: true, connection: true, request: true };

/**
 * The audit trail of one proxy. record() is synchronous and O(1) per sink: it appends
 * the event to each sink's bounded queue, and each queue is drained to its sink on later
 * turns of the event loop. When a sink fails or falls behind and its queue fills, the
 * overflow policy applies:
 *
 * - drop: the event is dropped for that sink, counted (prism_audit_events_dropped_total,
 *   reason queue_full) and reported in a rate-limited warning. Requests are never held.
 * - reject: accepting() turns false and admit() throws UNAVAILABLE, so the pipeline
 *   rejects new requests until the queue has room again. Events of requests already
 *   admitted and of ending sessions still enter a reserve of the same size. Only when
 *   that reserve is full too is an event dropped (reason reserve_full) and logged at
 *   error.
 */
export class AuditLog {
  readonly policy: OverflowPolicy;
  readonly #drains: SinkDrain[];
  readonly #capacity: number;
  readonly #events: AuditEventSelection;
  readonly #closeTimeoutMs: number;
  readonly #log: Logger;
  readonly #dropWarning: RateLimitedWarning;
  readonly #reserveWarning: RateLimitedWarning;
  readonly #closedWarning: RateLimitedWarning;
  readonly #rejectWarning: RateLimitedWarning;
  #recorded = 0;
  #rejectedRequests = 0;
  #accepting = true;
  #closed = false;
  #closing: Promise<void> | undefined;

  constructor(options: AuditLogOptions) {
    this.policy = options.overflowPolicy ?? DEFAULT_OVERFLOW_POLICY;
    this.#capacity = options.queueCapacity ?? DEFAULT_AUDIT_QUEUE_CAPACITY;
    this.#events = options.events ?? ALL_EVENTS;
    this.#closeTimeoutMs = options.closeTimeoutMs ?? DEFAULT_AUDIT_FLUSH_TIMEOUT_MS;
    this.#log = options.logger.child({ component: "audit" });
    this.#dropWarning = new RateLimitedWarning(this.#log, "warn");
    this.#reserveWarning = new RateLimitedWarning(this.#log, "error");
    this.#closedWarning = new RateLimitedWarning(this.#log, "warn");
    this.#rejectWarning = new RateLimitedWarning(this.#log, "warn");

    checkSinkNames(options.sinks);
    const batchSize = options.batchSize ?? DEFAULT_AUDIT_BATCH_SIZE;
    if (!Number.isInteger(batchSize) || batchSize < 1) {
      throw new RangeError(`audit batch size must be an integer of at least 1, got ${batchSize}`);
    }
    const backoff = resolveBackoff(options.backoff);
    const preparation = { redaction: options.redaction };
    // Under reject, the second half of each queue is the reserve for events of admitted requests.
    const hardCapacity = this.policy === "reject" ? 2 * this.#capacity : this.#capacity;
    this.#drains = options.sinks.map(
      (sink) =>
        new SinkDrain({
          sink,
          capacity: hardCapacity,
          batchSize,
          backoff,
          prepare: (event) => prepareRecord(event, preparation),
          onProgress: () => this.#updateAdmission(),
          logger: this.#log.child({ sink: sink.name }),
        }),
    );
  }

  /** Returns whether the proxy may admit a request now. Under the drop policy it is always true. */
  accepting(): boolean {
    return this.#accepting;
  }

  /** Throws UNAVAILABLE when a request must not run because its audit record could not be queued. */
  admit(): void {
    if (this.#accepting) {
      return;
    }
    this.#rejectedRequests++;
    this.#rejectWarning.report({ queued: this.#maxQueued() }, "request rejected: the audit trail is behind");
    throw new PrismError(Code.Unavailable, "BACKEND_UNAVAILABLE", AUDIT_BEHIND_MESSAGE);
  }

  /** Returns whether record() keeps events of this type, so callers can skip building events it would ignore. */
  records(type: AuditEventType): boolean {
    if (this.#drains.length === 0) {
      return false;
    }
    switch (type) {
      case "session_created":
      case "session_destroyed":
        return this.#events.session;
      case "connection_established":
      case "connection_closed":
        return this.#events.connection;
      case "request":
        return this.#events.request;
    }
  }

  /**
   * Queues an event for every sink. It does not wait, and sink code runs only on a
   * later turn of the event loop, scheduled with setImmediate.
   */
  record(event: AuditEvent): void {
    if (!this.records(event.event) || this.#drains.length === 0) {
      return;
    }
    this.#recorded++;
    const pending = { event };

    for (const drain of this.#drains) {
      if (drain.enqueue(pending)) {
        continue;
      }
      this.#countDrop(drain, event);
    }
    this.#updateAdmission();
  }

  metrics(): AuditMetrics {
    const sinks: Record<string, SinkMetrics> = {};
    for (const drain of this.#drains) {
      sinks[drain.name] = drain.metrics();
    }
    return { recorded: this.#recorded, rejectedRequests: this.#rejectedRequests, sinks };
  }

  /** Health of each sink by name. */
  sinkStates(): Record<string, SinkState> {
    return Object.fromEntries(this.#drains.map((drain) => [drain.name, drain.state]));
  }

  /** Resolves true once every queued event is stored, or false after timeoutMs. Keeps the log open. */
  async flush(timeoutMs = this.#closeTimeoutMs): Promise<boolean> {
    const results = await Promise.all(this.#drains.map((drain) => drain.waitForIdle(timeoutMs)));
    return results.every(Boolean);
  }

  /**
   * Waits up to timeoutMs for the sinks to store what is queued, then closes them.
   * Events recorded meanwhile, such as those of requests still finishing, are flushed
   * too. Events left at the deadline, or recorded once a sink is closed, are counted as
   * dropped and logged. Under the reject policy accepting() is false from the first
   * call. Idempotent: later calls return the first call's promise.
   */
  close(timeoutMs = this.#closeTimeoutMs): Promise<void> {
    this.#closed = true;
    this.#closing ??= this.#shutdown(timeoutMs);
    return this.#closing;
  }

  async [Symbol.asyncDispose](): Promise<void> {
    await this.close();
  }

  async #shutdown(timeoutMs: number): Promise<void> {
    this.#updateAdmission();
    await Promise.all(this.#drains.map((drain) => drain.close(timeoutMs)));
    const metrics = this.metrics();
    this.#log.info({ recorded: metrics.recorded, sinks: metrics.sinks }, "audit log closed");
  }

  #countDrop(drain: SinkDrain, event: AuditEvent): void {
    const fields = { sink: drain.name, event: event.event, queued: drain.queue.length };
    if (drain.state === "closed") {
      drain.countDrop("closed");
      this.#closedWarning.report(fields, "audit event dropped: the audit log is closed");
    } else if (this.policy === "drop") {
      drain.countDrop("queue_full");
      this.#dropWarning.report(fields, "audit event dropped: the sink's queue is full (audit.overflow_policy=drop)");
    } else {
      drain.countDrop("reserve_full");
      this.#reserveWarning.report(
        fields,
        "audit event dropped: the sink's queue and its reserve for admitted requests are full (audit.overflow_policy=reject)",
      );
    }
  }

  /** Re-computes accepting() and logs when it changes; only the reject policy ever turns it false. */
  #updateAdmission(): void {
    const next = this.#computeAccepting();
    if (next === this.#accepting) {
      return;
    }
    this.#accepting = next;
    if (next) {
      this.#log.info({ capacity: this.#capacity }, "audit trail caught up; admitting requests again");
    } else if (!this.#closed) {
      this.#log.warn(
        { capacity: this.#capacity, queued: this.#maxQueued() },
        "audit trail is behind; rejecting requests (audit.overflow_policy=reject)",
      );
    }
  }

  #computeAccepting(): boolean {
    if (this.policy === "drop") {
      return true;
    }
    if (this.#closed) {
      return false;
    }
    return this.#drains.every((drain) => drain.queue.length < this.#capacity);
  }

  #maxQueued(): number {
    return Math.max(0, ...this.#drains.map((drain) => drain.queue.length));
  }
}

/** Sink names label metrics, so two sinks with one name would merge their counters. */
function checkSinkNames(sinks: readonly AuditSink[]): void {
  const seen = new Set<string>();
  for (const sink of sinks) {
    if (seen.has(sink.name)) {
      throw new RangeError(`two audit sinks are named ${JSON.stringify(sink.name)}; give each sink its own name`);
    }
    seen.add(sink.name);
  }
}
