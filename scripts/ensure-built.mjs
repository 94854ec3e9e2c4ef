// Installs dependencies when they are missing or older than the lockfile, and compiles
// the TypeScript when any source is newer than the last build. Uses only Node built-ins,
// so it runs from a fresh clone.
import { spawnSync } from "node:child_process";
import { existsSync, readdirSync, statSync } from "node:fs";
import { join } from "node:path";

const root = new URL("..", import.meta.url).pathname;

function run(command, args) {
  const result = spawnSync(command, args, { cwd: root, stdio: "inherit" });
  if (result.status !== 0) {
    process.exit(result.status ?? 1);
  }
}

function newestMtime(dir) {
  let newest = 0;
  for (const entry of readdirSync(join(root, dir), { withFileTypes: true })) {
    const path = join(dir, entry.name);
    const mtime = entry.isDirectory() ? newestMtime(path) : statSync(join(root, path)).mtimeMs;
    newest = Math.max(newest, mtime);
  }
  return newest;
}

export function ensureInstalled() {
  const marker = join(root, "node_modules", ".package-lock.json");
  const lock = join(root, "package-lock.json");
  if (!existsSync(marker) || statSync(marker).mtimeMs < statSync(lock).mtimeMs) {
    console.error("prism: installing dependencies (npm ci)…");
    run("npm", ["ci", "--no-audit", "--no-fund", "--loglevel=error"]);
  }
}

export function ensureBuilt() {
  const stamp = join(root, "dist", ".tsbuildinfo");
  const sources = Math.max(newestMtime("src"), statSync(join(root, "tsconfig.json")).mtimeMs);
  if (!existsSync(stamp) || statSync(stamp).mtimeMs < sources) {
    console.error("prism: compiling TypeScript…");
    run("npx", ["tsc", "-p", "tsconfig.json"]);
  }
}
