// In-process baseline: MemoryKeyValueDriver called directly, without any network, codec
// or pipeline. Prints one JSON PointMeasurement line on stdout.
//
// Usage: node dist/bench/in-process/memory-keyvalue-worker.js --operation Set|Get
//          --concurrency N --warmup-ms MS --duration-ms MS
import { parseArgs } from "node:util";
import { MemoryKeyValueDriver } from "../../src/backends/memory/memory-keyvalue.js";
import { DEFAULT_KEY_FORMAT, PrefixStrategy } from "../../src/isolation/prefix-strategy.js";
import { BENCH_KEY, benchValue } from "../keyvalue-operations.js";
import { runCallLoop } from "./call-loop.js";

const BASELINE_TENANT_ID = "bench";

function positiveInteger(text: string | undefined, option: string): number {
  const value = Number(text);
  if (!Number.isInteger(value) || value <= 0) {
    throw new Error(`--${option} must be a positive integer, got ${JSON.stringify(text)}`);
  }
  return value;
}

async function main(): Promise<void> {
  const { values } = parseArgs({
    options: {
      operation: { type: "string" },
      concurrency: { type: "string" },
      "warmup-ms": { type: "string" },
      "duration-ms": { type: "string" },
    },
  });

  const driver = new MemoryKeyValueDriver(new PrefixStrategy(DEFAULT_KEY_FORMAT, "key"));
  const store = driver.forTenant(BASELINE_TENANT_ID);
  const value = benchValue();
  await store.set(BENCH_KEY, value);

  let call: () => Promise<unknown>;
  switch (values.operation) {
    case "Set":
      call = () => store.set(BENCH_KEY, value);
      break;
    case "Get":
      call = () => store.get(BENCH_KEY);
      break;
    default:
      throw new Error(`--operation must be Set or Get, got ${JSON.stringify(values.operation)}`);
  }

  const measurement = await runCallLoop(call, {
    concurrency: positiveInteger(values.concurrency, "concurrency"),
    warmupMs: positiveInteger(values["warmup-ms"], "warmup-ms"),
    durationMs: positiveInteger(values["duration-ms"], "duration-ms"),
  });
  await driver.close();
  process.stdout.write(`${JSON.stringify(measurement)}\n`);
}

main().catch((error: unknown) => {
  process.stderr.write(`memory-keyvalue-worker: ${error instanceof Error ? error.message : String(error)}\n`);
  process.exitCode = 1;
});
