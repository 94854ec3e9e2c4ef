import { spawn, spawnSync } from "node:child_process";
import { once } from "node:events";
import { readFileSync, rmSync, writeFileSync } from "node:fs";
import { BenchSetupError } from "../bench-setup-error.js";
import type { PointMeasurement } from "../measurement.js";
import { summarizeLatencies } from "../measurement.js";
import { processCpuSeconds } from "./process-cpu.js";

/** Debian package that ships h2load. */
export const H2LOAD_PACKAGE = "nghttp2-client";

/** Interval at which the CPU time of h2load is sampled while it runs. */
const CPU_SAMPLE_INTERVAL_MS = 100;

/** Time h2load may take beyond its warm-up and duration before it is killed. */
const H2LOAD_GRACE_MS = 30_000;

/** gRPC's message envelope: 1 flag byte (0, uncompressed) and a 4-byte big-endian length. */
export const GRPC_ENVELOPE_BYTES = 5;

function hasH2load(): boolean {
  return spawnSync("sh", ["-c", "command -v h2load"], { stdio: "ignore" }).status === 0;
}

/**
 * Installs h2load when it is missing from the PATH. As root it runs `apt-get update` and
 * installs the Debian package. For any other user it throws a BenchSetupError that
 * contains the install command.
 */
export function ensureH2load(): void {
  if (hasH2load()) {
    return;
  }
  if (process.getuid?.() !== 0) {
    throw new BenchSetupError(
      `h2load is not installed; install it with \`sudo apt-get install -y ${H2LOAD_PACKAGE}\` (Debian/Ubuntu), then rerun`,
    );
  }

  process.stderr.write(`bench: h2load not found; installing ${H2LOAD_PACKAGE} with apt-get…\n`);
  for (const args of [["update"], ["install", "-y", H2LOAD_PACKAGE]]) {
    const result = spawnSync("apt-get", args, { stdio: ["ignore", "ignore", "inherit"] });
    if (result.status !== 0) {
      throw new BenchSetupError(`\`apt-get ${args.join(" ")}\` failed with exit code ${result.status}; install ${H2LOAD_PACKAGE} by hand`);
    }
  }
  if (!hasH2load()) {
    throw new BenchSetupError(`${H2LOAD_PACKAGE} is installed but h2load is still not on the PATH`);
  }
}

/** Returns the first line of `h2load --version`, for example "h2load nghttp2/1.52.0". */
export function h2loadVersion(): string {
  const result = spawnSync("h2load", ["--version"], { encoding: "utf8" });
  return result.stdout.split("\n")[0]?.trim() ?? "unknown";
}

/** Writes a request body for `h2load -d`: one gRPC length-prefixed, uncompressed message. */
export function writeGrpcFrame(path: string, message: Uint8Array): void {
  const frame = Buffer.alloc(GRPC_ENVELOPE_BYTES + message.length);
  frame.writeUInt8(0, 0);
  frame.writeUInt32BE(message.length, 1);
  frame.set(message, GRPC_ENVELOPE_BYTES);
  writeFileSync(path, frame);
}

/** Connections (h2load -c) and streams per connection (-m) whose product is the concurrency. */
export interface LoadShape {
  connections: number;
  streamsPerConnection: number;
}

/**
 * Spreads callers over connections the way gRPC clients multiplex them. The connection
 * count is the largest divisor of the caller count that is at most its square root.
 * So 1 caller is 1 × 1, 16 are 4 connections × 4 streams, and 64 are 8 × 8.
 */
export function loadShape(callers: number): LoadShape {
  let connections = 1;
  for (let candidate = 1; candidate * candidate <= callers; candidate++) {
    if (callers % candidate === 0) {
      connections = candidate;
    }
  }
  return { connections, streamsPerConnection: callers / connections };
}

export interface H2loadRequest {
  /** Full URL: the server's base URL plus the gRPC path. */
  url: string;
  /** File written by writeGrpcFrame. */
  frameFile: string;
  headers: Readonly<Record<string, string>>;
  shape: LoadShape;
}

/** Counters from h2load's summary. */
export interface H2loadSummary {
  done: number;
  succeeded: number;
  failed: number;
  errored: number;
  timeout: number;
  status2xx: number;
  /** Bytes of DATA frame payload received; with --warm-up-time it would include the warm-up. */
  dataBytes: number;
}

