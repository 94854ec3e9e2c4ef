import { publishNatsScenario } from "./backends/nats-scenario.js";
import { keyValuePostgresScenario } from "./backends/postgres-scenario.js";
import { keyValueRedisScenario, publishRedisScenario } from "./backends/redis-scenarios.js";
import { keyValueGet, keyValueSet } from "./keyvalue-operations.js";
import type { Scenario } from "./scenario.js";
import { connectPassThroughTarget, passThroughTarget } from "./targets/baseline-server-target.js";
import { proxyTarget } from "./targets/proxy-target.js";

/** Concurrent callers of every KeyValue scenario. */
export const KEYVALUE_CONCURRENCIES = [1, 16, 64] as const;

/** A demo tenant's namespace and API key (config/demo.yaml); the keys are public demo keys. */
const ACME_HEADERS = { "x-prism-namespace": "acme-bench", authorization: "Bearer acme-demo-key" } as const;

/**
 * The scenarios `npm run bench` runs, in order. A scenario for another
 * backend is one more entry: the same operations, a proxyTarget whose `configure` selects
 * that backend, and the baselines that make sense for it.
 */
export const SCENARIOS: readonly Scenario[] = [
  {
    name: "keyvalue-memory",
    description:
      "KeyValue Set and Get on the embedded memory backend: the driver in-process, a plain grpc-js pass-through server, " +
      "the proxy's Connect server stack without the pipeline, and the full proxy.",
    operations: [keyValueSet(), keyValueGet()],
    concurrencies: KEYVALUE_CONCURRENCIES,
    targets: [
      { kind: "in-process", name: "in-process", label: "In-process", workerScript: "dist/bench/in-process/memory-keyvalue-worker.js" },
      passThroughTarget(),
      connectPassThroughTarget(),
      proxyTarget({ configName: "proxy-memory" }),
    ],
    headers: ACME_HEADERS,
    ratios: [
      { numerator: "proxy", denominator: "pass-through" },
      { numerator: "proxy", denominator: "connect-pass-through" },
    ],
  },
  // The real backends on the machine's shared servers, each measured against its own client
  // library called directly, at the caller counts of keyvalue-memory.
  keyValueRedisScenario(KEYVALUE_CONCURRENCIES),
  keyValuePostgresScenario(KEYVALUE_CONCURRENCIES),
  publishNatsScenario(KEYVALUE_CONCURRENCIES),
  publishRedisScenario(KEYVALUE_CONCURRENCIES),
];

// The isolation benchmarks (setup-latency, noisy-neighbour) time single requests and paced
// traffic instead of throughput points, so they run through
// `node dist/bench/isolation/run-isolation-bench.js` and are listed here for reference.
export { ISOLATION_SCENARIOS } from "./isolation/isolation-scenarios.js";
