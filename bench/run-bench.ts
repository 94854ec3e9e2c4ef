// `npm run bench`: runs the scenario registry against each target one at a time and
// writes bench/results/<time>.json plus the summary table in docs/benchmarks.md.
// scripts/bench.mjs compiles the project and then runs this file from dist.
import { spawn } from "node:child_process";
import { once } from "node:events";
import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { fileURLToPath } from "node:url";
import { parseArgs } from "node:util";
import { createGrpcTransport, Http2SessionManager } from "@connectrpc/connect-node";
import { BenchSetupError } from "./bench-setup-error.js";
import type { PointMeasurement } from "./measurement.js";
import { ensureH2load, h2loadVersion, loadShape, measureTimed, verifyResponses, writeGrpcFrame } from "./load/h2load.js";
import { machineInfo } from "./report/machine-info.js";
import { renderMarkdown, replaceResultsSection } from "./report/markdown.js";
import { computeRatios, summarizeRounds, type PointRound, type RunResult, type RunSettings } from "./report/run-result.js";
import type { InProcessTarget, Operation, Scenario, ServerTarget, TargetContext } from "./scenario.js";
import { SCENARIOS } from "./scenarios.js";

const ROOT = fileURLToPath(new URL("../..", import.meta.url)).replace(/\/$/, "");
const RESULTS_DIR = "bench/results";
const DOCS_FILE = "docs/benchmarks.md";

export const DEFAULT_DURATION_S = 10;
export const DEFAULT_WARMUP_S = 2;
export const QUICK_DURATION_S = 2;
export const QUICK_WARMUP_S = 1;

/** Requests of the h2load correctness check that precedes each server target's points. */
export const VERIFY_REQUESTS = 2000;

/** Callers of that check: 4 connections × 4 streams. */
const VERIFY_CALLERS = 16;

/** Time an in-process worker may take beyond its warm-up and duration. */
const WORKER_GRACE_MS = 30_000;

const USAGE = `Usage: npm run bench -- [options]

Measures KeyValue RPCs through the proxy and its baselines with h2load; see docs/benchmarks.md.
  --scenario NAME     run only this scenario (repeatable); --list shows them
  --target NAME       run only this target of each scenario (repeatable), e.g. proxy
  --quick             smoke run: ${QUICK_DURATION_S} s per point after a ${QUICK_WARMUP_S} s warm-up; docs are not updated
  --duration S        seconds measured per point (default ${DEFAULT_DURATION_S})
  --warmup S          seconds of warm-up before each point (default ${DEFAULT_WARMUP_S})
  --repeat N          rounds over all points; tables show the median (default 1)
  --cpu-prof TARGET   run that server target under node --cpu-prof; profiles go to the run's work directory
  --no-docs           do not rewrite the results section of ${DOCS_FILE}
  --list              list the scenarios and exit
`;

interface Options {
  settings: RunSettings;
  scenarios: Scenario[];
  targets: string[] | undefined;
  cpuProfTarget: string | undefined;
  /** Every scenario and target, none of them profiled. */
  complete: boolean;
  updateDocs: boolean;
}

function positiveNumber(text: string | undefined, option: string, fallback: number): number {
  if (text === undefined) {
    return fallback;
  }
  const value = Number(text);
  if (!Number.isFinite(value) || value <= 0) {
    throw new BenchSetupError(`--${option} must be a positive number, got ${JSON.stringify(text)}`);
  }
  return value;
}

function parseOptions(argv: string[]): Options | "help" | "list" {
  const { values } = parseArgs({
    args: argv,
    options: {
      scenario: { type: "string", multiple: true },
      target: { type: "string", multiple: true },
      quick: { type: "boolean", default: false },
      duration: { type: "string" },
      warmup: { type: "string" },
      repeat: { type: "string" },
      "cpu-prof": { type: "string" },
      "no-docs": { type: "boolean", default: false },
      list: { type: "boolean", default: false },
      help: { type: "boolean", short: "h", default: false },
    },
  });
  if (values.help) {
    return "help";
  }
  if (values.list) {
    return "list";
  }

  const names = values.scenario ?? SCENARIOS.map((scenario) => scenario.name);
  const scenarios = names.map((name) => {
    const scenario = SCENARIOS.find((entry) => entry.name === name);
    if (scenario === undefined) {
      throw new BenchSetupError(`unknown scenario ${JSON.stringify(name)}; known: ${SCENARIOS.map((entry) => entry.name).join(", ")}`);
    }
    return scenario;
  });
  const knownTargets = new Set(scenarios.flatMap((scenario) => scenario.targets.map((target) => target.name)));
  for (const name of [...(values.target ?? []), ...(values["cpu-prof"] === undefined ? [] : [values["cpu-prof"]])]) {
    if (!knownTargets.has(name)) {
      throw new BenchSetupError(`unknown target ${JSON.stringify(name)}; known: ${[...knownTargets].join(", ")}`);
    }
  }

  const repeat = positiveNumber(values.repeat, "repeat", 1);
  if (!Number.isInteger(repeat)) {
    throw new BenchSetupError(`--repeat must be a whole number, got ${values.repeat}`);
  }
  const quick = values.quick;
  const settings: RunSettings = {
    mode: quick ? "quick" : "full",
    durationS: positiveNumber(values.duration, "duration", quick ? QUICK_DURATION_S : DEFAULT_DURATION_S),
    warmupS: positiveNumber(values.warmup, "warmup", quick ? QUICK_WARMUP_S : DEFAULT_WARMUP_S),
    repeat,
    scenarios: scenarios.map((scenario) => scenario.name),
    verifyRequests: VERIFY_REQUESTS,
  };

  // Only a full, complete run replaces the published table.
  const complete = values.scenario === undefined && values.target === undefined && values["cpu-prof"] === undefined;
  return {
    settings,
    scenarios,
    targets: values.target,
    cpuProfTarget: values["cpu-prof"],
    complete,
    updateDocs: !quick && complete && !values["no-docs"],
  };
}

