import { join } from "node:path";
import type { RunningServer, ServerTarget, TargetContext } from "../scenario.js";
import { freePort, startServerProcess } from "./server-process.js";

export interface BaselineServerOptions {
  name: string;
  label: string;
  /** Compiled server script, relative to the repository root; it takes --listen HOST:PORT. */
  script: string;
}

/** Creates a target that starts a baseline server from bench/servers on a free loopback port. */
export function baselineServerTarget(options: BaselineServerOptions): ServerTarget {
  return {
    kind: "server",
    name: options.name,
    label: options.label,
    async start(context: TargetContext): Promise<RunningServer> {
      const port = await freePort();
      return startServerProcess({
        name: options.name,
        args: [...context.nodeFlags, options.script, "--listen", `127.0.0.1:${port}`],
        cwd: context.root,
        port,
        logFile: join(context.workDir, `${options.name}.log`),
      });
    },
  };
}

/** Creates the target of the minimal @grpc/grpc-js server over the embedded store (servers/pass-through-server.ts). */
export function passThroughTarget(): ServerTarget {
  return baselineServerTarget({
    name: "pass-through",
    label: "Pass-through",
    script: "dist/bench/servers/pass-through-server.js",
  });
}

/** Creates the target of the proxy's server stack without its pipeline (servers/connect-pass-through-server.ts). */
export function connectPassThroughTarget(): ServerTarget {
  return baselineServerTarget({
    name: "connect-pass-through",
    label: "Connect pass-through",
    script: "dist/bench/servers/connect-pass-through-server.js",
  });
}
