import { median, type PointMeasurement } from "../measurement.js";
import type { Scenario } from "../scenario.js";
import type { MachineInfo } from "./machine-info.js";

/** Identifies a point: one target running one operation at one concurrency. */
export interface PointKey {
  scenario: string;
  target: string;
  operation: string;
  concurrency: number;
}

/** One round's measurement of a point. */
export interface PointRound extends PointKey {
  round: number;
  measurement: PointMeasurement;
}

/** A point over all rounds: each figure is the median of the rounds' figures. */
export interface PointSummary extends PointKey {
  rounds: number;
  throughput: number;
  p50Us: number;
  p99Us: number;
  targetCpuCores: number;
  /**
   * CPU time of the target per request, in microseconds: its CPU cores divided by its
   * throughput. Less sensitive than throughput to how much CPU other processes left it.
   */
  targetCpuUsPerRequest: number;
  loadGeneratorCpuCores?: number;
}

/** Throughput and p50 latency of one target relative to another at one operation and concurrency. */
export interface PointRatio {
  scenario: string;
  operation: string;
  concurrency: number;
  numerator: string;
  denominator: string;
  /** numerator req/s ÷ denominator req/s; at least 1 means the numerator is as fast. */
  throughputRatio: number;
  /** numerator p50 ÷ denominator p50; at most 1 means the numerator is as fast. */
  p50Ratio: number;
}

export interface RunSettings {
  mode: "full" | "quick";
  durationS: number;
  warmupS: number;
  repeat: number;
  scenarios: string[];
  /** Requests of the h2load correctness check before each server target's points. */
  verifyRequests: number;
}

/** The content of one bench/results/*.json file. */
export interface RunResult {
  formatVersion: 1;
  startedAt: string;
  finishedAt: string;
  settings: RunSettings;
  machine: MachineInfo;
  summary: PointSummary[];
  ratios: PointRatio[];
  rounds: PointRound[];
}

function sameKey(left: PointKey, right: PointKey): boolean {
  return (
    left.scenario === right.scenario &&
    left.target === right.target &&
    left.operation === right.operation &&
    left.concurrency === right.concurrency
  );
}

/** Combines the rounds of each point into its median figures, in first-measured order. */
export function summarizeRounds(rounds: readonly PointRound[]): PointSummary[] {
  const summaries: PointSummary[] = [];
  for (const first of rounds) {
    if (summaries.some((summary) => sameKey(summary, first))) {
      continue;
    }
    const same = rounds.filter((round) => sameKey(round, first)).map((round) => round.measurement);
    const generatorCpu = same.flatMap((measurement) =>
      measurement.loadGeneratorCpuCores === undefined ? [] : [measurement.loadGeneratorCpuCores],
    );
    summaries.push({
      scenario: first.scenario,
      target: first.target,
      operation: first.operation,
      concurrency: first.concurrency,
      rounds: same.length,
      throughput: median(same.map((measurement) => measurement.throughput)),
      p50Us: median(same.map((measurement) => measurement.latencyUs.p50)),
      p99Us: median(same.map((measurement) => measurement.latencyUs.p99)),
      targetCpuCores: median(same.map((measurement) => measurement.targetCpuCores)),
      targetCpuUsPerRequest: median(same.map((measurement) => (measurement.targetCpuCores / measurement.throughput) * 1e6)),
      ...(generatorCpu.length > 0 ? { loadGeneratorCpuCores: median(generatorCpu) } : {}),
    });
  }
  return summaries;
}

/** Computes each scenario's ratios at every operation and concurrency where both targets ran. */
export function computeRatios(scenarios: readonly Scenario[], summaries: readonly PointSummary[]): PointRatio[] {
  const ratios: PointRatio[] = [];
  for (const scenario of scenarios) {
    const find = (target: string, operation: string, concurrency: number): PointSummary | undefined =>
      summaries.find((summary) => sameKey(summary, { scenario: scenario.name, target, operation, concurrency }));

    for (const spec of scenario.ratios) {
      for (const operation of scenario.operations) {
        for (const concurrency of scenario.concurrencies) {
          const numerator = find(spec.numerator, operation.name, concurrency);
          const denominator = find(spec.denominator, operation.name, concurrency);
          if (numerator === undefined || denominator === undefined) {
            continue;
          }
          ratios.push({
            scenario: scenario.name,
            operation: operation.name,
            concurrency,
            numerator: spec.numerator,
            denominator: spec.denominator,
            throughputRatio: numerator.throughput / denominator.throughput,
            p50Ratio: numerator.p50Us / denominator.p50Us,
          });
        }
      }
    }
  }
  return ratios;
}