function commonArgs(request: H2loadRequest): string[] {
  const headers = { "content-type": "application/grpc", te: "trailers", ...request.headers };
  return [
    "-t",
    "1",
    "-c",
    String(request.shape.connections),
    "-m",
    String(request.shape.streamsPerConnection),
    "-d",
    request.frameFile,
    ...Object.entries(headers).flatMap(([name, value]) => ["-H", `${name}: ${value}`]),
  ];
}

function counter(output: string, pattern: RegExp, what: string): number {
  const match = pattern.exec(output);
  if (match?.[1] === undefined) {
    throw new Error(`h2load output has no ${what}; output was:\n${output}`);
  }
  return Number(match[1]);
}

export function parseH2loadSummary(output: string): H2loadSummary {
  return {
    done: counter(output, /(\d+) done/, "done count"),
    succeeded: counter(output, /(\d+) succeeded/, "succeeded count"),
    failed: counter(output, /(\d+) failed/, "failed count"),
    errored: counter(output, /(\d+) errored/, "errored count"),
    timeout: counter(output, /(\d+) timeout/, "timeout count"),
    status2xx: counter(output, /status codes: (\d+) 2xx/, "2xx count"),
    dataBytes: counter(output, /\((\d+)\) data/, "data byte count"),
  };
}

interface H2loadRun {
  output: string;
  /** CPU time of h2load divided by its wall time, from the last sample before it exited. */
  cpuCores: number;
  wallS: number;
}

async function runH2load(args: readonly string[], timeoutMs: number): Promise<H2loadRun> {
  const startedAt = performance.now();
  const child = spawn("h2load", args, { stdio: ["ignore", "pipe", "pipe"] });
  let output = "";
  child.stdout.setEncoding("utf8").on("data", (chunk: string) => (output += chunk));
  child.stderr.setEncoding("utf8").on("data", (chunk: string) => (output += chunk));

  let lastSample = { cpuS: 0, atMs: startedAt };
  const sampler = setInterval(() => {
    const cpuS = child.pid === undefined ? undefined : processCpuSeconds(child.pid);
    if (cpuS !== undefined) {
      lastSample = { cpuS, atMs: performance.now() };
    }
  }, CPU_SAMPLE_INTERVAL_MS);
  const killer = setTimeout(() => child.kill("SIGKILL"), timeoutMs);

  try {
    const [code, signal] = (await once(child, "exit")) as [number | null, NodeJS.Signals | null];
    if (code !== 0) {
      throw new Error(`h2load ${args.join(" ")} ended with ${signal ?? `exit code ${code}`}; output was:\n${output}`);
    }
  } finally {
    clearInterval(sampler);
    clearTimeout(killer);
  }

  const sampledMs = lastSample.atMs - startedAt;
  return {
    output,
    cpuCores: sampledMs > 0 ? lastSample.cpuS / (sampledMs / 1000) : Number.NaN,
    wallS: (performance.now() - startedAt) / 1000,
  };
}

/**
 * Sends a fixed number of requests and checks that every one was a successful gRPC
 * call. h2load counts HTTP status only, and a gRPC error is also HTTP 200 with
 * grpc-status in the trailers. An error carries no response message, though, so the
 * DATA bytes must be exactly one enveloped response message per request.
 */
export async function verifyResponses(request: H2loadRequest, requests: number, responseMessageBytes: number): Promise<void> {
  const args = [...commonArgs(request), "-n", String(requests), request.url];
  const run = await runH2load(args, H2LOAD_GRACE_MS);
  const summary = parseH2loadSummary(run.output);
  checkNoFailures(summary, request.url);
  const expectedData = requests * (GRPC_ENVELOPE_BYTES + responseMessageBytes);

  const problems: string[] = [];
  if (summary.succeeded !== requests || summary.status2xx !== requests) {
    problems.push(`${summary.succeeded} of ${requests} requests succeeded with ${summary.status2xx} HTTP 2xx`);
  }
  if (summary.dataBytes !== expectedData) {
    problems.push(
      `received ${summary.dataBytes} DATA bytes, expected ${expectedData} (${requests} × ${GRPC_ENVELOPE_BYTES + responseMessageBytes}); some calls ended with a gRPC error status`,
    );
  }
  if (problems.length > 0) {
    throw new Error(`h2load check of ${request.url} failed: ${problems.join("; ")}`);
  }
}

export interface TimedRun {
  durationS: number;
  warmupS: number;
  /** File for h2load --log-file; read back for the latency percentiles, then deleted. */
  logFile: string;
  /** Process whose CPU use is reported as the target's. */
  targetPid: number;
  /** Protobuf size of a successful response message, for the DATA byte check. */
  responseMessageBytes: number;
}

