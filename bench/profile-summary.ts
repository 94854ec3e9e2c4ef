// Summarizes a V8 CPU profile written by `node --cpu-prof` (for example by
// `npm run bench -- --target proxy --cpu-prof proxy`): self and total time per function
// and self time per package, with compiled dist locations mapped back to the TypeScript
// sources through their source maps.
//
// Usage: node dist/bench/profile-summary.js FILE.cpuprofile [--top N]
import { existsSync, readFileSync } from "node:fs";
import { SourceMap, type SourceMapPayload } from "node:module";
import { fileURLToPath } from "node:url";
import { relative } from "node:path";
import { parseArgs } from "node:util";

const DEFAULT_TOP = 25;

interface CallFrame {
  functionName: string;
  url: string;
  /** 0-based. */
  lineNumber: number;
  /** 0-based. */
  columnNumber: number;
}

interface ProfileNode {
  id: number;
  callFrame: CallFrame;
  children?: number[];
}

interface CpuProfile {
  nodes: ProfileNode[];
  startTime: number;
  endTime: number;
  samples: number[];
  /** Microseconds since the previous sample. */
  timeDeltas: number[];
}

const ROOT = fileURLToPath(new URL("../..", import.meta.url));
const sourceMaps = new Map<string, SourceMap | undefined>();

function sourceMapFor(path: string): SourceMap | undefined {
  if (!sourceMaps.has(path)) {
    const mapPath = `${path}.map`;
    sourceMaps.set(
      path,
      existsSync(mapPath) ? new SourceMap(JSON.parse(readFileSync(mapPath, "utf8")) as SourceMapPayload) : undefined,
    );
  }
  return sourceMaps.get(path);
}

/** "src/pipeline/pipeline.ts:52 run" for project code, "node_modules/…/file.js:10 name" otherwise. */
function describeFrame(frame: CallFrame): string {
  const name = frame.functionName || "(anonymous)";
  if (!frame.url.startsWith("file://")) {
    return frame.url === "" ? name : `${frame.url}:${frame.lineNumber + 1} ${name}`;
  }

  const path = fileURLToPath(frame.url);
  const entry = sourceMapFor(path)?.findEntry(frame.lineNumber, frame.columnNumber);
  if (entry !== undefined && "originalSource" in entry) {
    const source = entry.originalSource.startsWith("file://") ? fileURLToPath(entry.originalSource) : entry.originalSource;
    const resolved = source.startsWith("/") ? source : new URL(source, frame.url).pathname;
    return `${relative(ROOT, resolved)}:${entry.originalLine + 1} ${name}`;
  }
  return `${relative(ROOT, path)}:${frame.lineNumber + 1} ${name}`;
}

/** Groups a frame by package: "node_modules/@connectrpc/connect", "node:internal", "src", "(gc)"… */
function areaOf(frame: CallFrame): string {
  if (frame.url === "") {
    return frame.functionName.startsWith("(") ? frame.functionName : "(native)";
  }
  if (frame.url.startsWith("node:")) {
    return "node: built-ins";
  }
  const path = frame.url.startsWith("file://") ? relative(ROOT, fileURLToPath(frame.url)) : frame.url;
  const match = /^node_modules\/((?:@[^/]+\/)?[^/]+)/.exec(path);
  if (match?.[1] !== undefined) {
    return match[1];
  }
  // Compiled project code is reported under its source folder: dist/src/x → src/x.
  return path.replace(/^dist\//, "").split("/").slice(0, 2).join("/");
}

function addTo(totals: Map<string, number>, key: string, us: number): void {
  totals.set(key, (totals.get(key) ?? 0) + us);
}

function top(totals: Map<string, number>, count: number, wholeUs: number): string[] {
  return [...totals]
    .sort((left, right) => right[1] - left[1])
    .slice(0, count)
    .map(([key, us]) => `${((100 * us) / wholeUs).toFixed(1).padStart(5)}%  ${(us / 1000).toFixed(0).padStart(7)} ms  ${key}`);
}

function main(): void {
  const { values, positionals } = parseArgs({ allowPositionals: true, options: { top: { type: "string" } } });
  const file = positionals[0];
  if (file === undefined) {
    process.stderr.write("Usage: profile-summary FILE.cpuprofile [--top N]\n");
    process.exitCode = 2;
    return;
  }
  const count = values.top === undefined ? DEFAULT_TOP : Number(values.top);
  const profile = JSON.parse(readFileSync(file, "utf8")) as CpuProfile;

  const byId = new Map(profile.nodes.map((node) => [node.id, node]));
  const parentOf = new Map<number, number>();
  for (const node of profile.nodes) {
    for (const child of node.children ?? []) {
      parentOf.set(child, node.id);
    }
  }

  const self = new Map<string, number>();
  const total = new Map<string, number>();
  const areas = new Map<string, number>();
  let wholeUs = 0;
  let idleUs = 0;

  profile.samples.forEach((id, index) => {
    const us = profile.timeDeltas[index] ?? 0;
    const node = byId.get(id);
    if (node === undefined) {
      return;
    }
    if (node.callFrame.functionName === "(idle)") {
      idleUs += us;
      return;
    }
    wholeUs += us;
    addTo(self, describeFrame(node.callFrame), us);
    addTo(areas, areaOf(node.callFrame), us);

    // A recursive function counts once per sample in its total time.
    const seen = new Set<string>();
    for (let current: number | undefined = id; current !== undefined; current = parentOf.get(current)) {
      const frame = byId.get(current)?.callFrame;
      if (frame === undefined) {
        break;
      }
      const key = describeFrame(frame);
      if (!seen.has(key)) {
        seen.add(key);
        addTo(total, key, us);
      }
    }
  });

  const lines = [
    `${file}: ${(wholeUs / 1e6).toFixed(2)} s busy, ${(idleUs / 1e6).toFixed(2)} s idle; percentages are of busy time`,
    "",
    "Self time by package:",
    ...top(areas, count, wholeUs),
    "",
    "Self time by function:",
    ...top(self, count, wholeUs),
    "",
    "Total time (self plus callees) by function:",
    ...top(total, count, wholeUs),
  ];
  process.stdout.write(`${lines.join("\n")}\n`);
}

main();
