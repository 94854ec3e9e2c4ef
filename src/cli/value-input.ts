import { readFile } from "node:fs/promises";
import type { CliIo } from "./cli-io.js";
import { UsageError } from "./usage-error.js";

/** The argument that reads the value from stdin instead. */
export const STDIN_ARGUMENT = "-";

/** The source of a command's bytes: the positional argument or a file option. */
export interface ValueSource {
  argument: string | undefined;
  file: string | undefined;
  /** Names for messages, for example "VALUE" and "--value-file". */
  argumentName: string;
  fileOption: string;
  helpTopic: string;
}

/** Reads stdin to its end. */
export async function readStdin(io: CliIo): Promise<Buffer> {
  const chunks: Buffer[] = [];
  for await (const chunk of io.stdin) {
    chunks.push(typeof chunk === "string" ? Buffer.from(chunk, "utf8") : chunk);
  }
  return Buffer.concat(chunks);
}

/**
 * Returns the bytes of a value: the UTF-8 encoding of the argument, stdin when the
 * argument is "-", or the contents of the file option. Exactly one source must be given.
 */
export async function readValue(source: ValueSource, io: CliIo): Promise<Uint8Array> {
  const { argument, file, argumentName, fileOption, helpTopic } = source;

  if (argument !== undefined && file !== undefined) {
    throw new UsageError(`pass either ${argumentName} or ${fileOption}, not both`, helpTopic);
  }

  if (file !== undefined) {
    try {
      return await readFile(file);
    } catch (error) {
      const reason = error instanceof Error ? error.message : String(error);
      throw new UsageError(`cannot read ${fileOption} ${JSON.stringify(file)}: ${reason}`, helpTopic);
    }
  }

  if (argument === undefined) {
    throw new UsageError(`missing ${argumentName}; pass it as an argument, "${STDIN_ARGUMENT}" for stdin, or ${fileOption} PATH`, helpTopic);
  }

  if (argument === STDIN_ARGUMENT) {
    if (io.stdin.isTTY === true) {
      io.stderr.write(`prismctl: reading ${argumentName} from stdin; end it with Ctrl-D\n`);
    }
    return readStdin(io);
  }
  return Buffer.from(argument, "utf8");
}
