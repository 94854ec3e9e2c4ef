import { createClient, type Transport } from "@connectrpc/connect";
import { createGrpcTransport, Http2SessionManager } from "@connectrpc/connect-node";
import { KeyValueBasicInterface } from "../../src/gen/prism/interfaces/keyvalue/keyvalue_basic_pb.js";
import { PubSubBasicInterface } from "../../src/gen/prism/interfaces/pubsub/pubsub_basic_pb.js";
import { PostgresBenchSchema } from "../backends/postgres-bench-schema.js";
import { BENCH_TOPIC } from "../backends/publish-operation.js";
import { benchValue } from "../keyvalue-operations.js";
import { summarizeLatencies, type LatencySummary } from "../measurement.js";
import { ISOLATION_LEVELS, isolationTenant, startIsolationProxy, type IsolationBackend, type IsolationLevelName } from "./isolation-proxy.js";
import { deleteRedisTenantKeys } from "./redis-cleanup.js";

/** Repetitions per level and backend in a full run, and in a quick run. */
export const SETUP_REPETITIONS = 50;
export const QUICK_SETUP_REPETITIONS = 10;

const BACKENDS: readonly IsolationBackend[] = ["redis", "postgres", "nats"];

/** Latency percentiles in microseconds of the three request kinds of one level and backend. */
export interface SetupLatencyPoint {
  readonly level: IsolationLevelName;
  readonly backend: IsolationBackend;
  readonly rpc: string;
  readonly repetitions: number;
  /** First request of a new HTTP/2 connection in a namespace no request has used yet. */
  readonly newNamespaceUs: LatencySummary;
  /** First request of a new HTTP/2 connection in a namespace an earlier connection already used. */
  readonly newSessionUs: LatencySummary;
  /** Second request on the connection of newNamespaceUs. */
  readonly warmUs: LatencySummary;
}

type Call = (transport: Transport, headers: Record<string, string>, key: string) => Promise<void>;

function rpcCall(backend: IsolationBackend): { rpc: string; call: Call } {
  const value = benchValue();
  if (backend === "nats") {
    return {
      rpc: "Publish",
      call: async (transport, headers) => {
        const response = await createClient(PubSubBasicInterface, transport).publish({ topic: BENCH_TOPIC, payload: value }, { headers });
        if (!response.success) {
          throw new Error(`Publish failed: ${response.error}`);
        }
      },
    };
  }
  return {
    rpc: "Set",
    call: async (transport, headers, key) => {
      const response = await createClient(KeyValueBasicInterface, transport).set({ key, value }, { headers });
      if (!response.success) {
        throw new Error(`Set failed: ${response.error}`);
      }
    },
  };
}

/** Times one call from its start to its response, in microseconds. */
async function timed(action: () => Promise<void>): Promise<number> {
  const start = process.hrtime.bigint();
  await action();
  return Number(process.hrtime.bigint() - start) / 1000;
}

/** Opens a new HTTP/2 connection (a new session for the proxy) and returns its transport and closer. */
function newSession(baseUrl: string): { transport: Transport; close: () => void } {
  const sessionManager = new Http2SessionManager(baseUrl);
  return { transport: createGrpcTransport({ baseUrl, sessionManager }), close: () => sessionManager.abort() };
}

async function measurePoint(
  root: string,
  workDir: string,
  level: IsolationLevelName,
  backend: IsolationBackend,
  repetitions: number,
): Promise<SetupLatencyPoint> {
  const tenant = isolationTenant("setup");
  const schema = backend === "postgres" ? PostgresBenchSchema.withUniqueName("setup") : undefined;
  await schema?.create();
  try {
    const server = await startIsolationProxy({ root, workDir, level, backend, tenant, ...(schema === undefined ? {} : { postgresSchema: schema }) });
    try {
      const { rpc, call } = rpcCall(backend);
      // One untimed request first, so the proxy's own lazy start-up (module loading, JIT of the
      // request path) does not land in the first repetition.
      const warmUp = newSession(server.baseUrl);
      await call(warmUp.transport, tenant.headers("warm-up"), "k");
      warmUp.close();

      const newNamespace = new Float64Array(repetitions);
      const newSessionOnly = new Float64Array(repetitions);
      const warm = new Float64Array(repetitions);
      for (let index = 0; index < repetitions; index++) {
        const headers = tenant.headers(`ns${index}`);
        const first = newSession(server.baseUrl);
        newNamespace[index] = await timed(() => call(first.transport, headers, `k${index}`));
        warm[index] = await timed(() => call(first.transport, headers, `k${index}`));
        first.close();

        const second = newSession(server.baseUrl);
        newSessionOnly[index] = await timed(() => call(second.transport, headers, `k${index}`));
        second.close();
      }
      return {
        level,
        backend,
        rpc,
        repetitions,
        newNamespaceUs: summarizeLatencies(newNamespace),
        newSessionUs: summarizeLatencies(newSessionOnly),
        warmUs: summarizeLatencies(warm),
      };
    } finally {
      await server.stop();
      if (backend === "redis") {
        await deleteRedisTenantKeys(tenant.id);
      }
    }
  } finally {
    await schema?.drop();
  }
}

/**
 * Runs setup-latency. Each isolation level and backend gets a fresh proxy and `repetitions`
 * rounds. A round times a first request on a new connection in a new namespace, a second
 * request on that connection, and a first request on another new connection in the same namespace.
 */
export async function runSetupLatency(root: string, workDir: string, repetitions: number, progress: (message: string) => void): Promise<SetupLatencyPoint[]> {
  const points: SetupLatencyPoint[] = [];
  for (const backend of BACKENDS) {
    for (const level of ISOLATION_LEVELS) {
      const point = await measurePoint(root, workDir, level, backend, repetitions);
      progress(
        `[setup-latency] ${backend} ${point.rpc} ${level}: new namespace p50 ${point.newNamespaceUs.p50.toFixed(0)} µs, ` +
          `new session p50 ${point.newSessionUs.p50.toFixed(0)} µs, warm p50 ${point.warmUs.p50.toFixed(0)} µs`,
      );
      points.push(point);
    }
  }
  return points;
}
