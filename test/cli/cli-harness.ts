import { spawn, type ChildProcess } from "node:child_process";
import { once } from "node:events";
import { createConnection, createServer, type Server, type Socket } from "node:net";
import { fileURLToPath } from "node:url";
import { loadConfigFile } from "../../src/config/load.js";
import { createLogger } from "../../src/observability/logger.js";
import { Proxy } from "../../src/proxy.js";

/** The compiled CLI, resolved from this file's place in dist/test/cli. */
export const PRISMCTL = fileURLToPath(new URL("../../src/bin/prismctl.js", import.meta.url));
export const DEMO_CONFIG = fileURLToPath(new URL("../../../config/demo.yaml", import.meta.url));

/** Public demo credentials from config/demo.yaml. */
export const ACME = { namespace: "acme-prod", apiKey: "acme-demo-key" } as const;
export const GLOBEX = { namespace: "globex-prod", apiKey: "globex-demo-key" } as const;

export interface CliResult {
  exitCode: number | null;
  signal: NodeJS.Signals | null;
  stdout: Buffer;
  stderr: string;
}

export interface RunOptions {
  /** Environment variables on top of PATH; the parent's PRISM_* variables never leak in. */
  env?: Record<string, string>;
  stdin?: string | Uint8Array;
}

/** Starts a proxy with the demo configuration on loopback port 0, logging nothing. */
export async function startDemoProxy(): Promise<Proxy> {
  // An empty environment keeps PRISM_LISTEN and similar overrides of the caller out.
  const config = await loadConfigFile(DEMO_CONFIG, {});
  config.proxy.listen = "127.0.0.1:0";
  config.proxy.admin_listen = "127.0.0.1:0";
  return Proxy.start(config, createLogger({ level: "silent" }));
}

/** Returns the --address option for a running proxy. */
export function addressOf(proxy: Proxy): string {
  return `http://${proxy.address}`;
}

/** Returns the connection options for a tenant's demo credentials. */
export function connectionArgs(proxy: Proxy, credentials: { namespace: string; apiKey: string }): string[] {
  return ["--address", addressOf(proxy), "--namespace", credentials.namespace, "--api-key", credentials.apiKey];
}

/** Starts prismctl as a child process; stdin is closed at once unless the options give it content. */
export function spawnCli(args: readonly string[], options: RunOptions = {}): ChildProcess {
  const child = spawn(process.execPath, [PRISMCTL, ...args], {
    env: { PATH: process.env["PATH"] ?? "", ...options.env },
    stdio: ["pipe", "pipe", "pipe"],
  });
  child.stdin?.end(options.stdin);
  return child;
}

/** Collects a child's output and waits for it to exit. */
export async function finish(child: ChildProcess): Promise<CliResult> {
  const stdout: Buffer[] = [];
  const stderr: Buffer[] = [];
  child.stdout?.on("data", (chunk: Buffer) => stdout.push(chunk));
  child.stderr?.on("data", (chunk: Buffer) => stderr.push(chunk));
  const [exitCode, signal] = (await once(child, "close")) as [number | null, NodeJS.Signals | null];
  return { exitCode, signal, stdout: Buffer.concat(stdout), stderr: Buffer.concat(stderr).toString("utf8") };
}

/** Runs prismctl to completion. */
export function runCli(args: readonly string[], options: RunOptions = {}): Promise<CliResult> {
  return finish(spawnCli(args, options));
}

/** Parses stdout as exactly one JSON object. */
export function jsonOf(result: CliResult): Record<string, unknown> {
  return JSON.parse(result.stdout.toString("utf8")) as Record<string, unknown>;
}

/**
 * Polls a condition that no event announces, such as the proxy's subscription count;
 * fails after timeoutMs.
 */
export async function waitFor(condition: () => boolean, what: string, timeoutMs = 15_000): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (!condition()) {
    if (Date.now() > deadline) {
      throw new Error(`timed out after ${timeoutMs} ms waiting for ${what}`);
    }
    await new Promise((resolve) => setTimeout(resolve, 10));
  }
}

/** Returns a loopback address where nothing listens: a port that was free a moment ago. */
export async function closedAddress(): Promise<string> {
  const server = createServer();
  server.listen(0, "127.0.0.1");
  await once(server, "listening");
  const address = server.address();
  server.close();
  await once(server, "close");
  if (address === null || typeof address === "string") {
    throw new Error("the probe server has no TCP address");
  }
  return `http://127.0.0.1:${address.port}`;
}

/** A TCP server that accepts connections and never responds, for deadline tests. */
export class SilentServer {
  readonly #server: Server;
  readonly #sockets = new Set<Socket>();

  private constructor() {
    this.#server = createServer((socket) => {
      this.#sockets.add(socket);
      socket.on("error", () => socket.destroy());
      socket.once("close", () => this.#sockets.delete(socket));
    });
  }

  static async start(): Promise<SilentServer> {
    const silent = new SilentServer();
    silent.#server.listen(0, "127.0.0.1");
    await once(silent.#server, "listening");
    return silent;
  }

  get address(): string {
    const address = this.#server.address();
    if (address === null || typeof address === "string") {
      throw new Error("the silent server has no TCP address");
    }
    return `http://127.0.0.1:${address.port}`;
  }

  async close(): Promise<void> {
    this.#sockets.forEach((socket) => socket.destroy());
    if (this.#server.listening) {
      this.#server.close();
      await once(this.#server, "close");
    }
  }
}

/**
 * A TCP relay in front of a proxy whose connections a test can cut, to see how the CLI
 * handles a connection that breaks mid-call.
 */
export class TcpRelay {
  readonly #server: Server;
  readonly #sockets = new Set<Socket>();

  private constructor(targetPort: number) {
    this.#server = createServer((client) => {
      const upstream = createConnection({ host: "127.0.0.1", port: targetPort });
      for (const socket of [client, upstream]) {
        this.#sockets.add(socket);
        socket.on("error", () => socket.destroy());
        socket.once("close", () => this.#sockets.delete(socket));
      }
      client.pipe(upstream);
      upstream.pipe(client);
    });
  }

  /** Starts a relay to the proxy at "host:port". */
  static async start(proxyAddress: string): Promise<TcpRelay> {
    const port = Number(proxyAddress.slice(proxyAddress.lastIndexOf(":") + 1));
    const relay = new TcpRelay(port);
    relay.#server.listen(0, "127.0.0.1");
    await once(relay.#server, "listening");
    return relay;
  }

  get address(): string {
    const address = this.#server.address();
    if (address === null || typeof address === "string") {
      throw new Error("the relay has no TCP address");
    }
    return `http://127.0.0.1:${address.port}`;
  }

  /** Resets every relayed connection, as a crashed proxy would. */
  cutConnections(): void {
    this.#sockets.forEach((socket) => socket.resetAndDestroy());
  }

  async close(): Promise<void> {
    this.cutConnections();
    if (this.#server.listening) {
      this.#server.close();
      await once(this.#server, "close");
    }
  }
}