function progress(message: string): void {
  process.stderr.write(`bench: ${message}\n`);
}

function describe(measurement: PointMeasurement): string {
  const cpu = measurement.loadGeneratorCpuCores === undefined ? "" : `, h2load ${measurement.loadGeneratorCpuCores.toFixed(2)} cores`;
  return (
    `${Math.round(measurement.throughput)}/s, p50 ${measurement.latencyUs.p50.toFixed(1)} µs, p99 ${measurement.latencyUs.p99.toFixed(1)} µs ` +
    `(target ${measurement.targetCpuCores.toFixed(2)} cores${cpu})`
  );
}

async function runWorker(target: InProcessTarget, operation: Operation, concurrency: number, settings: RunSettings): Promise<PointMeasurement> {
  const args = [
    target.workerScript,
    "--operation",
    operation.name,
    "--concurrency",
    String(concurrency),
    "--warmup-ms",
    String(Math.round(settings.warmupS * 1000)),
    "--duration-ms",
    String(Math.round(settings.durationS * 1000)),
  ];
  const child = spawn(process.execPath, args, { cwd: ROOT, stdio: ["ignore", "pipe", "inherit"] });
  let output = "";
  child.stdout.setEncoding("utf8").on("data", (chunk: string) => (output += chunk));
  const killer = setTimeout(() => child.kill("SIGKILL"), (settings.warmupS + settings.durationS) * 1000 + WORKER_GRACE_MS);
  try {
    const [code] = (await once(child, "exit")) as [number | null];
    if (code !== 0) {
      throw new Error(`${target.workerScript} ${args.slice(1).join(" ")} failed with exit code ${code}`);
    }
  } finally {
    clearTimeout(killer);
  }
  return JSON.parse(output.trim().split("\n").pop() ?? "") as PointMeasurement;
}

/** Checks every operation with a real gRPC client, then with h2load's exact request frame. */
async function checkServer(scenario: Scenario, baseUrl: string, frames: Map<Operation, string>): Promise<void> {
  const sessionManager = new Http2SessionManager(baseUrl);
  try {
    const transport = createGrpcTransport({ baseUrl, sessionManager });
    for (const operation of scenario.operations) {
      await operation.probe(transport, { ...scenario.headers });
    }
  } finally {
    sessionManager.abort();
  }

  for (const operation of scenario.operations) {
    const request = { url: baseUrl + operation.path, frameFile: frames.get(operation) ?? "", headers: scenario.headers, shape: loadShape(VERIFY_CALLERS) };
    await verifyResponses(request, VERIFY_REQUESTS, operation.responseMessageBytes);
  }
}

async function runServerTarget(
  scenario: Scenario,
  target: ServerTarget,
  context: TargetContext,
  settings: RunSettings,
  round: number,
): Promise<PointRound[]> {
  const frames = new Map<Operation, string>();
  for (const operation of scenario.operations) {
    const file = join(context.workDir, `${scenario.name}-${operation.name}.grpc`);
    writeGrpcFrame(file, operation.requestMessage);
    frames.set(operation, file);
  }

  progress(`[${target.name}] starting`);
  const server = await target.start(context);
  const rounds: PointRound[] = [];
  try {
    await checkServer(scenario, server.baseUrl, frames);
    progress(`[${target.name}] gRPC client probe and ${VERIFY_REQUESTS}-request h2load check passed`);

    for (const operation of scenario.operations) {
      for (const concurrency of scenario.concurrencies) {
        const request = { url: server.baseUrl + operation.path, frameFile: frames.get(operation) ?? "", headers: scenario.headers, shape: loadShape(concurrency) };
        const measurement = await measureTimed(request, {
          durationS: settings.durationS,
          warmupS: settings.warmupS,
          logFile: join(context.workDir, `${scenario.name}-${target.name}-${operation.name}-${concurrency}-r${round}.log`),
          targetPid: server.pid,
          responseMessageBytes: operation.responseMessageBytes,
        });
        progress(`[${target.name}] ${operation.name} × ${concurrency}: ${describe(measurement)}`);
        rounds.push({ scenario: scenario.name, target: target.name, operation: operation.name, concurrency, round, measurement });
      }
    }
  } finally {
    await server.stop();
  }
  return rounds;
}

