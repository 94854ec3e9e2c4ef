import { spawnSync } from "node:child_process";
import { cpus, loadavg, release, totalmem } from "node:os";

export interface MachineInfo {
  cpuModel: string;
  cores: number;
  memoryGiB: number;
  kernel: string;
  node: string;
  h2load: string;
  /** HEAD of the work tree, or null outside git or before the first commit. */
  gitCommit: string | null;
  /** Whether the work tree had uncommitted changes, or null outside git. */
  gitDirty: boolean | null;
  /** 1, 5 and 15 minute load averages when the run started; other work on the machine shows here. */
  loadAverageAtStart: number[];
}

function git(root: string, args: string[]): string | null {
  const result = spawnSync("git", args, { cwd: root, encoding: "utf8" });
  return result.status === 0 ? result.stdout.trim() : null;
}

export function machineInfo(root: string, h2load: string): MachineInfo {
  const processors = cpus();
  const status = git(root, ["status", "--porcelain"]);
  return {
    cpuModel: processors[0]?.model.trim() ?? "unknown",
    cores: processors.length,
    memoryGiB: Math.round(totalmem() / 2 ** 30),
    kernel: release(),
    node: process.version,
    h2load,
    gitCommit: git(root, ["rev-parse", "HEAD"]),
    gitDirty: status === null ? null : status !== "",
    loadAverageAtStart: loadavg().map((value) => Math.round(value * 100) / 100),
  };
}
