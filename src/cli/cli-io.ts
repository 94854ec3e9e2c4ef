/** The process streams and environment a command uses, so tests can replace them. */
export interface CliIo {
  stdin: NodeJS.ReadableStream & { isTTY?: boolean };
  stdout: NodeJS.WritableStream & { isTTY?: boolean };
  stderr: NodeJS.WritableStream & { isTTY?: boolean };
  env: NodeJS.ProcessEnv;
}

/** Every line prismctl writes to stderr starts with this. */
export const MESSAGE_PREFIX = "prismctl: ";

/**
 * Writes results in the form the user chose: text lines, or one JSON object per line
 * with --json. Notes for people go to stderr in both forms, so stdout stays parseable.
 */
export class Output {
  constructor(
    readonly io: CliIo,
    readonly json: boolean,
  ) {}

  /** Writes the text form of a result, or its JSON form with --json. */
  result(text: string, json: Record<string, unknown>): void {
    if (this.json) {
      this.writeJson(json);
    } else {
      this.io.stdout.write(`${text}\n`);
    }
  }

  writeJson(value: Record<string, unknown>): void {
    this.io.stdout.write(`${JSON.stringify(value)}\n`);
  }

  /** Writes a message for the person at the terminal to stderr. */
  note(message: string): void {
    this.io.stderr.write(`${MESSAGE_PREFIX}${message}\n`);
  }
}
