import type { CliIo, Output } from "./cli-io.js";
import type { OptionTable, OptionValues } from "./options.js";
import { UsageError } from "./usage-error.js";

/** One parsed command line, handed to the command that runs it. */
export interface Invocation {
  /** Positional arguments after the group and command names. */
  args: readonly string[];
  values: OptionValues;
  io: CliIo;
  output: Output;
  /** Group and command, for example "kv set"; error messages point to its help. */
  helpTopic: string;
}

/** A prismctl command: its arguments, options, help text and implementation. */
export interface CommandSpec {
  group: string;
  name: string;
  /** Positional arguments as the help shows them, for example "KEY VALUE". */
  synopsis: string;
  minArgs: number;
  maxArgs: number;
  /** One line for the command list. */
  summary: string;
  /** The body of the command's help: behaviour, output and exit codes. */
  description: string;
  /** Options of this command besides the output options, and besides the connection options when connects is set. */
  options: OptionTable;
  /** Whether the command talks to a proxy and takes the connection options. */
  connects: boolean;
  examples: readonly string[];
  /** Runs the command and returns its exit code. */
  run(invocation: Invocation): Promise<number>;
}

/** Returns the positional argument at the index, which the argument count check guarantees. */
export function argumentAt(invocation: Invocation, index: number): string {
  const value = invocation.args[index];
  if (value === undefined) {
    throw new UsageError(`missing argument ${index + 1}`, invocation.helpTopic);
  }
  return value;
}
