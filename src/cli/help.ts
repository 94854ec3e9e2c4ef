import type { CommandSpec } from "./command.js";
import { CONNECTION_OPTIONS, OUTPUT_OPTIONS, type OptionSpec, type OptionTable } from "./options.js";

const WIDTH = 96;
const OPTION_COLUMN = 28;

const EXIT_CODES = `Exit codes:
  0  success
  1  not found: kv get found no value, kv exists is false, kv expire or kv ttl found no key,
     or pubsub subscribe --count N ended before N messages arrived
  2  usage error: invalid arguments or options; nothing was sent
  3  the proxy rejected the request (the gRPC code and its message go to stderr),
     or the call passed its --timeout deadline
  4  cannot connect to the proxy, or the connection broke
  5  prismctl itself failed`;

/** Wraps text to the help width, indenting continuation lines. */
function wrap(text: string, indent: number): string {
  const lines: string[] = [];
  let line = "";
  for (const word of text.split(" ")) {
    if (line !== "" && indent + line.length + 1 + word.length > WIDTH) {
      lines.push(line);
      line = word;
    } else {
      line = line === "" ? word : `${line} ${word}`;
    }
  }
  lines.push(line);
  return lines.join(`\n${" ".repeat(indent)}`);
}

function optionLine(name: string, spec: OptionSpec): string {
  const short = spec.short === undefined ? "    " : `-${spec.short}, `;
  const value = spec.valueName === undefined ? "" : ` ${spec.valueName}`;
  const repeat = spec.multiple === true ? " ..." : "";
  const flag = `  ${short}--${name}${value}${repeat}`;
  const padded = flag.length < OPTION_COLUMN ? flag.padEnd(OPTION_COLUMN) : `${flag}\n${" ".repeat(OPTION_COLUMN)}`;
  return padded + wrap(spec.help, OPTION_COLUMN);
}

function optionBlock(title: string, table: OptionTable, skip: ReadonlySet<string> = new Set()): string {
  const lines = Object.entries(table)
    .filter(([name]) => !skip.has(name))
    .map(([name, spec]) => optionLine(name, spec));
  return lines.length === 0 ? "" : `${title}:\n${lines.join("\n")}\n\n`;
}

function commandLine(spec: CommandSpec): string {
  const usage = `  ${spec.group} ${spec.name} ${spec.synopsis}`.trimEnd();
  return `${usage.padEnd(OPTION_COLUMN + 10)}${spec.summary}`;
}

/** Renders `prismctl --help`. */
export function rootHelp(commands: readonly CommandSpec[]): string {
  return `Usage: prismctl <group> <command> [arguments] [options]

prismctl is the operator and developer CLI of Prism: a client of a running proxy's
KeyValue and PubSub APIs, and tools for API keys and configuration files.

Commands:
${commands.map(commandLine).join("\n")}

${optionBlock("Connection options (kv and pubsub)", CONNECTION_OPTIONS)}${optionBlock("Options of every command", OUTPUT_OPTIONS)}Run "prismctl <group> --help" or "prismctl <group> <command> --help" for details.

${EXIT_CODES}
`;
}

/** Renders `prismctl GROUP --help`. */
export function groupHelp(group: string, commands: readonly CommandSpec[]): string {
  const members = commands.filter((spec) => spec.group === group);
  const own = members.map((spec) => optionBlock(`Options of ${group} ${spec.name}`, spec.options)).join("");
  const connects = members.some((spec) => spec.connects);

  return `Usage: prismctl ${group} <command> [arguments] [options]

Commands:
${members.map(commandLine).join("\n")}

${own}${connects ? optionBlock("Connection options", CONNECTION_OPTIONS) : ""}${optionBlock("Options of every command", OUTPUT_OPTIONS)}Run "prismctl ${group} <command> --help" for details and examples.

${EXIT_CODES}
`;
}

/** Renders `prismctl GROUP COMMAND --help`. */
export function commandHelp(spec: CommandSpec): string {
  const usage = `prismctl ${spec.group} ${spec.name} ${spec.synopsis}`.trimEnd();
  // A command option with the same name as a connection option replaces it, as subscribe's --timeout does.
  const overridden = new Set(Object.keys(spec.options));
  const examples = spec.examples.length === 0 ? "" : `Examples:\n${spec.examples.map((line) => `  ${line}`).join("\n")}\n\n`;

  return `Usage: ${usage} [options]

${spec.description}

${optionBlock("Options", spec.options)}${spec.connects ? optionBlock("Connection options", CONNECTION_OPTIONS, overridden) : ""}${optionBlock("Options of every command", OUTPUT_OPTIONS)}${examples}${EXIT_CODES}
`;
}
