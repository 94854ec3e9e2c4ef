import { Writable } from "node:stream";
import { createLogger, type Logger } from "../../src/observability/logger.js";

/** Log records a component wrote, parsed, so tests can check state changes and messages. */
export class ParsedLog extends Writable {
  readonly records: Record<string, unknown>[] = [];

  override _write(chunk: Buffer, _encoding: BufferEncoding, done: () => void): void {
    for (const line of chunk.toString("utf8").split("\n")) {
      if (line.length > 0) {
        this.records.push(JSON.parse(line) as Record<string, unknown>);
      }
    }
    done();
  }

  messages(): string[] {
    return this.records.map((record) => String(record["msg"]));
  }
}

/** Returns a debug-level logger whose records the returned log keeps. */
export function captureLogger(): { logger: Logger; log: ParsedLog } {
  const log = new ParsedLog();
  return { logger: createLogger({ level: "debug", destination: log }), log };
}

export function silentLogger(): Logger {
  return createLogger({ level: "silent" });
}