async function runInProcessTarget(scenario: Scenario, target: InProcessTarget, settings: RunSettings, round: number): Promise<PointRound[]> {
  const rounds: PointRound[] = [];
  for (const operation of scenario.operations) {
    for (const concurrency of scenario.concurrencies) {
      const measurement = await runWorker(target, operation, concurrency, settings);
      progress(`[${target.name}] ${operation.name} × ${concurrency}: ${describe(measurement)}`);
      rounds.push({ scenario: scenario.name, target: target.name, operation: operation.name, concurrency, round, measurement });
    }
  }
  return rounds;
}

function timestampForFile(date: Date): string {
  return date.toISOString().replace(/[:]/g, "").replace(/\.\d+Z$/, "Z");
}

async function main(): Promise<number> {
  const options = parseOptions(process.argv.slice(2));
  if (options === "help") {
    process.stdout.write(USAGE);
    return 0;
  }
  if (options === "list") {
    for (const scenario of SCENARIOS) {
      process.stdout.write(`${scenario.name}\n  ${scenario.description}\n  targets: ${scenario.targets.map((target) => target.name).join(", ")}\n`);
    }
    return 0;
  }

  ensureH2load();
  const startedAt = new Date();
  const machine = machineInfo(ROOT, h2loadVersion());
  const workDir = mkdtempSync(join(tmpdir(), "prism-bench-"));
  const { settings } = options;
  progress(`${settings.mode} run, ${settings.durationS} s per point after ${settings.warmupS} s warm-up, ${settings.repeat} round(s); server logs in ${workDir}, deleted after a successful run`);

  const rounds: PointRound[] = [];
  for (let round = 1; round <= settings.repeat; round++) {
    for (const scenario of options.scenarios) {
      progress(`scenario ${scenario.name}, round ${round} of ${settings.repeat}`);
      for (const target of scenario.targets) {
        if (options.targets !== undefined && !options.targets.includes(target.name)) {
          continue;
        }
        if (target.kind === "in-process") {
          rounds.push(...(await runInProcessTarget(scenario, target, settings, round)));
          continue;
        }
        const nodeFlags = options.cpuProfTarget === target.name ? ["--cpu-prof", "--cpu-prof-dir", join(workDir, "profiles")] : [];
        rounds.push(...(await runServerTarget(scenario, target, { root: ROOT, workDir, nodeFlags }, settings, round)));
      }
    }
  }

  const summary = summarizeRounds(rounds);
  const result: RunResult = {
    formatVersion: 1,
    startedAt: startedAt.toISOString(),
    finishedAt: new Date().toISOString(),
    settings,
    machine,
    summary,
    ratios: computeRatios(options.scenarios, summary),
    rounds,
  };

  mkdirSync(join(ROOT, RESULTS_DIR), { recursive: true });
  const suffix = `${settings.mode === "quick" ? "-quick" : ""}${options.complete ? "" : "-partial"}`;
  const resultFile = join(RESULTS_DIR, `${timestampForFile(startedAt)}${suffix}.json`);
  writeFileSync(join(ROOT, resultFile), `${JSON.stringify(result, null, 2)}\n`);

  const markdown = renderMarkdown(result, options.scenarios);
  process.stdout.write(`\n${markdown}\n`);
  progress(`wrote ${resultFile}`);
  if (options.updateDocs) {
    replaceResultsSection(join(ROOT, DOCS_FILE), `\nResult file: \`${resultFile}\`.\n\n${markdown}\n`);
    progress(`updated the results section of ${DOCS_FILE}`);
  }
  if (options.cpuProfTarget !== undefined) {
    progress(`CPU profiles of ${options.cpuProfTarget} are in ${join(workDir, "profiles")}; summarize one with node dist/bench/profile-summary.js FILE`);
  } else {
    // Server logs matter only when a run fails, and a failed run exits before this point.
    rmSync(workDir, { recursive: true, force: true });
  }
  return 0;
}

main().then(
  (code) => {
    process.exitCode = code;
  },
  (error: unknown) => {
    if (error instanceof BenchSetupError) {
      process.stderr.write(`bench: ${error.message}\n`);
      process.exitCode = 2;
      return;
    }
    process.stderr.write(`bench: ${error instanceof Error ? (error.stack ?? error.message) : String(error)}\n`);
    process.exitCode = 1;
  },
);
