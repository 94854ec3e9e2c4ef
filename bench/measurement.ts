/** Latency percentiles of one point, in microseconds. */
export interface LatencySummary {
  p50: number;
  p90: number;
  p99: number;
  max: number;
  mean: number;
}

/** Measurement of one point (target × operation × concurrency) in its timed window. */
export interface PointMeasurement {
  /** Calls completed in the timed window; the warm-up is excluded. */
  requests: number;
  durationS: number;
  /** Requests (or in-process calls) per second. */
  throughput: number;
  latencyUs: LatencySummary;
  /** CPU time of the measured process divided by wall time: 1.0 is one core busy. */
  targetCpuCores: number;
  /** The same for h2load; absent for in-process points, which have no load generator. */
  loadGeneratorCpuCores?: number;
  /** h2load connections and streams per connection; their product is the concurrency. */
  connections?: number;
  streamsPerConnection?: number;
  /** Requests still in flight when h2load's timed window closed; not counted as completed. */
  cutAtEnd?: number;
}

/** Nearest-rank percentile of an ascending array; p in (0, 100]. */
export function percentile(sorted: ArrayLike<number>, p: number): number {
  if (sorted.length === 0) {
    return Number.NaN;
  }
  const rank = Math.max(1, Math.ceil((p / 100) * sorted.length));
  return sorted[Math.min(rank, sorted.length) - 1] ?? Number.NaN;
}

/** Summarizes latencies (any unit; the summary keeps it). Sorts the array in place. */
export function summarizeLatencies(values: Float64Array): LatencySummary {
  values.sort();
  let total = 0;
  for (const value of values) {
    total += value;
  }
  return {
    p50: percentile(values, 50),
    p90: percentile(values, 90),
    p99: percentile(values, 99),
    max: values.length === 0 ? Number.NaN : (values[values.length - 1] ?? Number.NaN),
    mean: values.length === 0 ? Number.NaN : total / values.length,
  };
}

/** Returns the median of a non-empty list, which combines repeated rounds. */
export function median(values: readonly number[]): number {
  const sorted = [...values].sort((left, right) => left - right);
  const middle = Math.floor(sorted.length / 2);
  if (sorted.length % 2 === 1) {
    return sorted[middle] ?? Number.NaN;
  }
  return ((sorted[middle - 1] ?? Number.NaN) + (sorted[middle] ?? Number.NaN)) / 2;
}
