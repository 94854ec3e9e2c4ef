// `npm start`: installs and compiles what is missing, then runs the proxy on the demo
// configuration (embedded in-memory backend, no external service needed).
import { spawn } from "node:child_process";
import { ensureBuilt, ensureInstalled } from "./ensure-built.mjs";

ensureInstalled();
ensureBuilt();

const args = ["dist/src/bin/prism-proxy.js", "--config", process.env.PRISM_CONFIG ?? "config/demo.yaml", "--demo"];
const child = spawn(process.execPath, [...args, ...process.argv.slice(2)], { stdio: "inherit" });
for (const signal of ["SIGINT", "SIGTERM"]) {
  process.on(signal, () => child.kill(signal));
}
child.on("exit", (code, signal) => process.exit(code ?? (signal === null ? 1 : 0)));
