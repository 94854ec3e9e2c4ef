import type { LimitUsage, NamespaceUsage } from "./namespace-budget.js";
import { LIMIT_NAMES } from "./resolved-limits.js";

const BINARY_UNITS = ["bytes", "KiB", "MiB", "GiB", "TiB"] as const;

/** Picks the binary unit in which `bytes` is at least 1, at most TiB. */
function unitFor(bytes: number): { name: string; size: number } {
  let exponent = 0;
  while (exponent < BINARY_UNITS.length - 1 && bytes >= 1024 ** (exponent + 1)) {
    exponent++;
  }
  return { name: BINARY_UNITS[exponent] ?? "bytes", size: 1024 ** exponent };
}

function formatAmount(value: number, size: number, digits: number): string {
  return size === 1 ? String(Math.round(value)) : (value / size).toFixed(digits);
}

function formatRatio(usage: LimitUsage, format: (value: number) => string, unit: string): string {
  const suffix = unit === "" ? "" : ` ${unit}`;
  return usage.limit === null ? `${format(usage.used)}${suffix} (no limit)` : `${format(usage.used)}/${format(usage.limit)}${suffix}`;
}

/** Formats memory in the unit of its budget, or of the amount used when there is no budget. */
function formatMemory(usage: LimitUsage): string {
  const unit = unitFor(usage.limit ?? usage.used);
  return formatRatio(usage, (value) => formatAmount(value, unit.size, 1), unit.name);
}

/**
 * Formats a namespace's use of its limits as the lines `prismctl metrics namespace NAME`
 * prints, for example "CPU: 0.70/1.00 cores" and "Memory: 1.2/2.0 GiB".
 */
export function formatNamespaceUsage(usage: NamespaceUsage): string[] {
  const rps = formatRatio(usage.rps, (value) => String(Math.round(value)), "");
  const rejected = LIMIT_NAMES.map((limit) => `${limit} ${usage.rejected[limit]}`).join(", ");
  return [
    `Namespace: ${usage.namespace}`,
    `RPS: ${rps}${usage.rps.burst === null ? "" : ` (burst ${usage.rps.burst})`}`,
    `In flight: ${formatRatio(usage.inFlight, String, "")}`,
    `CPU: ${formatRatio(usage.cpuCores, (value) => value.toFixed(2), "cores")}`,
    `Memory: ${formatMemory(usage.memoryBytes)}`,
    `Rejected: ${rejected}`,
  ];
}
