import { join } from "node:path";
import type { Document } from "yaml";
import type { RunningServer, ServerTarget, TargetContext } from "../scenario.js";
import { writeProxyConfig } from "./bench-config.js";
import { freePort, startServerProcess } from "./server-process.js";

const PROXY_SCRIPT = "dist/src/bin/prism-proxy.js";

export interface ProxyTargetOptions {
  /** Name of the generated configuration, bench/generated/NAME.yaml. */
  configName: string;
  /** Changes on top of the demo configuration, for example another backend. */
  configure?: (document: Document) => void;
}

/** Creates the target that starts the full proxy from the compiled dist with a generated configuration. */
export function proxyTarget(options: ProxyTargetOptions): ServerTarget {
  return {
    kind: "server",
    name: "proxy",
    label: "Proxy",
    async start(context: TargetContext): Promise<RunningServer> {
      const config = writeProxyConfig(context.root, options.configName, options.configure);
      const port = await freePort();
      const adminPort = await freePort();
      return startServerProcess({
        name: "proxy",
        args: [
          ...context.nodeFlags,
          PROXY_SCRIPT,
          "--config",
          config,
          "--listen",
          `127.0.0.1:${port}`,
          "--admin-listen",
          `127.0.0.1:${adminPort}`,
        ],
        cwd: context.root,
        port,
        logFile: join(context.workDir, `${options.configName}-proxy.log`),
      });
    },
  };
}
