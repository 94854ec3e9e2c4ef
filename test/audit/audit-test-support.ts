import { once } from "node:events";
import { createConnection, createServer, type Server, type Socket } from "node:net";
import { Writable } from "node:stream";

import type { AuditRecord } from "../../src/audit/audit-record.js";
import type { AuditSink } from "../../src/audit/audit-sink.js";
import { createLogger, type Logger } from "../../src/observability/logger.js";

/** Retry delays short enough that a recovering sink is retried within milliseconds. */
export const FAST_BACKOFF = { initialDelayMs: 5, maxDelayMs: 20 };

/** Lines written to a stream, kept in memory. */
export class CapturedLines extends Writable {
  readonly lines: string[] = [];

  override _write(chunk: Buffer, _encoding: BufferEncoding, done: (error?: Error | null) => void): void {
    this.lines.push(...chunk.toString("utf8").split("\n").filter((line) => line.length > 0));
    done();
  }

  records(): Record<string, unknown>[] {
    return this.lines.map((line) => JSON.parse(line) as Record<string, unknown>);
  }
}

export function captureLogger(): { logger: Logger; log: CapturedLines } {
  const log = new CapturedLines();
  return { logger: createLogger({ level: "debug", destination: log }), log };
}

export function silentLogger(): Logger {
  return createLogger({ level: "silent" });
}

/**
 * A sink under the test's control. It stores batches, fails them while `failing` is
 * set, and makes them wait while its gate is closed, so a test can stall it at will.
 */
export class ControlledSink implements AuditSink {
  readonly target = "memory";
  readonly records: AuditRecord[] = [];
  writeCalls = 0;
  failing = false;
  closed = false;
  #gate: Promise<void> | undefined;
  #openGate: (() => void) | undefined;
  #writeStarted: (() => void) | undefined;

  constructor(readonly name = "memory") {}

  /** Makes every write wait until openGate(). */
  closeGate(): void {
    this.#gate ??= new Promise((resolve) => (this.#openGate = resolve));
  }

  openGate(): void {
    this.#openGate?.();
    this.#gate = undefined;
    this.#openGate = undefined;
  }

  /** Resolves when the next write call begins. */
  nextWrite(): Promise<void> {
    return new Promise((resolve) => (this.#writeStarted = resolve));
  }

  async write(records: readonly AuditRecord[]): Promise<void> {
    this.writeCalls++;
    this.#writeStarted?.();
    this.#writeStarted = undefined;
    if (this.#gate !== undefined) {
      await this.#gate;
    }
    if (this.failing) {
      throw new Error("controlled sink failure");
    }
    this.records.push(...records);
  }

  close(): Promise<void> {
    this.closed = true;
    return Promise.resolve();
  }

  events(): string[] {
    return this.records.map((record) => record.event.event);
  }
}

/** A Writable whose every write fails, like a closed pipe. */
export class FailingStream extends Writable {
  override _write(_chunk: Buffer, _encoding: BufferEncoding, done: (error?: Error | null) => void): void {
    done(new Error("EPIPE: broken pipe (simulated)"));
  }
}

/**
 * A TCP relay on a loopback port to another address, which a test can stop (the port
 * then refuses connections and open ones are cut) and start again on the same port.
 */
export class TcpRelay {
  readonly #sockets = new Set<Socket>();
  #server: Server | undefined;
  port = 0;

  constructor(
    readonly targetHost: string,
    readonly targetPort: number,
  ) {}

  async start(): Promise<void> {
    const server = createServer((client) => this.#relay(client));
    server.listen(this.port, "127.0.0.1");
    await once(server, "listening");
    const address = server.address();
    if (address === null || typeof address === "string") {
      throw new Error("could not read the port of the relay");
    }
    this.port = address.port;
    this.#server = server;
  }

  async stop(): Promise<void> {
    const server = this.#server;
    this.#server = undefined;
    for (const socket of this.#sockets) {
      socket.destroy();
    }
    if (server !== undefined) {
      const closed = once(server, "close");
      server.close();
      await closed;
    }
  }

  #relay(client: Socket): void {
    const upstream = createConnection({ host: this.targetHost, port: this.targetPort });
    for (const socket of [client, upstream]) {
      this.#sockets.add(socket);
      socket.on("close", () => this.#sockets.delete(socket));
      socket.on("error", () => undefined);
    }
    client.pipe(upstream).pipe(client);
    client.on("close", () => upstream.destroy());
    upstream.on("close", () => client.destroy());
  }
}
