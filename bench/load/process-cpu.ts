import { readFileSync } from "node:fs";
import { spawnSync } from "node:child_process";

let clockTicksPerSecond: number | undefined;

function ticksPerSecond(): number {
  if (clockTicksPerSecond === undefined) {
    const output = spawnSync("getconf", ["CLK_TCK"], { encoding: "utf8" }).stdout;
    const parsed = Number.parseInt(output ?? "", 10);
    // 100 is the Linux USER_HZ on every mainstream architecture.
    clockTicksPerSecond = Number.isInteger(parsed) && parsed > 0 ? parsed : 100;
  }
  return clockTicksPerSecond;
}

/**
 * Returns the user plus system CPU time, in seconds, that a live process and all its
 * threads have used so far, read from /proc/PID/stat. Returns undefined when the process
 * has exited or there is no /proc.
 */
export function processCpuSeconds(pid: number): number | undefined {
  let stat: string;
  try {
    stat = readFileSync(`/proc/${pid}/stat`, "utf8");
  } catch {
    return undefined;
  }
  // The command name in parentheses may contain spaces; fields after it are numbered from 3.
  const fields = stat.slice(stat.lastIndexOf(")") + 2).split(" ");
  const userTicks = Number(fields[11]);
  const systemTicks = Number(fields[12]);
  if (!Number.isFinite(userTicks) || !Number.isFinite(systemTicks)) {
    return undefined;
  }
  return (userTicks + systemTicks) / ticksPerSecond();
}
