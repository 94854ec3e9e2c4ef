// Shared main of the direct baselines: a backend's own client library called without the
// proxy. Each worker runs one point and prints one JSON PointMeasurement line on stdout,
// like the in-process workers.
//
// One Node.js thread can be what limits the calls to a fast server such as Redis. On the
// 2-core development machine, one thread with 64 callers used 0.96 cores, and two
// processes of 32 callers each made 17 to 37 % more Redis GETs per second in three of
// four comparisons (docs/benchmarks.md has the details). The callers are therefore
// spread over one caller thread per core (at most one per caller), each with its own
// client. The CPU reported is the whole worker's: client libraries plus call loops.
// --threads N overrides the thread count for checks by hand.
import { randomBytes } from "node:crypto";
import { availableParallelism } from "node:os";
import { isMainThread } from "node:worker_threads";
import { parseArgs } from "node:util";
import { runCallerThread } from "./caller-thread.js";
import { runCallerThreads } from "./caller-threads.js";

/** Bytes of randomness in a direct worker's tenant id (as hex digits, so 8 characters). */
const TENANT_ID_BYTES = 4;

/** Returns a tenant id that no other worker or run uses, in the form of the proxy's tenant ids. */
export function directTenantId(label: string): string {
  return `bench-direct-${label}-${randomBytes(TENANT_ID_BYTES).toString("hex")}`;
}

/** A connected client of the backend in one caller thread. */
export interface DirectClient {
  /** Returns the call the loop repeats, which must reject when the reply is not the expected one. */
  callFor(operation: string): () => Promise<unknown>;
  /** Closes the thread's connections. */
  close(): Promise<void>;
}

/** The part of a point that one caller thread runs. */
export interface ThreadShare {
  /** Position of the thread, from 0. */
  index: number;
  threads: number;
  /** Callers of this thread; the callers of all threads add up to --concurrency. */
  callers: number;
}

/**
 * The backend work of a direct worker: setup, one client per caller thread, and cleanup.
 * `Shared` travels from the main thread to the caller threads, so it must survive the
 * structured clone of postMessage.
 */
export interface DirectWorkerSpec<Shared> {
  /** Worker name shown in error messages, for example "redis-keyvalue-worker". */
  name: string;
  /** Operation names the worker accepts, the same as the scenario's, for example ["Set", "Get"]. */
  operations: readonly string[];
  /**
   * Runs once in the main thread before any client connects. It creates the worker's
   * names and the state the operations read, and removes its own partial work when it fails.
   */
  setUp(): Promise<Shared>;
  /** Runs in each caller thread and connects that thread's client. */
  connect(shared: Shared, share: ThreadShare): Promise<DirectClient>;
  /** Runs once in the main thread after every thread has finished, also after a failed point. */
  tearDown(shared: Shared): Promise<void>;
}

/** Options of one point, from the command line. */
export interface PointOptions {
  operation: string;
  concurrency: number;
  warmupMs: number;
  durationMs: number;
  /** Caller threads from --threads; the runner never passes it, so the default applies. */
  threads?: number;
}

/** Splits `total` into `parts` whole shares that differ by at most one, the larger ones first. */
export function evenShare(total: number, index: number, parts: number): number {
  return Math.floor(total / parts) + (index < total % parts ? 1 : 0);
}

function positiveInteger(text: string | undefined, option: string): number {
  const value = Number(text);
  if (!Number.isInteger(value) || value <= 0) {
    throw new Error(`--${option} must be a positive integer, got ${JSON.stringify(text)}`);
  }
  return value;
}

function parsePointOptions(operations: readonly string[]): PointOptions {
  const { values } = parseArgs({
    options: {
      operation: { type: "string" },
      concurrency: { type: "string" },
      "warmup-ms": { type: "string" },
      "duration-ms": { type: "string" },
      threads: { type: "string" },
    },
  });
  const operation = values.operation ?? "";
  if (!operations.includes(operation)) {
    throw new Error(`--operation must be one of ${operations.join(", ")}, got ${JSON.stringify(values.operation)}`);
  }
  return {
    operation,
    concurrency: positiveInteger(values.concurrency, "concurrency"),
    warmupMs: positiveInteger(values["warmup-ms"], "warmup-ms"),
    durationMs: positiveInteger(values["duration-ms"], "duration-ms"),
    ...(values.threads === undefined ? {} : { threads: positiveInteger(values.threads, "threads") }),
  };
}

async function main<Shared>(spec: DirectWorkerSpec<Shared>): Promise<void> {
  const point = parsePointOptions(spec.operations);
  const threads = Math.min(point.concurrency, point.threads ?? availableParallelism());

  const shared = await spec.setUp();
  try {
    const measurement = await runCallerThreads(shared, point, threads);
    process.stdout.write(`${JSON.stringify(measurement)}\n`);
  } finally {
    await spec.tearDown(shared);
  }
}

/**
 * Runs the worker. In the main thread it parses the options, sets up, starts the caller
 * threads from the same script and prints the measurement. In a caller thread it runs
 * that thread's callers. A failure sets exit code 1 with the message on stderr.
 */
export function runDirectWorker<Shared>(spec: DirectWorkerSpec<Shared>): void {
  const run = isMainThread ? main(spec) : runCallerThread(spec);
  run.catch((error: unknown) => {
    process.stderr.write(`${spec.name}: ${error instanceof Error ? (error.stack ?? error.message) : String(error)}\n`);
    process.exitCode = 1;
  });
}
