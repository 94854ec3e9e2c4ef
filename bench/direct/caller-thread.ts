// The side of a direct worker that runs in each caller thread. It connects the thread's
// own client, reports ready and runs its callers through the window the main thread sends.
// Then it returns the count and latency histogram of the calls made inside that window.
import { once } from "node:events";
import { createHistogram, type RecordableHistogram } from "node:perf_hooks";
import { parentPort, workerData, type MessagePort } from "node:worker_threads";
import type { DirectClient, DirectWorkerSpec, ThreadShare } from "./direct-worker.js";

/** Data the main thread passes to each caller thread as workerData. */
export interface CallerThreadData<Shared> {
  shared: Shared;
  operation: string;
  share: ThreadShare;
}

/** The point's time line on process.hrtime.bigint(), which every thread of a process shares. */
export interface CallWindow {
  /** Calls that start from here on are measured, and the ones before are the warm-up. */
  windowStartNs: bigint;
  /** No call starts from here on. */
  windowEndNs: bigint;
}

/** Messages from a caller thread to the main thread. */
export type CallerThreadMessage =
  | { type: "ready" }
  | { type: "done"; requests: number; histogram: RecordableHistogram }
  | { type: "failed"; error: string };

/**
 * Repeats `call` from `callers` async callers until the window closes. A call counts when
 * it starts inside the window, and its latency in nanoseconds goes into the histogram,
 * as bench/in-process/call-loop.ts does for one thread.
 */
async function runCallers(call: () => Promise<unknown>, callers: number, window: CallWindow): Promise<{ requests: number; histogram: RecordableHistogram }> {
  const histogram = createHistogram();
  let requests = 0;

  const caller = async (): Promise<void> => {
    for (;;) {
      const callStartNs = process.hrtime.bigint();
      if (callStartNs >= window.windowEndNs) {
        return;
      }

      await call();

      if (callStartNs >= window.windowStartNs) {
        const elapsedNs = process.hrtime.bigint() - callStartNs;
        histogram.record(elapsedNs > 0n ? elapsedNs : 1n);
        requests += 1;
      }
    }
  };

  await Promise.all(Array.from({ length: callers }, caller));
  return { requests, histogram };
}

function post(port: MessagePort, message: CallerThreadMessage): void {
  port.postMessage(message);
}

/** Runs one caller thread. A failure of the client or of a call goes to the main thread as a "failed" message. */
export async function runCallerThread<Shared>(spec: DirectWorkerSpec<Shared>): Promise<void> {
  const port = parentPort;
  if (port === null) {
    throw new Error(`${spec.name}: a caller thread needs a parent port`);
  }
  const data = workerData as CallerThreadData<Shared>;

  let client: DirectClient | undefined;
  try {
    client = await spec.connect(data.shared, data.share);
    const call = client.callFor(data.operation);

    const started = once(port, "message") as Promise<[CallWindow]>;
    post(port, { type: "ready" });
    const [window] = await started;

    const result = await runCallers(call, data.share.callers, window);
    post(port, { type: "done", requests: result.requests, histogram: result.histogram });
  } catch (error) {
    post(port, { type: "failed", error: error instanceof Error ? (error.stack ?? error.message) : String(error) });
  } finally {
    await client?.close();
  }
}
