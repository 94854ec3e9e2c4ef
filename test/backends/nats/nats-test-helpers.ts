/** Shared pieces of the NATS driver tests: unique names, a silent logger, message collectors. */

import { randomBytes } from "node:crypto";

import { pino } from "pino";

import type { PublishedMessage } from "../../../src/backends/driver.js";
import type { Logger } from "../../../src/observability/logger.js";

/** Creates a logger that drops everything, unless PRISM_TEST_LOG_LEVEL (for example debug) is set. */
export function testLogger(): Logger {
  return pino({ level: process.env["PRISM_TEST_LOG_LEVEL"] ?? "silent" });
}

/** Returns a tenant id that no other run uses, valid under the configuration's tenant id rules. */
export function uniqueTenantId(label: string): string {
  return `nats-${label}-${process.pid}-${randomBytes(4).toString("hex")}`;
}

const encoder = new TextEncoder();
const decoder = new TextDecoder();

export function text(value: string): Uint8Array {
  return encoder.encode(value);
}

export function readText(value: Uint8Array): string {
  return decoder.decode(value);
}

export function message(payload: string, metadata: Record<string, string> = {}): PublishedMessage {
  return { payload: text(payload), metadata, messageId: randomBytes(8).toString("hex"), timestampMs: Date.now() };
}

/** Collects values pushed by a callback and lets a test await a number of them. */
export class Collector<T> {
  readonly items: T[] = [];
  readonly #waiters: { count: number; resolve: () => void }[] = [];

  readonly push = (item: T): void => {
    this.items.push(item);
    for (const waiter of [...this.#waiters]) {
      if (this.items.length >= waiter.count) {
        this.#waiters.splice(this.#waiters.indexOf(waiter), 1);
        waiter.resolve();
      }
    }
  };

  /** Resolves with the items once there are at least `count`; rejects after `timeoutMs`. */
  async waitFor(count: number, timeoutMs = 5000): Promise<T[]> {
    if (this.items.length >= count) {
      return this.items;
    }

    let timer: NodeJS.Timeout | undefined;
    const arrived = new Promise<void>((resolve) => this.#waiters.push({ count, resolve }));
    const expired = new Promise<never>((_, reject) => {
      timer = setTimeout(
        () => reject(new Error(`expected ${count} items within ${timeoutMs} ms, got ${this.items.length}`)),
        timeoutMs,
      );
    });
    try {
      await Promise.race([arrived, expired]);
    } finally {
      clearTimeout(timer);
    }
    return this.items;
  }
}

/**
 * Waits until `condition` holds, checking every 10 ms, for state that offers no event to
 * await (such as a driver's health after the server comes back).
 */
export async function waitUntil(condition: () => boolean, timeoutMs: number, what: string): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (!condition()) {
    if (Date.now() > deadline) {
      throw new Error(`timed out after ${timeoutMs} ms waiting for ${what}`);
    }
    await new Promise((resolve) => setTimeout(resolve, 10));
  }
}
