// `npm run bench`: installs dependencies when needed, compiles the project (src and
// bench), then runs the benchmark runners from dist. Arguments are passed through; see
// `npm run bench -- --help` and docs/benchmarks.md.
import { spawnSync } from "node:child_process";
import { fileURLToPath } from "node:url";
import { ensureInstalled } from "./ensure-built.mjs";

const root = fileURLToPath(new URL("..", import.meta.url));

function run(command, args) {
  const result = spawnSync(command, args, { cwd: root, stdio: "inherit" });
  if (result.status !== 0) {
    process.exit(result.status ?? 1);
  }
}

ensureInstalled();
console.error("bench: compiling…");
run("npx", ["tsc", "-p", "tsconfig.json"]);
// The isolation scenarios time single requests and paced traffic, so their own runner
// runs them; every other scenario and option goes to the throughput runner.
const ISOLATION_SCENARIOS = new Set(["setup-latency", "noisy-neighbour"]);
const args = process.argv.slice(2);
const requested = args.flatMap((arg, index) => (args[index - 1] === "--scenario" ? [arg] : []));
const isolation = requested.filter((name) => ISOLATION_SCENARIOS.has(name));
const throughputArgs = args.filter(
  (arg, index) => !(ISOLATION_SCENARIOS.has(arg) && args[index - 1] === "--scenario") && !(arg === "--scenario" && ISOLATION_SCENARIOS.has(args[index + 1] ?? "")),
);
const informational = args.includes("--help") || args.includes("--list");

if (informational || requested.length === 0 || requested.length > isolation.length) {
  run(process.execPath, ["dist/bench/run-bench.js", ...throughputArgs]);
}
if (informational) {
  console.log(`Isolation scenarios (bench/isolation): ${[...ISOLATION_SCENARIOS].join(", ")}`);
} else if (requested.length === 0 || isolation.length > 0) {
  const quick = args.includes("--quick") ? ["--quick"] : [];
  run(process.execPath, ["dist/bench/isolation/run-isolation-bench.js", ...isolation.flatMap((name) => ["--scenario", name]), ...quick]);
}