interface LogCounts {
  latencies: Float64Array;
  /** Requests with status 0: in flight when the timed window closed. */
  cut: number;
  /** Status code → count, for statuses other than 200 and 0. */
  unexpected: Map<number, number>;
}

/** Reads h2load's per-request log: start time (µs since epoch), HTTP status, latency (µs). */
function readLog(path: string): LogCounts {
  const lines = readFileSync(path, "utf8").split("\n");
  const latencies = new Float64Array(lines.length);
  let count = 0;
  let cut = 0;
  const unexpected = new Map<number, number>();

  for (const line of lines) {
    if (line === "") {
      continue;
    }
    const [, statusText, latencyText] = line.split("\t");
    const status = Number(statusText);
    if (status === 200) {
      latencies[count++] = Number(latencyText);
    } else if (status === 0) {
      cut++;
    } else {
      unexpected.set(status, (unexpected.get(status) ?? 0) + 1);
    }
  }
  return { latencies: latencies.subarray(0, count), cut, unexpected };
}

/** Formats seconds as an h2load duration, which takes whole numbers with a unit. */
function h2loadDuration(seconds: number): string {
  return `${Math.round(seconds * 1000)}ms`;
}

function checkNoFailures(summary: H2loadSummary, url: string): void {
  if (summary.failed + summary.errored + summary.timeout > 0) {
    throw new Error(
      `h2load reported ${summary.failed} failed, ${summary.errored} errored and ${summary.timeout} timed-out requests against ${url}`,
    );
  }
}

/**
 * Runs a warm-up and then a timed window, each as its own h2load run with the same
 * request and shape, and returns what the timed window measured. A separate warm-up run
 * keeps the timed run's DATA byte count to its own requests, so every point is checked
 * for gRPC errors the way verifyResponses checks them.
 */
export async function measureTimed(request: H2loadRequest, run: TimedRun): Promise<PointMeasurement> {
  const warmup = await runH2load([...commonArgs(request), "-D", h2loadDuration(run.warmupS), request.url], run.warmupS * 1000 + H2LOAD_GRACE_MS);
  checkNoFailures(parseH2loadSummary(warmup.output), request.url);

  // h2load appends to an existing log file, so a leftover one would add stale entries.
  rmSync(run.logFile, { force: true });
  const args = [...commonArgs(request), "-D", h2loadDuration(run.durationS), "--log-file", run.logFile, request.url];
  const targetCpuBefore = processCpuSeconds(run.targetPid);
  const h2load = await runH2load(args, run.durationS * 1000 + H2LOAD_GRACE_MS);
  const targetCpuAfter = processCpuSeconds(run.targetPid);
  if (targetCpuBefore === undefined || targetCpuAfter === undefined) {
    throw new Error(`the server under test (pid ${run.targetPid}) exited during the run`);
  }

  const summary = parseH2loadSummary(h2load.output);
  checkNoFailures(summary, request.url);

  const log = readLog(run.logFile);
  const callers = request.shape.connections * request.shape.streamsPerConnection;
  if (log.unexpected.size > 0) {
    const statuses = [...log.unexpected].map(([status, count]) => `${count} × HTTP ${status}`).join(", ");
    throw new Error(`h2load log ${run.logFile} contains non-200 responses: ${statuses}`);
  }
  if (log.cut > callers) {
    throw new Error(`h2load log ${run.logFile} contains ${log.cut} unfinished requests, more than the ${callers} callers could leave open`);
  }

  // Each logged call brings one enveloped message. Calls still in flight when the window
  // closes may bring one more each without a log entry, at most one per caller.
  const requests = log.latencies.length;
  const responseBytes = GRPC_ENVELOPE_BYTES + run.responseMessageBytes;
  if (summary.dataBytes < requests * responseBytes || summary.dataBytes > (requests + callers) * responseBytes) {
    throw new Error(
      `h2load received ${summary.dataBytes} DATA bytes for ${requests} completed requests of ${responseBytes} bytes each ` +
        `against ${request.url}; some calls ended with a gRPC error status`,
    );
  }

  // The log of a passing point is several megabytes and no longer needed. A failing one stays for inspection.
  rmSync(run.logFile);
  return {
    requests,
    durationS: run.durationS,
    throughput: requests / run.durationS,
    latencyUs: summarizeLatencies(log.latencies),
    targetCpuCores: (targetCpuAfter - targetCpuBefore) / h2load.wallS,
    loadGeneratorCpuCores: h2load.cpuCores,
    connections: request.shape.connections,
    streamsPerConnection: request.shape.streamsPerConnection,
    cutAtEnd: log.cut,
  };
}
