/**
 * A pool of connections to one backend, generic over the connection type.
 *
 * No connection exists before the first acquire. An acquire takes the most recently
 * idle healthy connection. Failing that, it opens one while the pool is below maxSize
 * and, when the pool shares a capacity budget, can take a slot of it. Otherwise the acquire waits in a
 * FIFO queue until a connection is released, the timeout passes (RESOURCE_EXHAUSTED) or
 * its signal aborts (CANCELLED). A released connection goes to the first waiter, or to
 * the idle list, from which the idle timeout closes it. A destroyed connection is never
 * lent again.
 *
 * The pool moves open -> draining -> closed, in #setState only. close() rejects the
 * waiters, closes the idle connections, waits up to a deadline for leased ones, then
 * closes those still leased.
 */

import { RateLimitedWarning } from "../audit/rate-limited-warning.js";
import type { PrismError } from "../errors/prism-error.js";
import type { Logger } from "../observability/logger.js";
import type { BudgetMember, CapacityBudget } from "./capacity-budget.js";
import type { ConnectionFactory } from "./connection-factory.js";
import { IdleList, type PooledConnection } from "./idle-list.js";
import { PoolLease, type Lease } from "./lease.js";
import { DEFAULT_ACQUIRE_TIMEOUT_MS, DEFAULT_CLOSE_TIMEOUT_MS, DEFAULT_IDLE_CONNECTION_TIMEOUT_MS } from "./pool-defaults.js";
import {
  acquireCancelledError,
  budgetExhaustedError,
  openFailedError,
  openTimedOutError,
  poolClosedError,
  poolExhaustedError,
} from "./pool-errors.js";
import type { ConnectionCloseReason, PoolEvent, PoolEventListener } from "./pool-events.js";
import type { AcquireOptions, ConnectionPoolOptions, PoolCloseOptions } from "./pool-options.js";
import type { PoolState, PoolStats } from "./pool-stats.js";
import { WaitQueue } from "./wait-queue.js";

export class ConnectionPool<C> implements AsyncDisposable {
  readonly name: string;
  readonly maxSize: number;
  readonly limitKey: string;
  readonly #factory: ConnectionFactory<C>;
  readonly #budget: CapacityBudget | undefined;
  readonly #acquireTimeoutMs: number;
  readonly #closeTimeoutMs: number;
  readonly #log: Logger;
  readonly #onEvent: PoolEventListener | undefined;
  readonly #onUnused: (() => void) | undefined;
  readonly #member: BudgetMember;
  readonly #timeoutWarning: RateLimitedWarning;
  readonly #openFailureWarning: RateLimitedWarning;

  #state: PoolState = "open";
  readonly #idle: IdleList<C>;
  readonly #leased = new Set<PooledConnection<C>>();
  readonly #waiters: WaitQueue<Lease<C>>;
  #opening = 0;
  #closingCount = 0;
  #created = 0;
  #destroyed = 0;
  #timeouts = 0;
  #failedOpens = 0;
  /** Aborts the create() calls in flight when the pool closes. */
  readonly #abort = new AbortController();
  /** Opens and closes in flight, which close() waits for. */
  readonly #inFlight = new Set<Promise<void>>();
  #closing: Promise<void> | undefined;
  #closeReason: ConnectionCloseReason = "shutdown";
  /** Set while close() waits for the leased connections to come back. */
  #onDrained: (() => void) | undefined;

