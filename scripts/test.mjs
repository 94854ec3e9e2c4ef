// `npm test`: installs and compiles what is missing, type-checks, lints, then runs every
// test file under dist/test with Node's test runner. Extra arguments select test files.
import { spawnSync } from "node:child_process";
import { ensureInstalled } from "./ensure-built.mjs";

function run(command, args) {
  const result = spawnSync(command, args, { stdio: "inherit" });
  if (result.status !== 0) {
    process.exit(result.status ?? 1);
  }
}

ensureInstalled();
console.error("prism: type-checking and compiling…");
run("npx", ["tsc", "-p", "tsconfig.json"]);
console.error("prism: linting…");
run("npx", ["eslint", "--max-warnings=0", "."]);

const selected = process.argv.slice(2);
const files = selected.length > 0 ? selected : ["dist/test/"];
run(process.execPath, ["--test", "--test-concurrency=2", "--test-timeout=120000", ...files]);
