import { spawn } from "node:child_process";
import { once } from "node:events";
import { join } from "node:path";
import { setTimeout as sleep } from "node:timers/promises";
import { create, toBinary } from "@bufbuild/protobuf";
import { Code, ConnectError, createClient } from "@connectrpc/connect";
import { createGrpcTransport, Http2SessionManager } from "@connectrpc/connect-node";
import { KeyValueBasicInterface, SetRequestSchema, SetResponseSchema } from "../../src/gen/prism/interfaces/keyvalue/keyvalue_basic_pb.js";
import { benchValue } from "../keyvalue-operations.js";
import { GRPC_ENVELOPE_BYTES, parseH2loadSummary, writeGrpcFrame, type H2loadSummary } from "../load/h2load.js";
import { summarizeLatencies, type LatencySummary } from "../measurement.js";
import { ISOLATION_LEVELS, isolationTenant, startIsolationProxy, type IsolationLevelName } from "./isolation-proxy.js";
import { deleteRedisTenantKeys } from "./redis-cleanup.js";

/** max_rps of every namespace of the bench tenant. */
export const NOISY_MAX_RPS = 200;

/** Rate the flooding namespace offers: ten times its max_rps. */
export const FLOOD_RPS = NOISY_MAX_RPS * 10;

/** h2load connections of the flood; each sends FLOOD_RPS / FLOOD_CONNECTIONS requests per second. */
const FLOOD_CONNECTIONS = 4;

/** Streams each flood connection may keep open, so a slow response does not lower the offered rate. */
const FLOOD_STREAMS_PER_CONNECTION = 16;

/** Rate of the steady namespace. It is below max_rps, so the limiter rejects it only when its requests arrive in bunches larger than the burst. */
export const STEADY_RPS = 100;

/** Time the flood runs before the steady window opens, so the flood namespace's token bucket is already drained. */
const FLOOD_LEAD_MS = 1000;

/** Untimed steady traffic right after the proxy starts, so JIT compilation of the request path stays out of both windows. */
const STEADY_WARM_UP_MS = 2000;

/** DATA bytes of one successful Set reply. A rejected request ends with trailers only, so it adds none. */
const SET_REPLY_BYTES = GRPC_ENVELOPE_BYTES + toBinary(SetResponseSchema, create(SetResponseSchema, { success: true })).length;

export interface SteadyWindow {
  readonly sent: number;
  readonly failed: number;
  /**
   * Failed requests by gRPC status code name, or "unsuccessful" for a reply with success false.
   * NOTE: only the code is kept, so a RESOURCE_EXHAUSTED from max_rps and one from max_in_flight look the same.
   */
  readonly failures: Record<string, number>;
  /** Latency of the successful requests, in microseconds. */
  readonly latencyUs: LatencySummary;
}

export interface NoisyNeighbourPoint {
  readonly level: IsolationLevelName;
  readonly alone: SteadyWindow;
  readonly withFlood: SteadyWindow;
  /** h2load's counters of the flood: every request counts as done, admitted or rejected. */
  readonly flood: H2loadSummary & {
    readonly offeredRps: number;
    readonly wallS: number;
    /** Requests the proxy admitted and returned a Set reply for, estimated from the DATA bytes. */
    readonly admitted: number;
  };
}

/**
 * Sends KeyValue Set at `rps` on one HTTP/2 connection for `durationMs`, each request at its
 * scheduled time without waiting for earlier ones, and returns the latencies of the replies.
 */
async function runSteady(baseUrl: string, headers: Record<string, string>, rps: number, durationMs: number): Promise<SteadyWindow> {
  const sessionManager = new Http2SessionManager(baseUrl);
  const client = createClient(KeyValueBasicInterface, createGrpcTransport({ baseUrl, sessionManager }));
  const value = benchValue();
  const intervalMs = 1000 / rps;
  const count = Math.round((durationMs / 1000) * rps);
  const latencies: number[] = [];
  let failed = 0;
  const failures: Record<string, number> = {};
  const countFailure = (reason: string): void => {
    failed++;
    failures[reason] = (failures[reason] ?? 0) + 1;
  };
  const calls: Promise<void>[] = [];

  // The connection is opened before the window, so the first request is not a setup.
  await client.set({ key: "steady", value }, { headers });
  const start = performance.now();
  for (let index = 0; index < count; index++) {
    const due = start + index * intervalMs;
    const wait = due - performance.now();
    if (wait > 0) {
      await sleep(wait);
    }
    const sentAt = performance.now();
    calls.push(
      client.set({ key: "steady", value }, { headers }).then(
        (response) => {
          if (response.success) {
            latencies.push((performance.now() - sentAt) * 1000);
          } else {
            countFailure("unsuccessful");
          }
        },
        (error: unknown) => {
          if (!(error instanceof ConnectError)) {
            throw error;
          }
          countFailure(Code[error.code]);
        },
      ),
    );
  }
  await Promise.all(calls);
  sessionManager.abort();
  return { sent: count, failed, failures, latencyUs: summarizeLatencies(Float64Array.from(latencies)) };
}