  constructor(options: ConnectionPoolOptions<C>) {
    const name = options.name;
    this.name = name;
    this.maxSize = checkedInteger(options.maxSize, 1, "maxSize", name);
    this.limitKey = options.limitKey;
    this.#factory = options.factory;
    this.#budget = options.budget;
    this.#acquireTimeoutMs = checkedInteger(options.acquireTimeoutMs ?? DEFAULT_ACQUIRE_TIMEOUT_MS, 1, "acquireTimeoutMs", name);
    this.#closeTimeoutMs = checkedInteger(options.closeTimeoutMs ?? DEFAULT_CLOSE_TIMEOUT_MS, 0, "closeTimeoutMs", name);
    const idleTimeoutMs = checkedInteger(options.idleTimeoutMs ?? DEFAULT_IDLE_CONNECTION_TIMEOUT_MS, 0, "idleTimeoutMs", name);
    this.#log = options.logger.child({ component: "connection-pool", pool: name });
    this.#onEvent = options.onEvent;
    this.#onUnused = options.onUnused;
    this.#timeoutWarning = new RateLimitedWarning(this.#log, "warn");
    this.#openFailureWarning = new RateLimitedWarning(this.#log, "warn");

    this.#idle = new IdleList<C>(idleTimeoutMs, (pooled) => void this.#destroy(pooled, "idle_timeout"));
    this.#waiters = new WaitQueue<Lease<C>>({
      timeoutMs: this.#acquireTimeoutMs,
      timeoutError: () => this.#timedOut(),
      cancelError: (reason) => acquireCancelledError(name, reason),
      onLeave: () => this.#afterWaiterLeft(),
    });

    this.#member = {
      name,
      offerSlot: () => this.#acceptSlot(),
      oldestIdleSince: () => this.#idle.oldestIdleSince,
      evictIdle: () => this.#evictLongestIdle(),
    };
    this.#budget?.join(this.#member);
  }

  get state(): PoolState {
    return this.#state;
  }

  /** Whether no connection is leased or being opened and no request waits. */
  get unused(): boolean {
    return this.#leased.size === 0 && this.#waiters.length === 0 && this.#opening === 0;
  }

  /**
   * Lends a connection. Rejects with RESOURCE_EXHAUSTED when the pool's limit or its
   * budget kept the request waiting past the acquire timeout, and with CANCELLED when
   * the signal aborts. Rejects with UNAVAILABLE when opening a connection failed or took
   * longer than the acquire timeout, or when the pool is closing.
   */
  acquire(options: AcquireOptions = {}): Promise<Lease<C>> {
    if (this.#state !== "open") {
      return Promise.reject(poolClosedError(this.name));
    }
    const signal = options.signal;
    if (signal?.aborted === true) {
      return Promise.reject(acquireCancelledError(this.name, signal.reason));
    }

    const leased = this.#waiters.wait(signal);
    this.#dispatch();
    return leased;
  }

  stats(): PoolStats {
    return {
      name: this.name,
      state: this.#state,
      size: this.#leased.size + this.#idle.length,
      inUse: this.#leased.size,
      idle: this.#idle.length,
      opening: this.#opening,
      closing: this.#closingCount,
      waiting: this.#waiters.length,
      max: this.maxSize,
      created: this.#created,
      destroyed: this.#destroyed,
      timeouts: this.#timeouts,
      failedOpens: this.#failedOpens,
    };
  }

  /**
   * Closes the pool and every connection it opened, and resolves once all are closed.
   * Idempotent: later calls return the first call's promise and ignore their options.
   */
  close(options: PoolCloseOptions = {}): Promise<void> {
    this.#closing ??= this.#close(options.reason ?? "shutdown", options.timeoutMs ?? this.#closeTimeoutMs);
    return this.#closing;
  }

  [Symbol.asyncDispose](): Promise<void> {
    return this.close();
  }

  /** Serves waiters from the idle list, then opens connections for the rest while the limits allow. */
  #dispatch(): void {
    if (this.#state !== "open") {
      return;
    }

    while (this.#waiters.length > 0) {
      const pooled = this.#takeIdle();
      if (pooled === undefined) {
        break;
      }
      this.#lendToFirstWaiter(pooled);
    }

    while (this.#waiters.length > this.#opening) {
      if (this.#size() >= this.maxSize) {
        return;
      }
      if (this.#budget !== undefined && !this.#budget.tryTake()) {
        this.#budget.enqueue(this.#member);
        return;
      }
      this.#open();
    }
  }

  /** Takes the most recently idle connection, closing each unhealthy one it finds on the way. */
  #takeIdle(): PooledConnection<C> | undefined {
    for (;;) {
      const pooled = this.#idle.popNewest();
      if (pooled === undefined || this.#isHealthy(pooled)) {
        return pooled;
      }
      this.#log.info({ connectionId: pooled.id }, "closing an unhealthy idle connection");
      void this.#destroy(pooled, "unhealthy");
    }
  }

  /** Lends the connection to the longest-waiting request. Returns false when no request waits. */
  #lendToFirstWaiter(pooled: PooledConnection<C>): boolean {
    return this.#waiters.serveFirst(() => {
      this.#leased.add(pooled);
      return new PoolLease(pooled.connection, pooled.id, {
        release: () => this.#release(pooled),
        destroy: (error: unknown) => this.#destroyLeased(pooled, error),
      });
    });
  }

  #release(pooled: PooledConnection<C>): void {
    if (!this.#leased.delete(pooled)) {
      // close() already closed it after its deadline.
      return;
    }

    if (this.#state !== "open") {
      void this.#destroy(pooled, this.#closeReason);
    } else if (!this.#isHealthy(pooled)) {
      void this.#destroy(pooled, "unhealthy");
    } else if (!this.#lendToFirstWaiter(pooled)) {
      this.#makeIdle(pooled);
    }

    this.#checkDrained();
    this.#notifyIfUnused();
  }

  #destroyLeased(pooled: PooledConnection<C>, error: unknown): Promise<void> {
    if (!this.#leased.delete(pooled)) {
      return Promise.resolve();
    }

    this.#log.info({ connectionId: pooled.id, err: error }, "closing a connection that failed");
    const closed = this.#destroy(pooled, this.#state === "open" ? "backend_error" : this.#closeReason);
    this.#checkDrained();
    return closed;
  }

  #makeIdle(pooled: PooledConnection<C>): void {
    this.#idle.push(pooled);
    this.#budget?.noteIdle();
  }

  #open(): void {
    this.#opening++;
    const opened = this.#openOne().finally(() => this.#inFlight.delete(opened));
    this.#inFlight.add(opened);
  }

  async #openOne(): Promise<void> {
    let connection: C;
    try {
      connection = await this.#factory.create(this.#abort.signal);
    } catch (error: unknown) {
      this.#opening--;
      this.#failedOpens++;
      this.#budget?.release();
      this.#onOpenFailed(error);
      return;
    }

    this.#opening--;
    this.#created++;
    const pooled: PooledConnection<C> = { connection, id: this.#describe(connection), openedAt: Date.now(), idleSince: 0 };
    this.#emit({ event: "connection_established", pool: this.name, connection_id: pooled.id });

    if (this.#state !== "open") {
      void this.#destroy(pooled, this.#closeReason);
      return;
    }

    if (!this.#lendToFirstWaiter(pooled)) {
      this.#makeIdle(pooled);
    }
    this.#dispatch();
    this.#notifyIfUnused();
  }

  /** Fails the longest-waiting request with the error, so each failed open fails at most one request. */
  #onOpenFailed(error: unknown): void {
    if (this.#state !== "open") {
      return;
    }

    this.#openFailureWarning.report({ err: error }, "opening a pooled connection failed");
    this.#waiters.rejectFirst(openFailedError(this.name, error));
    this.#afterWaiterLeft();
    this.#dispatch();
  }

  /** Closes a connection that is in no list any more; the returned promise never rejects. */
  #destroy(pooled: PooledConnection<C>, reason: ConnectionCloseReason): Promise<void> {
    this.#closingCount++;
    const closed = this.#destroyOne(pooled, reason).finally(() => this.#inFlight.delete(closed));
    this.#inFlight.add(closed);
    return closed;
  }

  async #destroyOne(pooled: PooledConnection<C>, reason: ConnectionCloseReason): Promise<void> {
    try {
      await this.#factory.destroy(pooled.connection);
    } catch (error: unknown) {
      this.#log.warn({ err: error, connectionId: pooled.id }, "closing a pooled connection failed; the pool counts it as closed");
    }

    this.#closingCount--;
    this.#destroyed++;
    this.#emit({
      event: "connection_closed",
      pool: this.name,
      connection_id: pooled.id,
      duration_ms: Date.now() - pooled.openedAt,
      reason,
    });
    this.#budget?.release();
    this.#dispatch();
    this.#notifyIfUnused();
  }

  #evictLongestIdle(): Promise<void> | undefined {
    const pooled = this.#idle.shiftOldest();
    return pooled === undefined ? undefined : this.#destroy(pooled, "reclaimed");
  }

  /** Takes a budget slot handed over by a closed connection, if a waiter still needs one. */
  #acceptSlot(): boolean {
    if (this.#state !== "open" || this.#waiters.length <= this.#opening || this.#size() >= this.maxSize) {
      return false;
    }

    this.#open();
    if (this.#waiters.length > this.#opening) {
      this.#budget?.enqueue(this.#member);
    }
    return true;
  }

  /** Counts a timed-out acquire and names the limit that kept it waiting. */
  #timedOut(): PrismError {
    this.#timeouts++;
    const error = this.#waitFailure();
    this.#timeoutWarning.report({ timeouts: this.#timeouts, waiting: this.#waiters.length }, error.rawMessage);
    return error;
  }

  #waitFailure(): PrismError {
    if (this.#size() >= this.maxSize) {
      return poolExhaustedError(this.name, this.maxSize, this.limitKey, this.#acquireTimeoutMs);
    }
    if (this.#budget !== undefined && this.#budget.isWaiting(this.#member)) {
      return budgetExhaustedError(this.name, this.#budget.limit, this.#budget.limitKey, this.#acquireTimeoutMs);
    }
    return openTimedOutError(this.name, this.#acquireTimeoutMs);
  }

  #afterWaiterLeft(): void {
    if (this.#waiters.length <= this.#opening) {
      this.#budget?.dequeue(this.#member);
    }
    this.#notifyIfUnused();
  }

  async #close(reason: ConnectionCloseReason, timeoutMs: number): Promise<void> {
    this.#closeReason = reason;
    this.#setState("draining");
    this.#abort.abort(poolClosedError(this.name));
    this.#budget?.leave(this.#member);

    this.#waiters.rejectAll(poolClosedError(this.name));
    for (const pooled of this.#idle.close()) {
      void this.#destroy(pooled, reason);
    }

    await this.#waitForLeases(timeoutMs);
    if (this.#leased.size > 0) {
      this.#log.warn({ inUse: this.#leased.size, timeoutMs }, "closing connections still leased after the close timeout");
    }
    for (const pooled of [...this.#leased]) {
      this.#leased.delete(pooled);
      void this.#destroy(pooled, reason);
    }

    // An open that settles during the wait may start one more close, so loop until none is left.
    while (this.#inFlight.size > 0) {
      await Promise.allSettled([...this.#inFlight]);
    }
    this.#setState("closed");
  }

  #waitForLeases(timeoutMs: number): Promise<void> {
    if (this.#leased.size === 0) {
      return Promise.resolve();
    }

    return new Promise<void>((resolve) => {
      const finish = (): void => {
        clearTimeout(timer);
        this.#onDrained = undefined;
        resolve();
      };
      const timer = setTimeout(finish, timeoutMs);
      this.#onDrained = finish;
    });
  }

  #checkDrained(): void {
    if (this.#onDrained !== undefined && this.#leased.size === 0) {
      this.#onDrained();
    }
  }

  /** The only place that changes the state. */
  #setState(next: PoolState): void {
    const previous = this.#state;
    if (previous === next) {
      return;
    }
    this.#state = next;
    this.#log.info({ from: previous, to: next }, `connection pool ${previous} -> ${next}`);
  }

  #notifyIfUnused(): void {
    if (this.#state === "open" && this.unused) {
      this.#onUnused?.();
    }
  }

  /** Connections counted against maxSize. */
  #size(): number {
    return this.#idle.length + this.#leased.size + this.#opening + this.#closingCount;
  }

  #isHealthy(pooled: PooledConnection<C>): boolean {
    try {
      return this.#factory.isHealthy(pooled.connection);
    } catch (error: unknown) {
      this.#log.warn({ err: error, connectionId: pooled.id }, "the health check threw; the connection counts as unhealthy");
      return false;
    }
  }

  #describe(connection: C): string {
    try {
      return this.#factory.describe(connection).id;
    } catch (error: unknown) {
      this.#log.warn({ err: error }, "describing a connection failed; its id is reported as unknown");
      return "unknown";
    }
  }

  #emit(event: PoolEvent): void {
    try {
      this.#onEvent?.(event);
    } catch (error: unknown) {
      this.#log.error({ err: error, event: event.event }, "a pool event listener threw; the event was not delivered");
    }
  }
}

function checkedInteger(value: number, minimum: number, option: string, pool: string): number {
  if (!Number.isInteger(value) || value < minimum) {
    throw new RangeError(`connection pool ${pool}: ${option} must be an integer of at least ${minimum}, got ${value}`);
  }
  return value;
}
