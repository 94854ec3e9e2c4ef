import { Code, PrismError } from "../errors/prism-error.js";

export type RequestKind = "unary" | "stream";

/**
 * Counts requests and streams in flight and refuses new ones once draining begins, so
 * a graceful shutdown can wait for them to finish.
 */
export class InFlightTracker {
  #unary = 0;
  #streams = 0;
  #draining = false;
  #idleWaiters: (() => void)[] = [];

  get unary(): number {
    return this.#unary;
  }

  get streams(): number {
    return this.#streams;
  }

  get draining(): boolean {
    return this.#draining;
  }

  /** Counts one request; returns its idempotent release. Throws UNAVAILABLE while draining. */
  enter(kind: RequestKind): () => void {
    if (this.#draining) {
      throw new PrismError(
        Code.Unavailable,
        "SHUTTING_DOWN",
        "the proxy is shutting down; retry on another instance or after it restarts",
      );
    }

    if (kind === "unary") {
      this.#unary++;
    } else {
      this.#streams++;
    }

    let released = false;
    return () => {
      if (released) {
        return;
      }
      released = true;
      if (kind === "unary") {
        this.#unary--;
      } else {
        this.#streams--;
      }
      this.#notifyIfIdle();
    };
  }

  /** Refuses new requests from now on. */
  startDraining(): void {
    this.#draining = true;
  }

  /** Resolves when no request or stream is in flight, or after timeoutMs; returns whether it drained. */
  async waitForIdle(timeoutMs: number): Promise<boolean> {
    if (this.#unary + this.#streams === 0) {
      return true;
    }

    let timer: NodeJS.Timeout | undefined;
    const idle = new Promise<boolean>((resolve) => this.#idleWaiters.push(() => resolve(true)));
    const timeout = new Promise<boolean>((resolve) => {
      timer = setTimeout(() => resolve(false), timeoutMs);
    });
    try {
      return await Promise.race([idle, timeout]);
    } finally {
      clearTimeout(timer);
    }
  }

  #notifyIfIdle(): void {
    if (this.#unary + this.#streams !== 0) {
      return;
    }
    const waiters = this.#idleWaiters;
    this.#idleWaiters = [];
    waiters.forEach((wake) => wake());
  }
}
