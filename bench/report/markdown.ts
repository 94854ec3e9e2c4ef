import { readFileSync, writeFileSync } from "node:fs";
import type { Scenario } from "../scenario.js";
import type { PointRatio, PointSummary, RunResult } from "./run-result.js";

export const RESULTS_START_MARKER = "<!-- bench-results:start -->";
export const RESULTS_END_MARKER = "<!-- bench-results:end -->";

const integer = new Intl.NumberFormat("en-US", { maximumFractionDigits: 0 });

function formatLatencyUs(us: number): string {
  if (!Number.isFinite(us)) {
    return "–";
  }
  let digits = 0;
  if (us < 10) {
    digits = 2;
  } else if (us < 100) {
    digits = 1;
  }
  return new Intl.NumberFormat("en-US", { minimumFractionDigits: digits, maximumFractionDigits: digits }).format(us);
}

function formatCores(cores: number | undefined): string {
  return cores === undefined || !Number.isFinite(cores) ? "–" : cores.toFixed(2);
}

/** "364 (0.64; 0.02)": CPU µs per request, then target cores and, for server targets, h2load cores. */
function formatCpu(point: PointSummary | undefined): string {
  if (point === undefined) {
    return "–";
  }
  const generator = point.loadGeneratorCpuCores === undefined ? "" : `; ${formatCores(point.loadGeneratorCpuCores)}`;
  return `${formatLatencyUs(point.targetCpuUsPerRequest)} (${formatCores(point.targetCpuCores)}${generator})`;
}

function row(cells: readonly string[]): string {
  return `| ${cells.join(" | ")} |`;
}

function table(header: readonly string[], rows: readonly (readonly string[])[]): string[] {
  const alignment = header.map((_, index) => (index < 2 ? "---" : "---:"));
  return [row(header), row(alignment), ...rows.map(row)];
}

function throughputUnit(kind: "server" | "in-process"): string {
  return kind === "server" ? "req/s" : "calls/s";
}

function scenarioSection(scenario: Scenario, summaries: readonly PointSummary[], ratios: readonly PointRatio[]): string[] {
  const points = summaries.filter((summary) => summary.scenario === scenario.name);
  const targets = scenario.targets.filter((target) => points.some((point) => point.target === target.name));
  const labelOf = (name: string): string => scenario.targets.find((target) => target.name === name)?.label ?? name;
  const shownRatios = scenario.ratios.filter((spec) =>
    ratios.some((ratio) => ratio.scenario === scenario.name && ratio.numerator === spec.numerator && ratio.denominator === spec.denominator),
  );

  const throughputHeader = ["RPC", "Callers", ...targets.map((target) => `${target.label} ${throughputUnit(target.kind)}`)];
  throughputHeader.push(...shownRatios.map((spec) => `${labelOf(spec.numerator)} ÷ ${labelOf(spec.denominator)}`));
  const latencyHeader = ["RPC", "Callers", ...targets.map((target) => `${target.label} p50 / p99`)];
  const cpuHeader = ["RPC", "Callers", ...targets.map((target) => target.label)];

  const throughputRows: string[][] = [];
  const latencyRows: string[][] = [];
  const cpuRows: string[][] = [];
  for (const operation of scenario.operations) {
    for (const concurrency of scenario.concurrencies) {
      const find = (target: string): PointSummary | undefined =>
        points.find((point) => point.target === target && point.operation === operation.name && point.concurrency === concurrency);
      const key = [operation.name, String(concurrency)];

      const throughput = targets.map((target) => {
        const point = find(target.name);
        return point === undefined ? "–" : integer.format(point.throughput);
      });
      const ratioCells = shownRatios.map((spec, index) => {
        const ratio = ratios.find(
          (entry) =>
            entry.scenario === scenario.name &&
            entry.numerator === spec.numerator &&
            entry.denominator === spec.denominator &&
            entry.operation === operation.name &&
            entry.concurrency === concurrency,
        );
        const text = ratio === undefined ? "–" : ratio.throughputRatio.toFixed(2);
        return index === 0 && ratio !== undefined ? `**${text}**` : text;
      });
      throughputRows.push([...key, ...throughput, ...ratioCells]);

      latencyRows.push([
        ...key,
        ...targets.map((target) => {
          const point = find(target.name);
          return `${formatLatencyUs(point?.p50Us ?? Number.NaN)} / ${formatLatencyUs(point?.p99Us ?? Number.NaN)}`;
        }),
      ]);

      cpuRows.push([...key, ...targets.map((target) => formatCpu(find(target.name)))]);
    }
  }

  const lines = [`### ${scenario.name}`, "", scenario.description, "", "Throughput:", "", ...table(throughputHeader, throughputRows), ""];
  const headline = scenario.ratios[0];
  const headlineRatios = ratios.filter(
    (ratio) => ratio.scenario === scenario.name && ratio.numerator === headline?.numerator && ratio.denominator === headline.denominator,
  );
  if (headline !== undefined && headlineRatios.length > 0) {
    lines.push(verdict(headlineRatios, labelOf(headline.numerator), labelOf(headline.denominator)), "");
  }
  lines.push("Latency in microseconds, p50 / p99:", "", ...table(latencyHeader, latencyRows), "");
  lines.push(
    "CPU per request in microseconds (cores used by the target; cores used by h2load). " +
      "1.00 cores is one core busy for the whole point:",
    "",
    ...table(cpuHeader, cpuRows),
    "",
  );
  return lines;
}

