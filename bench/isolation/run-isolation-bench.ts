// The isolation benchmarks, setup-latency and noisy-neighbour: they measure single requests
// and paced traffic instead of throughput points, so they have their own runner.
// Usage: node dist/bench/isolation/run-isolation-bench.js [--scenario NAME]... [--quick]
import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { fileURLToPath } from "node:url";
import { parseArgs } from "node:util";
import { BenchSetupError } from "../bench-setup-error.js";
import { ensureH2load, h2loadVersion } from "../load/h2load.js";
import { machineInfo } from "../report/machine-info.js";
import { ISOLATION_SCENARIOS } from "./isolation-scenarios.js";
import { FLOOD_RPS, NOISY_MAX_RPS, runNoisyNeighbour, STEADY_RPS, type NoisyNeighbourPoint } from "./noisy-neighbour.js";
import { QUICK_SETUP_REPETITIONS, runSetupLatency, SETUP_REPETITIONS, type SetupLatencyPoint } from "./setup-latency.js";

const ROOT = fileURLToPath(new URL("../../..", import.meta.url)).replace(/\/$/, "");
const RESULTS_DIR = "bench/results";

/** Seconds of each steady window of noisy-neighbour in a full run, and in a quick run. */
const NOISY_DURATION_S = 10;
const QUICK_NOISY_DURATION_S = 3;

function progress(message: string): void {
  process.stderr.write(`bench: ${message}\n`);
}

function us(value: number): string {
  return Math.round(value).toLocaleString("en-US");
}

function setupTable(points: readonly SetupLatencyPoint[]): string {
  const rows = points.map(
    (point) =>
      `| ${point.backend} ${point.rpc} | ${point.level} | ${us(point.newNamespaceUs.p50)} / ${us(point.newNamespaceUs.p99)} | ` +
      `${us(point.newSessionUs.p50)} / ${us(point.newSessionUs.p99)} | ${us(point.warmUs.p50)} / ${us(point.warmUs.p99)} |`,
  );
  return [
    "| Backend RPC | Level | First, new namespace p50 / p99 | First, new session p50 / p99 | Warm p50 / p99 |",
    "| --- | --- | ---: | ---: | ---: |",
    ...rows,
  ].join("\n");
}

function noisyTable(points: readonly NoisyNeighbourPoint[]): string {
  const rows = points.map(
    (point) =>
      `| ${point.level} | ${us(point.alone.latencyUs.p50)} / ${us(point.alone.latencyUs.p99)} | ` +
      `${us(point.withFlood.latencyUs.p50)} / ${us(point.withFlood.latencyUs.p99)} | ${point.withFlood.failed} of ${point.withFlood.sent} | ` +
      `${Math.round(point.flood.done / point.flood.wallS)} | ${Math.round(point.flood.admitted / point.flood.wallS)} |`,
  );
  return [
    "| Level | Steady alone p50 / p99 | Steady with flood p50 / p99 | Steady failed | Flood done/s | Flood admitted/s |",
    "| --- | ---: | ---: | ---: | ---: | ---: |",
    ...rows,
  ].join("\n");
}

async function main(): Promise<void> {
  const { values } = parseArgs({
    options: { scenario: { type: "string", multiple: true }, quick: { type: "boolean", default: false } },
  });
  const names = values.scenario ?? ISOLATION_SCENARIOS.map((scenario) => scenario.name);
  for (const name of names) {
    if (!ISOLATION_SCENARIOS.some((scenario) => scenario.name === name)) {
      throw new BenchSetupError(`unknown scenario ${JSON.stringify(name)}; known: ${ISOLATION_SCENARIOS.map((scenario) => scenario.name).join(", ")}`);
    }
  }
  ensureH2load();
  const quick = values.quick;
  const startedAt = new Date();
  const workDir = mkdtempSync(join(tmpdir(), "prism-bench-isolation-"));
  const machine = machineInfo(ROOT, h2loadVersion());
  const repetitions = quick ? QUICK_SETUP_REPETITIONS : SETUP_REPETITIONS;
  const durationS = quick ? QUICK_NOISY_DURATION_S : NOISY_DURATION_S;

  const setupLatency = names.includes("setup-latency") ? await runSetupLatency(ROOT, workDir, repetitions, progress) : undefined;
  const noisyNeighbour = names.includes("noisy-neighbour") ? await runNoisyNeighbour(ROOT, workDir, durationS, progress) : undefined;

  const result = {
    formatVersion: 1,
    startedAt: startedAt.toISOString(),
    finishedAt: new Date().toISOString(),
    settings: { mode: quick ? "quick" : "full", scenarios: names, setupRepetitions: repetitions, noisyDurationS: durationS, maxRps: NOISY_MAX_RPS, floodRps: FLOOD_RPS, steadyRps: STEADY_RPS },
    machine,
    setupLatency,
    noisyNeighbour,
  };
  mkdirSync(join(ROOT, RESULTS_DIR), { recursive: true });
  const stamp = startedAt.toISOString().replace(/[:]/g, "").replace(/\.\d+Z$/, "Z");
  const resultFile = join(RESULTS_DIR, `${stamp}-isolation${quick ? "-quick" : ""}.json`);
  writeFileSync(join(ROOT, resultFile), `${JSON.stringify(result, null, 2)}\n`);

  const sections = [
    setupLatency === undefined ? "" : `### setup-latency\n\nLatency in microseconds:\n\n${setupTable(setupLatency)}\n`,
    noisyNeighbour === undefined ? "" : `### noisy-neighbour\n\nSteady namespace latency in microseconds:\n\n${noisyTable(noisyNeighbour)}\n`,
  ];
  process.stdout.write(`\n${sections.join("\n")}`);
  progress(`wrote ${resultFile}`);
  rmSync(workDir, { recursive: true, force: true });
}

main().catch((error: unknown) => {
  if (error instanceof BenchSetupError) {
    process.stderr.write(`bench: ${error.message}\n`);
    process.exitCode = 2;
    return;
  }
  process.stderr.write(`bench: ${error instanceof Error ? (error.stack ?? error.message) : String(error)}\n`);
  process.exitCode = 1;
});
