// `npm run bench`: installs dependencies when needed, compiles the project (src and
// bench), then runs the benchmark runner from dist. Arguments are passed through; see
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
run(process.execPath, ["dist/bench/run-bench.js", ...process.argv.slice(2)]);
