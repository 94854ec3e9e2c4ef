// The side of a direct worker that runs in the main thread. It starts the caller threads
// and gives them one common window. It measures the CPU of the whole process over that
// window and combines the threads' counts and latency histograms into one PointMeasurement.
import { once } from "node:events";
import { createHistogram, type RecordableHistogram } from "node:perf_hooks";
import { Worker } from "node:worker_threads";
import type { PointMeasurement } from "../measurement.js";
import type { CallWindow, CallerThreadData, CallerThreadMessage } from "./caller-thread.js";
import { evenShare, type PointOptions } from "./direct-worker.js";

const NS_PER_US = 1000;
const NS_PER_MS = 1_000_000n;

/** Time a caller thread has to close its client and exit after it reported its result. */
const THREAD_EXIT_TIMEOUT_MS = 10_000;

/** A measurement of a direct point, with the number of caller threads that made it. */
export interface DirectMeasurement extends PointMeasurement {
  clientThreads: number;
}

interface ThreadResult {
  requests: number;
  histogram: RecordableHistogram;
}

interface Deferred<T> {
  promise: Promise<T>;
  resolve(value: T): void;
  reject(error: Error): void;
}

/** Creates a promise with its resolve and reject. A rejection that is never awaited is not reported as unhandled. */
function deferred<T>(): Deferred<T> {
  let resolve: (value: T) => void = () => undefined;
  let reject: (error: Error) => void = () => undefined;
  const promise = new Promise<T>((onResolve, onReject) => {
    resolve = onResolve;
    reject = onReject;
  });
  promise.catch(() => undefined);
  return { promise, resolve, reject };
}

/** One caller thread and the two moments the main thread waits for: ready, and its result. */
class CallerThread {
  readonly worker: Worker;
  readonly #ready = deferred<void>();
  readonly #result = deferred<ThreadResult>();
  readonly #exited: Promise<unknown>;

  constructor(script: string, data: CallerThreadData<unknown>) {
    this.worker = new Worker(script, { workerData: data });
    this.#exited = once(this.worker, "exit");

    const index = data.share.index;
    // Settling a promise a second time does nothing, so a failure after the result changes nothing.
    const fail = (error: Error): void => {
      this.#ready.reject(error);
      this.#result.reject(error);
    };
    this.worker.on("message", (message: CallerThreadMessage) => {
      if (message.type === "ready") {
        this.#ready.resolve();
      } else if (message.type === "done") {
        this.#result.resolve({ requests: message.requests, histogram: message.histogram });
      } else {
        fail(new Error(`caller thread ${index} failed: ${message.error}`));
      }
    });
    this.worker.on("error", (error) => fail(new Error(`caller thread ${index} failed: ${error.message}`, { cause: error })));
    this.worker.on("exit", (code) => fail(new Error(`caller thread ${index} exited with code ${code} before it reported a result`)));
  }

  get ready(): Promise<void> {
    return this.#ready.promise;
  }

  get result(): Promise<ThreadResult> {
    return this.#result.promise;
  }

  /** Waits for the thread to close its client and exit, and stops it when that takes too long. */
  async stop(): Promise<void> {
    const timer = setTimeout(() => void this.worker.terminate(), THREAD_EXIT_TIMEOUT_MS);
    try {
      await this.#exited;
    } finally {
      clearTimeout(timer);
    }
  }

  /** Stops the thread at once, for a point that already failed. */
  async terminate(): Promise<void> {
    await this.worker.terminate();
  }
}

/**
 * Runs one point on `threads` caller threads started from this process's script. The
 * callers are split as evenly as the threads allow. The CPU is that of the whole process,
 * threads included, from the start of the timed window until the last thread finished.
 */
export async function runCallerThreads<Shared>(shared: Shared, point: PointOptions, threads: number): Promise<DirectMeasurement> {
  const script = process.argv[1];
  if (script === undefined) {
    throw new Error("cannot start caller threads: process.argv[1] names no script");
  }
  const callerThreads = Array.from({ length: threads }, (_, index) => {
    const share = { index, threads, callers: evenShare(point.concurrency, index, threads) };
    return new CallerThread(script, { shared, operation: point.operation, share });
  });

  try {
    await Promise.all(callerThreads.map((thread) => thread.ready));

    const nowNs = process.hrtime.bigint();
    const window: CallWindow = {
      windowStartNs: nowNs + BigInt(point.warmupMs) * NS_PER_MS,
      windowEndNs: nowNs + BigInt(point.warmupMs + point.durationMs) * NS_PER_MS,
    };
    for (const thread of callerThreads) {
      thread.worker.postMessage(window);
    }

    const cpuAtWindowStart = new Promise<{ cpu: NodeJS.CpuUsage; atNs: bigint }>((resolve) => {
      setTimeout(() => resolve({ cpu: process.cpuUsage(), atNs: process.hrtime.bigint() }), point.warmupMs);
    });
    const results = await Promise.all(callerThreads.map((thread) => thread.result));
    const windowStart = await cpuAtWindowStart;
    const cpu = process.cpuUsage(windowStart.cpu);
    const wallS = Number(process.hrtime.bigint() - windowStart.atNs) / 1e9;

    await Promise.all(callerThreads.map((thread) => thread.stop()));
    return summarize(results, point, (cpu.user + cpu.system) / 1e6 / wallS, threads);
  } catch (error) {
    await Promise.all(callerThreads.map((thread) => thread.terminate()));
    throw error;
  }
}

function summarize(results: readonly ThreadResult[], point: PointOptions, cpuCores: number, threads: number): DirectMeasurement {
  const histogram = createHistogram();
  let requests = 0;
  for (const result of results) {
    histogram.add(result.histogram);
    requests += result.requests;
  }

  const durationS = point.durationMs / 1000;
  return {
    requests,
    durationS,
    throughput: requests / durationS,
    latencyUs: {
      p50: histogram.percentile(50) / NS_PER_US,
      p90: histogram.percentile(90) / NS_PER_US,
      p99: histogram.percentile(99) / NS_PER_US,
      max: histogram.max / NS_PER_US,
      mean: histogram.mean / NS_PER_US,
    },
    targetCpuCores: cpuCores,
    clientThreads: threads,
  };
}
