#!/usr/bin/env node
import { parseArgs } from "node:util";
import { Output, type CliIo } from "../cli/cli-io.js";
import type { CommandSpec } from "../cli/command.js";
import { COMMANDS, GROUPS } from "../cli/command-table.js";
import { resolveBaseUrl } from "../cli/connection-settings.js";
import { ExitCode } from "../cli/exit-codes.js";
import { describeFailure, reportFailure, type FailureContext } from "../cli/failure.js";
import { commandHelp, groupHelp, rootHelp } from "../cli/help.js";
import {
  API_KEY_ENV,
  booleanOption,
  CONNECTION_OPTIONS,
  DEFAULT_CALL_TIMEOUT_SECONDS,
  OUTPUT_OPTIONS,
  parseSecondsToMs,
  stringOption,
  toParseArgsOptions,
  type OptionTable,
  type OptionValues,
} from "../cli/options.js";
import { UsageError } from "../cli/usage-error.js";

/** Every option of every command, so one parse finds the command wherever options stand. */
const ALL_OPTIONS: OptionTable = Object.fromEntries(
  [CONNECTION_OPTIONS, OUTPUT_OPTIONS, ...COMMANDS.map((spec) => spec.options)].flatMap((table) => Object.entries(table)),
);

interface ParsedCommandLine {
  values: OptionValues;
  positionals: string[];
}

/** The outcome of routing a command line: a help text to print, or a command to run. */
type Route =
  | { kind: "help"; text: string; exitCode: number }
  | { kind: "run"; spec: CommandSpec; args: string[] };

/** Returns the group and command named on the command line, for pointing a usage error at their help. */
function helpTopicOf(argv: readonly string[]): string {
  const group = argv.find((token) => GROUPS.includes(token));
  if (group === undefined) {
    return "";
  }
  const name = argv.find((token) => COMMANDS.some((spec) => spec.group === group && spec.name === token));
  return name === undefined ? group : `${group} ${name}`;
}

function parseCommandLine(argv: string[]): ParsedCommandLine {
  try {
    const { values, positionals } = parseArgs({
      args: argv,
      options: toParseArgsOptions(ALL_OPTIONS),
      allowPositionals: true,
      strict: true,
    });
    return { values, positionals };
  } catch (error) {
    // parseArgs names the offending option and how to pass a value that starts with "-".
    const message = error instanceof Error ? error.message : String(error);
    throw new UsageError(message, helpTopicOf(argv));
  }
}

function optionsOf(spec: CommandSpec): Set<string> {
  const tables = spec.connects ? [CONNECTION_OPTIONS, OUTPUT_OPTIONS, spec.options] : [OUTPUT_OPTIONS, spec.options];
  return new Set(tables.flatMap((table) => Object.keys(table)));
}

function checkInvocation(spec: CommandSpec, args: readonly string[], values: OptionValues): void {
  const topic = `${spec.group} ${spec.name}`;
  const usage = `usage: prismctl ${topic} ${spec.synopsis}`.trimEnd();
  if (args.length < spec.minArgs) {
    throw new UsageError(`missing arguments; ${usage}`, topic);
  }
  if (args.length > spec.maxArgs) {
    throw new UsageError(`too many arguments (${args.join(" ")}); ${usage}`, topic);
  }

  const allowed = optionsOf(spec);
  const misplaced = Object.keys(values).filter((name) => !allowed.has(name));
  if (misplaced.length > 0) {
    throw new UsageError(`${misplaced.map((name) => `--${name}`).join(", ")} does not apply to "${topic}"`, topic);
  }
}

function routeHelpCommand(names: readonly string[]): Route {
  const [group, name] = names;
  if (group === undefined) {
    return { kind: "help", text: rootHelp(COMMANDS), exitCode: ExitCode.Success };
  }
  if (!GROUPS.includes(group)) {
    throw new UsageError(`unknown command "${group}"; the command groups are ${GROUPS.join(", ")}`);
  }
  const spec = COMMANDS.find((candidate) => candidate.group === group && candidate.name === name);
  return { kind: "help", text: spec === undefined ? groupHelp(group, COMMANDS) : commandHelp(spec), exitCode: ExitCode.Success };
}

