/**
 * Loads a configuration file: YAML parsing, ${VAR} substitution, PRISM_* overrides and
 * validation, with every problem reported as a ConfigError issue at its line and column.
 */

import { readFile } from "node:fs/promises";

import { isMap, LineCounter, parseDocument, visit, type Document, type YAMLError } from "yaml";
import type * as z from "zod";

import { ConfigError, formatConfigPath, type ConfigIssue } from "./config-error.js";
import {
  applyEnvironmentOverrides,
  checkSecretReferences,
  substituteEnvironmentReferences,
  type AppliedOverride,
  type NodeProblem,
} from "./environment.js";
import { describeZodIssue } from "./issue-messages.js";
import type { PrismConfig } from "./model.js";
import { prismConfigSchema } from "./schema.js";
import { ALLOWED_KEYS_PREFIX } from "./schema-helpers.js";
import { locatePath, positionAt } from "./yaml-locations.js";

/** A plain, single-quoted or double-quoted key up to its colon. */
const DUPLICATE_KEY_TEXT = /^("(?:[^"\\]|\\.)*"|'(?:[^']|'')*'|[^:\n]*?)\s*:/;

/** Maximum number of alias expansions, which stops a small file with nested aliases from expanding into gigabytes. */
const MAX_ALIAS_COUNT = 100;

/**
 * Reads and validates the configuration file at `path`.
 * Rejects with ConfigError when the file is invalid, and with the file system's error
 * (ENOENT, EACCES, EISDIR, ...) when it cannot be read.
 */
export async function loadConfigFile(path: string, env: NodeJS.ProcessEnv = process.env): Promise<PrismConfig> {
  const text = await readFile(path, "utf8");
  return parseConfig(text, path, env);
}

/**
 * Parses and validates configuration text. `source` names the file in issues.
 * Throws ConfigError listing every issue found.
 */
export function parseConfig(text: string, source: string, env: NodeJS.ProcessEnv = process.env): PrismConfig {
  const yamlText = text.replace(/^\uFEFF/, "");
  const lineCounter = new LineCounter();
  const document = parseDocument(yamlText, { lineCounter, prettyErrors: false, uniqueKeys: true });
  const issueAt = (offset: number, path: readonly PropertyKey[], message: string): ConfigIssue => ({
    file: source,
    ...positionAt(lineCounter, offset),
    path: formatConfigPath(path),
    message,
  });

  const structureIssues = findStructureIssues(document, yamlText, issueAt);
  if (structureIssues.length > 0) {
    throw new ConfigError(structureIssues);
  }

  // Secrets are checked on the text as written, before references are replaced.
  const nodeProblems: NodeProblem[] = [...checkSecretReferences(document), ...substituteEnvironmentReferences(document, env)];
  const raw = documentToObject(document, (message) => issueAt(0, [], message));
  const overrides = applyEnvironmentOverrides(raw, env);

  const result = prismConfigSchema.safeParse(raw, { error: describeZodIssue });
  const schemaIssues = result.success ? [] : result.error.issues;

  // A value that already has a secret or ${VAR} problem would only repeat it as a type error.
  const reportedPaths = nodeProblems.map((problem) => formatConfigPath(problem.path));
  const issues = [
    ...nodeProblems.map((problem) => issueAt(problem.offset, problem.path, problem.message)),
    ...schemaIssues
      .filter((issue) => !reportedPaths.some((reported) => isWithin(formatConfigPath(issue.path), reported)))
      .flatMap((issue) => describeSchemaIssue(issue, source, document, lineCounter, overrides)),
  ];

  if (!result.success || issues.length > 0) {
    throw new ConfigError(sortIssues(issues));
  }
  return result.data;
}

type IssueAt = (offset: number, path: readonly PropertyKey[], message: string) => ConfigIssue;

/** Returns the problems that stop validation: YAML syntax errors, duplicate keys, unknown aliases and a top level that is not a mapping. */
function findStructureIssues(document: Document, yamlText: string, issueAt: IssueAt): ConfigIssue[] {
  if (document.errors.length > 0) {
    return document.errors.map((error) => issueAt(error.pos[0], [], describeYamlError(error, yamlText)));
  }

  const aliasProblems = findUnresolvedAliases(document);
  if (aliasProblems.length > 0) {
    return aliasProblems.map((problem) => issueAt(problem.offset, [], problem.message));
  }

  if (document.contents !== null && !isMap(document.contents)) {
    const message = "the file must be a mapping of sections such as deployment, proxy and backends, but its top level is not a mapping";
    return [issueAt(document.contents.range?.[0] ?? 0, [], message)];
  }
  return [];
}

