/**
 * A nats-server of the test's own on a random loopback port, for tests that restart the
 * server or configure users. Readiness is the server's "Server is ready" log line, never
 * a sleep. Every server started here must be stopped by the test that started it.
 */

import { spawn, type ChildProcess } from "node:child_process";
import { mkdtemp, rm, writeFile } from "node:fs/promises";
import { createServer } from "node:net";
import { tmpdir } from "node:os";
import { join } from "node:path";

/** Binary of the nats-server; PRISM_TEST_NATS_SERVER overrides it. */
export const NATS_SERVER_BINARY = process.env["PRISM_TEST_NATS_SERVER"] ?? "/usr/sbin/nats-server";
/** Endpoint of the shared NATS server the plain tests use; PRISM_TEST_NATS_URL overrides it. */
export const SHARED_NATS_ENDPOINT = process.env["PRISM_TEST_NATS_URL"] ?? "127.0.0.1:4222";

const READY_TIMEOUT_MS = 10_000;

export interface NatsTestServerOptions {
  /** Text of a nats-server configuration file, for example an authorization block. */
  config?: string;
  /** Also serve the HTTP monitoring endpoints (/connz, /subsz) on another random port. */
  monitoring?: boolean;
  /** Client port; default a free random one. */
  port?: number;
}

export class NatsTestServer {
  #process: ChildProcess | undefined;
  #stopped = false;

  private constructor(
    readonly port: number,
    readonly monitoringPort: number | undefined,
    readonly directory: string,
    readonly configPath: string | undefined,
  ) {}

  static async start(options: NatsTestServerOptions = {}): Promise<NatsTestServer> {
    const directory = await mkdtemp(join(tmpdir(), "prism-nats-test-"));
    let configPath: string | undefined;
    if (options.config !== undefined) {
      configPath = join(directory, "nats-server.conf");
      await writeFile(configPath, options.config, { mode: 0o600 });
    }

    const port = options.port ?? (await freePort());
    const monitoringPort = options.monitoring === true ? await freePort() : undefined;
    const server = new NatsTestServer(port, monitoringPort, directory, configPath);
    try {
      await server.restart();
    } catch (error) {
      await server.stop();
      throw error;
    }
    return server;
  }

  get endpoint(): string {
    return `127.0.0.1:${this.port}`;
  }

  get running(): boolean {
    return this.#process !== undefined;
  }

  /** Starts the server again on the same port; resolves once it accepts clients. */
  async restart(): Promise<void> {
    if (this.#process !== undefined) {
      throw new Error("the nats-server is already running");
    }

    const args = ["-a", "127.0.0.1", "-p", String(this.port)];
    if (this.monitoringPort !== undefined) {
      args.push("-m", String(this.monitoringPort));
    }
    if (this.configPath !== undefined) {
      args.push("-c", this.configPath);
    }

    const child = spawn(NATS_SERVER_BINARY, args, { stdio: ["ignore", "pipe", "pipe"] });
    this.#process = child;
    try {
      await waitForReady(child);
    } catch (error) {
      await this.kill();
      throw error;
    }
  }

  /** Kills the server with SIGKILL, as a crash would, and waits for the process to exit. */
  async kill(): Promise<void> {
    const child = this.#process;
    this.#process = undefined;
    if (child === undefined || child.exitCode !== null || child.signalCode !== null) {
      return;
    }

    const exited = new Promise<void>((resolve) => child.once("exit", () => resolve()));
    child.kill("SIGKILL");
    await exited;
  }

  /** Idempotent. Kills the server and removes its files. */
  async stop(): Promise<void> {
    if (this.#stopped) {
      return;
    }
    this.#stopped = true;
    await this.kill();
    await rm(this.directory, { recursive: true, force: true });
  }

  async [Symbol.asyncDispose](): Promise<void> {
    await this.stop();
  }

  /** Reads a monitoring endpoint such as "connz" or "subsz" as JSON. */
  async monitor(path: string): Promise<unknown> {
    if (this.monitoringPort === undefined) {
      throw new Error("the server was started without monitoring");
    }
    const response = await fetch(`http://127.0.0.1:${this.monitoringPort}/${path}`);
    return response.json();
  }
}

/** Resolves on the "Server is ready" line; rejects with the server's output if it exits first. */
function waitForReady(child: ChildProcess): Promise<void> {
  return new Promise<void>((resolve, reject) => {
    let output = "";
    const onData = (chunk: Buffer): void => {
      output += chunk.toString("utf8");
      if (output.includes("Server is ready")) {
        finish();
        resolve();
      }
    };
    const onExit = (code: number | null, signal: NodeJS.Signals | null): void => {
      finish();
      reject(new Error(`nats-server exited before it was ready (code ${code}, signal ${signal}):\n${output}`));
    };
    const onError = (error: Error): void => {
      finish();
      reject(error);
    };
    const timer = setTimeout(() => {
      finish();
      reject(new Error(`nats-server was not ready within ${READY_TIMEOUT_MS} ms:\n${output}`));
    }, READY_TIMEOUT_MS);
    const finish = (): void => {
      clearTimeout(timer);
      child.stderr?.off("data", onData);
      child.stdout?.off("data", onData);
      child.off("exit", onExit);
      child.off("error", onError);
      // Keep draining the pipes so the server never blocks on a full one.
      child.stderr?.resume();
      child.stdout?.resume();
    };

    child.stderr?.on("data", onData);
    child.stdout?.on("data", onData);
    child.once("exit", onExit);
    child.once("error", onError);
  });
}

/** Returns a loopback port that was free a moment ago. */
export function freePort(): Promise<number> {
  return new Promise<number>((resolve, reject) => {
    const probe = createServer();
    probe.once("error", reject);
    probe.listen(0, "127.0.0.1", () => {
      const address = probe.address();
      const port = typeof address === "object" && address !== null ? address.port : 0;
      probe.close(() => resolve(port));
    });
  });
}
