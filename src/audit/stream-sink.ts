import type { Writable } from "node:stream";

import type { AuditRecord } from "./audit-record.js";
import type { AuditSink } from "./audit-sink.js";

export interface StreamSinkOptions {
  /** Default "stdout". */
  name?: string;
  /** Default process.stdout. */
  stream?: Writable;
}

/**
 * Writes each batch as JSON lines to a stream, by default the process's standard
 * output. It writes directly, not through the pino logger, so the log level and the log
 * redaction do not apply to audit records. Each line is an audit event with an "event"
 * field, unlike a log record with "level" and "msg". The stream is not ended on close,
 * because process.stdout belongs to the process.
 */
export class StreamSink implements AuditSink {
  readonly name: string;
  readonly target: string;
  readonly #stream: Writable;
  #streamError: Error | undefined;

  constructor(options: StreamSinkOptions = {}) {
    this.name = options.name ?? "stdout";
    this.#stream = options.stream ?? process.stdout;
    this.target = this.#stream === process.stdout ? "stdout" : "stream";
    // Without a listener, a stream error would be thrown as an uncaught exception.
    this.#stream.on("error", this.#onError);
  }

  async write(records: readonly AuditRecord[]): Promise<void> {
    if (this.#streamError !== undefined || this.#stream.destroyed || this.#stream.writableEnded) {
      throw new Error(`the audit stream is no longer writable: ${this.#streamError?.message ?? "it was closed"}`, {
        cause: this.#streamError,
      });
    }

    const chunk = records.map((record) => `${record.json}\n`).join("");
    await new Promise<void>((resolve, reject) => {
      this.#stream.write(chunk, (error) => (error ? reject(error) : resolve()));
    });
  }

  close(): Promise<void> {
    this.#stream.off("error", this.#onError);
    return Promise.resolve();
  }

  readonly #onError = (error: Error): void => {
    this.#streamError = error;
  };
}
