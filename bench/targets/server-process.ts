import { spawn, type ChildProcess } from "node:child_process";
import { once } from "node:events";
import { openSync, closeSync, readFileSync } from "node:fs";
import { createServer, connect } from "node:net";
import { setTimeout as sleep } from "node:timers/promises";
import type { RunningServer } from "../scenario.js";

/** Time a server process has to accept TCP connections after it is spawned. */
export const DEFAULT_START_TIMEOUT_MS = 20_000;

/** Time a server process has to exit after SIGTERM before it is killed. */
export const DEFAULT_STOP_TIMEOUT_MS = 15_000;

const POLL_INTERVAL_MS = 50;

/** Returns a TCP port on 127.0.0.1 that was free a moment ago. */
export async function freePort(): Promise<number> {
  const server = createServer();
  server.listen(0, "127.0.0.1");
  await once(server, "listening");
  const address = server.address();
  server.close();
  await once(server, "close");
  if (address === null || typeof address === "string") {
    throw new Error("could not read the port of a temporary listener");
  }
  return address.port;
}

function canConnect(port: number): Promise<boolean> {
  return new Promise((resolve) => {
    const socket = connect(port, "127.0.0.1");
    socket.once("connect", () => {
      socket.destroy();
      resolve(true);
    });
    socket.once("error", () => resolve(false));
  });
}

function tail(path: string, lines = 20): string {
  try {
    return readFileSync(path, "utf8").trimEnd().split("\n").slice(-lines).join("\n");
  } catch {
    return "";
  }
}

export interface ServerProcessOptions {
  /** Used in messages, for example "proxy". */
  name: string;
  /** Node.js arguments: flags, then the script and its arguments. */
  args: readonly string[];
  cwd: string;
  /** The port the process listens on; it counts as started once a TCP connect succeeds. */
  port: number;
  /** File that receives the process's stdout and stderr. */
  logFile: string;
}

/**
 * Returns the environment without PRISM_* variables. The proxy reads those as
 * configuration overrides, and a benchmark must run the configuration its file shows.
 */
function benchEnvironment(): NodeJS.ProcessEnv {
  return Object.fromEntries(Object.entries(process.env).filter(([name]) => !name.startsWith("PRISM_")));
}

/** Spawns a Node.js server process and resolves once its port accepts connections. */
export async function startServerProcess(options: ServerProcessOptions): Promise<RunningServer> {
  const log = openSync(options.logFile, "a");
  const child = spawn(process.execPath, options.args, {
    cwd: options.cwd,
    env: benchEnvironment(),
    stdio: ["ignore", log, log],
  });
  closeSync(log);
  const exited = once(child, "exit");

  const deadline = performance.now() + DEFAULT_START_TIMEOUT_MS;
  while (!(await canConnect(options.port))) {
    if (child.exitCode !== null || child.signalCode !== null) {
      throw new Error(`${options.name} exited during start (code ${child.exitCode}); its log ${options.logFile} ends with:\n${tail(options.logFile)}`);
    }
    if (performance.now() > deadline) {
      child.kill("SIGKILL");
      throw new Error(`${options.name} did not accept connections on port ${options.port} within ${DEFAULT_START_TIMEOUT_MS} ms; see ${options.logFile}`);
    }
    await sleep(POLL_INTERVAL_MS);
  }

  let stopping: Promise<void> | undefined;
  return {
    baseUrl: `http://127.0.0.1:${options.port}`,
    pid: child.pid ?? -1,
    stop: () => (stopping ??= stopProcess(child, exited)),
  };
}

async function stopProcess(child: ChildProcess, exited: Promise<unknown>): Promise<void> {
  if (child.exitCode !== null || child.signalCode !== null) {
    return;
  }
  child.kill("SIGTERM");
  const timer = setTimeout(() => child.kill("SIGKILL"), DEFAULT_STOP_TIMEOUT_MS);
  try {
    await exited;
  } finally {
    clearTimeout(timer);
  }
}
