#!/usr/bin/env node
import { parseArgs } from "node:util";
import { loadConfigFile } from "../config/load.js";
import { ConfigError } from "../config/config-error.js";
import { createLogger } from "../observability/logger.js";
import { Proxy } from "../proxy.js";
import { demoBanner } from "../cli/demo-banner.js";

const USAGE = `Usage: prism-proxy --config FILE [--listen HOST:PORT] [--admin-listen HOST:PORT] [--demo]

Starts the Prism data-plane proxy.
  --config FILE          configuration file (YAML)
  --listen HOST:PORT     data listener, overrides proxy.listen
  --admin-listen H:P     admin listener (/healthz, /readyz), overrides proxy.admin_listen
  --demo                 print copy-paste commands for the demo configuration once listening
`;

async function main(): Promise<number> {
  const { values } = parseArgs({
    options: {
      config: { type: "string" },
      listen: { type: "string" },
      "admin-listen": { type: "string" },
      demo: { type: "boolean", default: false },
      help: { type: "boolean", short: "h", default: false },
    },
  });

  if (values.help || values.config === undefined) {
    process.stderr.write(USAGE);
    return values.help ? 0 : 2;
  }

  const config = await loadConfigFile(values.config);
  config.proxy.listen = values.listen ?? config.proxy.listen;
  config.proxy.admin_listen = values["admin-listen"] ?? config.proxy.admin_listen;

  const logger = createLogger({ level: config.observability.log_level });
  const proxy = await Proxy.start(config, logger);
  logger.info({ address: proxy.address, adminAddress: proxy.adminAddress, tenants: proxy.tenants.size }, "prism-proxy listening");

  if (values.demo) {
    process.stderr.write(demoBanner(proxy.address, proxy.adminAddress));
  }

  const shutdown = (signal: NodeJS.Signals): void => {
    logger.info({ signal }, "shutdown requested");
    proxy.close().then(
      () => process.exit(0),
      (error: unknown) => {
        logger.error({ err: error }, "shutdown failed");
        process.exit(1);
      },
    );
  };
  process.once("SIGTERM", shutdown);
  process.once("SIGINT", shutdown);
  return -1;
}

main().then(
  (code) => {
    if (code >= 0) {
      process.exitCode = code;
    }
  },
  (error: unknown) => {
    if (error instanceof ConfigError) {
      process.stderr.write(`prism-proxy: invalid configuration\n${error.message}\n`);
      process.exitCode = 1;
      return;
    }
    const message = error instanceof Error ? error.message : String(error);
    process.stderr.write(`prism-proxy: ${message}\n`);
    process.exitCode = 1;
  },
);
