import { createHistogram } from "node:perf_hooks";
import type { PointMeasurement } from "../measurement.js";

export interface CallLoopOptions {
  /** Callers, each awaiting its previous call before starting the next. */
  concurrency: number;
  warmupMs: number;
  durationMs: number;
}

const NS_PER_US = 1000;

/**
 * Runs `concurrency` async callers that repeat `call` through a warm-up and then a timed
 * window. A call counts when it starts inside the window. Latency is taken per call with
 * process.hrtime.bigint and includes that call's own cost (tens of nanoseconds). With
 * several callers it also includes the wait behind other callers' microtasks, just as a
 * server's latency includes its queue.
 */
export async function runCallLoop(call: () => Promise<unknown>, options: CallLoopOptions): Promise<PointMeasurement> {
  const histogram = createHistogram();
  const startNs = process.hrtime.bigint();
  const windowStartNs = startNs + BigInt(options.warmupMs) * 1_000_000n;
  const windowEndNs = windowStartNs + BigInt(options.durationMs) * 1_000_000n;
  let requests = 0;
  let cpuAtWindowStart: NodeJS.CpuUsage | undefined;

  const caller = async (): Promise<void> => {
    for (;;) {
      const callStartNs = process.hrtime.bigint();
      if (callStartNs >= windowEndNs) {
        return;
      }
      if (callStartNs >= windowStartNs) {
        cpuAtWindowStart ??= process.cpuUsage();
      }

      await call();

      if (callStartNs >= windowStartNs) {
        const elapsedNs = process.hrtime.bigint() - callStartNs;
        histogram.record(elapsedNs > 0n ? elapsedNs : 1n);
        requests += 1;
      }
    }
  };

  await Promise.all(Array.from({ length: options.concurrency }, caller));
  const cpu = process.cpuUsage(cpuAtWindowStart);
  const durationS = options.durationMs / 1000;

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
    targetCpuCores: (cpu.user + cpu.system) / 1e6 / durationS,
  };
}