function documentToObject(document: Document, rootIssue: (message: string) => ConfigIssue): Record<string, unknown> {
  let value: unknown;
  try {
    value = document.toJS({ maxAliasCount: MAX_ALIAS_COUNT });
  } catch (error) {
    // toJS throws ReferenceError for an unknown alias and for too many alias expansions.
    const reason = error instanceof Error ? error.message : String(error);
    throw new ConfigError([rootIssue(`failed to expand the YAML aliases: ${reason}`)], { cause: error });
  }
  return typeof value === "object" && value !== null ? (value as Record<string, unknown>) : {};
}

/** Converts one zod issue into issues located in the file. An unknown-key issue yields one issue per key. */
function describeSchemaIssue(
  issue: z.core.$ZodIssue,
  source: string,
  document: Document,
  lineCounter: LineCounter,
  overrides: readonly AppliedOverride[],
): ConfigIssue[] {
  const located = (path: readonly PropertyKey[], target: "value" | "key", message: string, locationPath = path): ConfigIssue => ({
    file: source,
    ...locatePath(document, lineCounter, locationPath, target),
    path: formatConfigPath(path),
    message: message + overrideNote(path, overrides),
  });

  if (issue.code === "unrecognized_keys") {
    return issue.keys.map((key) => located([...issue.path, key], "key", describeUnknownKey(key, issue.message)));
  }

  const params = issue.code === "custom" ? issue.params : undefined;
  const locationPath = readLocationPath(params);
  const target = params?.["locateKey"] === true ? "key" : "value";
  return [located(issue.path, target, issue.message, locationPath ?? issue.path)];
}

function describeUnknownKey(key: string, allowedMessage: string): string {
  if (!allowedMessage.startsWith(ALLOWED_KEYS_PREFIX)) {
    return `unknown key "${key}". ${allowedMessage}`;
  }

  const allowed = allowedMessage.slice(ALLOWED_KEYS_PREFIX.length).split(", ");
  const suggestion = allowed.find((candidate) => editDistance(candidate, key) <= Math.min(2, Math.floor(key.length / 2)));
  const hint = suggestion === undefined ? "" : ` Did you mean "${suggestion}"?`;
  return `unknown key "${key}".${hint} ${allowedMessage}`;
}

function describeYamlError(error: YAMLError, yamlText: string): string {
  if (error.code === "DUPLICATE_KEY") {
    // The error's range covers only the key's first character, so the key is read from the text.
    const key = DUPLICATE_KEY_TEXT.exec(yamlText.slice(error.pos[0]))?.[1] ?? yamlText.slice(error.pos[0], error.pos[1]);
    const quotedKey = key.startsWith('"') || key.startsWith("'") ? key : JSON.stringify(key);
    return `duplicate key ${quotedKey}. A key may appear only once in a mapping`;
  }
  return `invalid YAML: ${error.message}`;
}

/** Finds aliases such as "*name" whose anchor "&name" is missing or appears only later in the file. */
function findUnresolvedAliases(document: Document): { offset: number; message: string }[] {
  const problems: { offset: number; message: string }[] = [];
  visit(document, {
    Alias(_key, alias) {
      if (alias.resolve(document) === undefined) {
        problems.push({
          offset: alias.range?.[0] ?? 0,
          message: `unknown YAML alias "*${alias.source}". Define the anchor "&${alias.source}" before using it`,
        });
      }
    },
  });
  return problems;
}

function overrideNote(path: readonly PropertyKey[], overrides: readonly AppliedOverride[]): string {
  const formatted = formatConfigPath(path);
  const override = overrides.find((candidate) => isWithin(formatted, formatConfigPath(candidate.path)));
  return override === undefined ? "" : ` (the value comes from the environment variable ${override.variable})`;
}

function readLocationPath(params: Record<string, unknown> | undefined): PropertyKey[] | undefined {
  const locationPath = params?.["locationPath"];
  return Array.isArray(locationPath) ? (locationPath as PropertyKey[]) : undefined;
}

/** Returns whether the formatted path `path` is `ancestor` or lies below it. */
function isWithin(path: string, ancestor: string): boolean {
  return path === ancestor || path.startsWith(`${ancestor}.`) || path.startsWith(`${ancestor}[`);
}

function sortIssues(issues: ConfigIssue[]): ConfigIssue[] {
  return [...issues].sort((a, b) => a.line - b.line || a.column - b.column);
}

/** Returns the Levenshtein distance, used to suggest the allowed key closest to a misspelled one. */
function editDistance(first: string, second: string): number {
  let previous = Array.from({ length: second.length + 1 }, (_, index) => index);
  for (let i = 1; i <= first.length; i += 1) {
    const current = [i];
    for (let j = 1; j <= second.length; j += 1) {
      const substitution = (previous[j - 1] ?? 0) + (first[i - 1] === second[j - 1] ? 0 : 1);
      current.push(Math.min((previous[j] ?? 0) + 1, (current[j - 1] ?? 0) + 1, substitution));
    }
    previous = current;
  }
  return previous[second.length] ?? 0;
}