async function runFlood(
  url: string,
  frameFile: string,
  headers: Record<string, string>,
  durationS: number,
): Promise<NoisyNeighbourPoint["flood"]> {
  const allHeaders = { "content-type": "application/grpc", te: "trailers", ...headers };
  const args = [
    "-t",
    "1",
    "-c",
    String(FLOOD_CONNECTIONS),
    "-m",
    String(FLOOD_STREAMS_PER_CONNECTION),
    "--rps",
    String(FLOOD_RPS / FLOOD_CONNECTIONS),
    "-D",
    String(durationS),
    "-d",
    frameFile,
    ...Object.entries(allHeaders).flatMap(([name, value]) => ["-H", `${name}: ${value}`]),
    url,
  ];
  const started = performance.now();
  const child = spawn("h2load", args, { stdio: ["ignore", "pipe", "pipe"] });
  let output = "";
  child.stdout.setEncoding("utf8").on("data", (chunk: string) => (output += chunk));
  child.stderr.setEncoding("utf8").on("data", (chunk: string) => (output += chunk));
  const [code] = (await once(child, "exit")) as [number | null];
  if (code !== 0) {
    throw new Error(`h2load flood exited with code ${code}; output:\n${output}`);
  }
  const summary = parseH2loadSummary(output);
  return { ...summary, offeredRps: FLOOD_RPS, wallS: (performance.now() - started) / 1000, admitted: Math.round(summary.dataBytes / SET_REPLY_BYTES) };
}

async function measureLevel(root: string, workDir: string, level: IsolationLevelName, durationS: number): Promise<NoisyNeighbourPoint> {
  const tenant = isolationTenant("noisy");
  const server = await startIsolationProxy({ root, workDir, level, backend: "redis", tenant, maxRps: NOISY_MAX_RPS });
  try {
    const steadyHeaders = tenant.headers("steady");
    const floodHeaders = tenant.headers("flood");
    const frameFile = join(workDir, "noisy-flood-set.grpc");
    writeGrpcFrame(frameFile, toBinary(SetRequestSchema, create(SetRequestSchema, { key: "flood", value: benchValue() })));

    await runSteady(server.baseUrl, steadyHeaders, STEADY_RPS, STEADY_WARM_UP_MS);
    const alone = await runSteady(server.baseUrl, steadyHeaders, STEADY_RPS, durationS * 1000);

    const floodDurationS = durationS + (2 * FLOOD_LEAD_MS) / 1000;
    const flood = runFlood(`${server.baseUrl}/prism.interfaces.keyvalue.KeyValueBasicInterface/Set`, frameFile, floodHeaders, floodDurationS);
    await sleep(FLOOD_LEAD_MS);
    const withFlood = await runSteady(server.baseUrl, steadyHeaders, STEADY_RPS, durationS * 1000);
    return { level, alone, withFlood, flood: await flood };
  } finally {
    await server.stop();
    await deleteRedisTenantKeys(tenant.id);
  }
}

/**
 * noisy-neighbour: for each isolation level, a fresh proxy on Redis whose namespaces
 * have max_rps NOISY_MAX_RPS. The steady namespace sends STEADY_RPS alone, then again
 * while h2load offers FLOOD_RPS in the flood namespace.
 */
export async function runNoisyNeighbour(root: string, workDir: string, durationS: number, progress: (message: string) => void): Promise<NoisyNeighbourPoint[]> {
  const points: NoisyNeighbourPoint[] = [];
  for (const level of ISOLATION_LEVELS) {
    const point = await measureLevel(root, workDir, level, durationS);
    progress(
      `[noisy-neighbour] ${level}: steady alone p50/p99 ${point.alone.latencyUs.p50.toFixed(0)}/${point.alone.latencyUs.p99.toFixed(0)} µs, ` +
        `with flood ${point.withFlood.latencyUs.p50.toFixed(0)}/${point.withFlood.latencyUs.p99.toFixed(0)} µs ` +
        `(${point.withFlood.failed} failed: ${JSON.stringify(point.withFlood.failures)}); flood ${point.flood.done} done, ${point.flood.admitted} admitted, in ${point.flood.wallS.toFixed(1)} s`,
    );
    points.push(point);
  }
  return points;
}
