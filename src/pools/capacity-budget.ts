/**
 * A limit on the connections that several pools hold together, such as every namespace
 * pool of one backend under max_total_connections. A pool takes one slot before it
 * opens a connection and returns it once that connection is closed.
 *
 * Slots are counted, never connections: a pool never receives a connection that
 * another pool opened. When the budget is full, a pool that needs a slot queues here,
 * and a returned slot goes straight to the first pool in the queue. While pools wait,
 * the budget closes the longest-idle connection of another pool to free a slot, so idle
 * connections in one pool cannot keep the others waiting.
 */

import type { Logger } from "../observability/logger.js";

/** The interface through which the budget offers slots to a pool and reclaims its idle connections. */
export interface BudgetMember {
  readonly name: string;
  /**
   * Offers one slot that this budget already counts as taken. Returns true when the pool
   * uses it to open a connection, false when it no longer needs one.
   */
  offerSlot(): boolean;
  /** When the pool's longest-idle connection became idle, in epoch milliseconds; undefined with none idle. */
  oldestIdleSince(): number | undefined;
  /** Closes the pool's longest-idle connection; resolves once it is closed and its slot returned. */
  evictIdle(): Promise<void> | undefined;
}

export interface CapacityBudgetOptions {
  /** Maximum connections of all member pools together. */
  limit: number;
  /** Configuration key that sets the limit, named in errors, such as "connection_pools.redis.max_total_connections". */
  limitKey: string;
  logger: Logger;
}

export interface CapacityBudgetStats {
  limitKey: string;
  limit: number;
  /** Slots taken: connections open, being opened or being closed. */
  used: number;
  /** Pools queued for a slot. */
  waitingPools: number;
  /** Idle connections closed so that a waiting pool could open one. */
  reclaimed: number;
}

export class CapacityBudget {
  readonly limit: number;
  readonly limitKey: string;
  readonly #log: Logger;
  #used = 0;
  #reclaiming = 0;
  #reclaimed = 0;
  readonly #members = new Set<BudgetMember>();
  /** Pools waiting for a slot, in arrival order. */
  readonly #waiting = new Set<BudgetMember>();

  constructor(options: CapacityBudgetOptions) {
    if (!Number.isInteger(options.limit) || options.limit < 1) {
      throw new RangeError(`capacity budget limit for ${options.limitKey} must be a positive integer, got ${options.limit}`);
    }
    this.limit = options.limit;
    this.limitKey = options.limitKey;
    this.#log = options.logger.child({ component: "capacity-budget", limitKey: options.limitKey });
  }

  get used(): number {
    return this.#used;
  }

  /** Adds a pool whose idle connections may be reclaimed for other pools. */
  join(member: BudgetMember): void {
    this.#members.add(member);
  }

  /** Removes a closing pool from the members and from the queue. Its open connections still return their slots. */
  leave(member: BudgetMember): void {
    this.#members.delete(member);
    this.#waiting.delete(member);
  }

  /** Takes a slot if one is free. */
  tryTake(): boolean {
    if (this.#used >= this.limit) {
      return false;
    }
    this.#used++;
    return true;
  }

  /** Returns a slot, which goes to the first queued pool that still needs one. */
  release(): void {
    for (const member of this.#waiting) {
      this.#waiting.delete(member);
      // The slot stays counted as taken when a member accepts it.
      if (member.offerSlot()) {
        return;
      }
    }

    if (this.#used === 0) {
      this.#log.error("a slot was returned that was never taken; the budget count stays at 0");
      return;
    }
    this.#used--;
  }

  /** Queues a pool for the next free slot. Queuing a queued pool keeps its place. */
  enqueue(member: BudgetMember): void {
    if (this.#waiting.has(member)) {
      return;
    }
    this.#waiting.add(member);
    this.#reclaimIdle();
  }

  /** Removes a pool from the queue, for example when its last waiting request timed out. */
  dequeue(member: BudgetMember): void {
    this.#waiting.delete(member);
  }

  isWaiting(member: BudgetMember): boolean {
    return this.#waiting.has(member);
  }

  /** Tells the budget that a member has a new idle connection, which a waiting pool may need. */
  noteIdle(): void {
    this.#reclaimIdle();
  }

  stats(): CapacityBudgetStats {
    return {
      limitKey: this.limitKey,
      limit: this.limit,
      used: this.#used,
      waitingPools: this.#waiting.size,
      reclaimed: this.#reclaimed,
    };
  }

  /** Closes idle connections of non-waiting members, oldest first, at most one per waiting pool at a time. */
  #reclaimIdle(): void {
    while (this.#reclaiming < this.#waiting.size) {
      const victim = this.#longestIdleMember();
      const closing = victim?.evictIdle();
      if (victim === undefined || closing === undefined) {
        return;
      }

      this.#reclaiming++;
      this.#reclaimed++;
      this.#log.debug({ pool: victim.name, waitingPools: this.#waiting.size }, "closing an idle connection for a waiting pool");
      void closing.finally(() => {
        this.#reclaiming--;
      });
    }
  }

  #longestIdleMember(): BudgetMember | undefined {
    let victim: BudgetMember | undefined;
    let victimSince = Number.POSITIVE_INFINITY;
    for (const member of this.#members) {
      const since = member.oldestIdleSince();
      if (since !== undefined && since < victimSince && !this.#waiting.has(member)) {
        victim = member;
        victimSince = since;
      }
    }
    return victim;
  }
}
