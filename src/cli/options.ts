import type { ParseArgsConfig } from "node:util";
import { UsageError } from "./usage-error.js";

/** One command-line option: how node:util parseArgs reads it and how the help shows it. */
export interface OptionSpec {
  type: "string" | "boolean";
  /** Placeholder for the value in the help, for example "SECONDS". */
  valueName?: string;
  short?: string;
  multiple?: boolean;
  /** Help text: the setting the option controls, its unit and its default. */
  help: string;
}

export type OptionTable = Readonly<Record<string, OptionSpec>>;

/** Option values as parseArgs returns them for an OptionTable. */
export type OptionValues = Record<string, string | boolean | (string | boolean)[] | undefined>;

export const DEFAULT_ADDRESS = "http://127.0.0.1:8080";
export const DEFAULT_CALL_TIMEOUT_SECONDS = 10;

/** Node timers fire at once for delays above 2^31 - 1 ms, so longer timeouts are rejected. */
export const MAX_TIMEOUT_SECONDS = Math.floor((2 ** 31 - 1) / 1000);

export const ADDRESS_ENV = "PRISM_ADDRESS";
export const NAMESPACE_ENV = "PRISM_NAMESPACE";
export const API_KEY_ENV = "PRISM_API_KEY";

/** Options of every command that talks to a proxy. */
export const CONNECTION_OPTIONS: OptionTable = {
  address: {
    type: "string",
    valueName: "URL",
    help: `data address of the proxy, http:// or https:// (env ${ADDRESS_ENV}; default ${DEFAULT_ADDRESS})`,
  },
  namespace: {
    type: "string",
    valueName: "NS",
    help: `namespace to use, sent as the x-prism-namespace header (env ${NAMESPACE_ENV}; required)`,
  },
  "api-key": {
    type: "string",
    valueName: "KEY",
    help: `API key, sent as "authorization: Bearer" and never printed (env ${API_KEY_ENV}; prefer the variable, because other users can read arguments with ps)`,
  },
  protocol: {
    type: "string",
    valueName: "grpc|connect",
    help: "grpc: gRPC over HTTP/2; connect: the Connect protocol with JSON over HTTP/1.1 (default grpc)",
  },
  timeout: {
    type: "string",
    valueName: "SECONDS",
    help: `deadline of each call in seconds, fractions allowed, 0 for none (default ${DEFAULT_CALL_TIMEOUT_SECONDS})`,
  },
};

/** Options of every command. */
export const OUTPUT_OPTIONS: OptionTable = {
  json: {
    type: "boolean",
    help: "write results and errors to stdout as JSON, one object per line (default: text)",
  },
  help: { type: "boolean", short: "h", help: "print this help and exit" },
};

/** Converts an option table to the options of node:util parseArgs. */
export function toParseArgsOptions(table: OptionTable): NonNullable<ParseArgsConfig["options"]> {
  const options: NonNullable<ParseArgsConfig["options"]> = {};
  for (const [name, spec] of Object.entries(table)) {
    options[name] = {
      type: spec.type,
      ...(spec.short === undefined ? {} : { short: spec.short }),
      ...(spec.multiple === true ? { multiple: true } : {}),
    };
  }
  return options;
}

export function stringOption(values: OptionValues, name: string): string | undefined {
  const value = values[name];
  return typeof value === "string" ? value : undefined;
}

export function stringListOption(values: OptionValues, name: string): string[] {
  const value = values[name];
  return Array.isArray(value) ? value.filter((item): item is string => typeof item === "string") : [];
}

export function booleanOption(values: OptionValues, name: string): boolean {
  return values[name] === true;
}

/**
 * Parses a number of seconds such as "10" or "0.5" into milliseconds. Returns 0 for
 * "0", which callers read as "no limit".
 */
export function parseSecondsToMs(text: string, label: string, helpTopic: string): number {
  if (!/^\d+(\.\d+)?$/.test(text)) {
    throw new UsageError(`${label} "${text}" is not a number of seconds; use for example 10 or 0.5`, helpTopic);
  }

  const seconds = Number(text);
  if (seconds > MAX_TIMEOUT_SECONDS) {
    throw new UsageError(`${label} ${text} is too long; the maximum is ${MAX_TIMEOUT_SECONDS} seconds`, helpTopic);
  }
  return Math.round(seconds * 1000);
}

/** Parses a whole number of at least 1. */
export function parsePositiveInteger(text: string, label: string, helpTopic: string): number {
  const value = Number(text);
  if (!/^\d+$/.test(text) || !Number.isSafeInteger(value) || value < 1) {
    throw new UsageError(`${label} "${text}" is not valid; use a whole number of at least 1`, helpTopic);
  }
  return value;
}