/** Finds the command the positionals name; "--help" stops at the deepest level that exists. */
function route({ values, positionals }: ParsedCommandLine): Route {
  const [group, name, ...args] = positionals;
  const wantsHelp = booleanOption(values, "help");

  if (group === "help") {
    return routeHelpCommand(positionals.slice(1));
  }
  if (group === undefined) {
    return { kind: "help", text: rootHelp(COMMANDS), exitCode: wantsHelp ? ExitCode.Success : ExitCode.Usage };
  }
  if (!GROUPS.includes(group)) {
    throw new UsageError(`unknown command "${group}"; the command groups are ${GROUPS.join(", ")}`);
  }
  if (name === undefined) {
    return { kind: "help", text: groupHelp(group, COMMANDS), exitCode: wantsHelp ? ExitCode.Success : ExitCode.Usage };
  }

  const spec = COMMANDS.find((candidate) => candidate.group === group && candidate.name === name);
  if (spec === undefined) {
    const known = COMMANDS.filter((candidate) => candidate.group === group).map((candidate) => candidate.name);
    throw new UsageError(`unknown command "${group} ${name}"; the ${group} commands are ${known.join(", ")}`, group);
  }
  if (wantsHelp) {
    return { kind: "help", text: commandHelp(spec), exitCode: ExitCode.Success };
  }

  checkInvocation(spec, args, values);
  return { kind: "run", spec, args };
}

/** Collects the invocation details that a failure message may include; each part is optional. */
function failureContextOf(values: OptionValues, env: NodeJS.ProcessEnv): FailureContext {
  const attempt = <T>(compute: () => T): T | undefined => {
    try {
      return compute();
    } catch {
      return undefined;
    }
  };
  const timeout = stringOption(values, "timeout");
  return {
    baseUrl: attempt(() => resolveBaseUrl(values, env)),
    apiKeyGiven: (stringOption(values, "api-key") ?? env[API_KEY_ENV] ?? "") !== "",
    timeoutMs:
      timeout === undefined ? DEFAULT_CALL_TIMEOUT_SECONDS * 1000 : attempt(() => parseSecondsToMs(timeout, "--timeout", "")),
  };
}

/** Runs one prismctl command line and returns its exit code. */
async function runPrismctl(argv: string[], io: CliIo): Promise<number> {
  // Until the command line parses, a literal --json anywhere decides the form of the error.
  let output = new Output(io, argv.includes("--json"));
  let values: OptionValues = {};
  try {
    const parsed = parseCommandLine(argv);
    values = parsed.values;
    output = new Output(io, booleanOption(values, "json"));
    const target = route(parsed);

    if (target.kind === "help") {
      if (target.exitCode === ExitCode.Success) {
        io.stdout.write(target.text);
      } else {
        // The command is incomplete: the help goes to stderr, and --json still gets its error object.
        io.stderr.write(target.text);
        if (output.json) {
          output.writeJson({ error: { code: "invalid_argument", message: "missing command; run prismctl --help" } });
        }
      }
      return target.exitCode;
    }

    const helpTopic = `${target.spec.group} ${target.spec.name}`;
    return await target.spec.run({ args: target.args, values, io, output, helpTopic });
  } catch (error) {
    return reportFailure(describeFailure(error, failureContextOf(values, io.env)), output);
  }
}

const io: CliIo = {
  // A getter, because opening stdin for a command that never reads it could hold the process open.
  get stdin() {
    return process.stdin;
  },
  stdout: process.stdout,
  stderr: process.stderr,
  env: process.env,
};

// A reader that goes away (prismctl ... | head -1) is not an error of ours.
process.stdout.on("error", (error: NodeJS.ErrnoException) => {
  process.exit(error.code === "EPIPE" ? ExitCode.Success : ExitCode.Internal);
});

process.exitCode = await runPrismctl(process.argv.slice(2), io);