function verdict(ratios: readonly PointRatio[], numerator: string, denominator: string): string {
  const values = ratios.map((ratio) => ratio.throughputRatio);
  const met = values.filter((value) => value >= 1).length;
  const low = Math.min(...values).toFixed(2);
  const high = Math.max(...values).toFixed(2);
  return (
    `${numerator} throughput is ${low}–${high} × the ${denominator} throughput; ` +
    `the aim (at least 1.00) is met at ${met} of ${values.length} points.`
  );
}

function runLine(result: RunResult): string {
  const { settings, machine } = result;
  const commit =
    machine.gitCommit === null ? "no git commit" : `commit ${machine.gitCommit.slice(0, 12)}${machine.gitDirty === true ? " with uncommitted changes" : ""}`;
  const rounds = settings.repeat === 1 ? "1 round" : `${settings.repeat} rounds, medians shown`;
  return (
    `Run of ${result.startedAt} (${settings.mode}: ${settings.durationS} s per point after a ${settings.warmupS} s warm-up, ${rounds}), ${commit}. ` +
    `Machine: ${machine.cpuModel}, ${machine.cores} cores, ${machine.memoryGiB} GiB, Linux ${machine.kernel}, Node.js ${machine.node}, ${machine.h2load}; ` +
    `load average ${machine.loadAverageAtStart.join(" / ")} at the start.`
  );
}

/** Renders the summary tables of a run as Markdown. */
export function renderMarkdown(result: RunResult, scenarios: readonly Scenario[]): string {
  const lines = [runLine(result), ""];
  for (const scenario of scenarios) {
    lines.push(...scenarioSection(scenario, result.summary, result.ratios));
  }
  return lines.join("\n").trimEnd() + "\n";
}

/**
 * Replaces the text between RESULTS_START_MARKER and RESULTS_END_MARKER in a Markdown
 * file with `content`, keeping everything around the markers.
 */
export function replaceResultsSection(path: string, content: string): void {
  const text = readFileSync(path, "utf8");
  const start = text.indexOf(RESULTS_START_MARKER);
  const end = text.indexOf(RESULTS_END_MARKER);
  if (start < 0 || end < start) {
    throw new Error(`${path} has no ${RESULTS_START_MARKER} … ${RESULTS_END_MARKER} section to replace; add both markers`);
  }
  const before = text.slice(0, start + RESULTS_START_MARKER.length);
  writeFileSync(path, `${before}\n${content}${text.slice(end)}`);
}
