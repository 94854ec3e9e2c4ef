/**
 * Environment input to a configuration: ${VAR} references in string values, secrets that
 * must be such references, and the PRISM_* overrides.
 */

import { isAlias, isMap, isScalar, isSeq, Scalar, type Document } from "yaml";

import type { ConfigPath } from "./semantic-checks.js";

/** A problem tied to a node of the YAML document, located by the node's character offset. */
export interface NodeProblem {
  path: ConfigPath;
  offset: number;
  message: string;
}

/**
 * Keys whose values are secrets: they must be a ${VAR} reference, never a literal. For a
 * list, such as previous_secrets, each item must be one. redaction_key is the audit
 * trail's HMAC key; secret and previous_secrets derive per-tenant backend passwords.
 */
export const SECRET_KEYS: ReadonlySet<string> = new Set(["password", "redaction_key", "secret", "previous_secrets"]);

/** Environment variables that replace one value of the file, when set and not empty. */
export const ENVIRONMENT_OVERRIDES: readonly { variable: string; path: readonly [string, string, ...string[]] }[] = [
  { variable: "PRISM_LISTEN", path: ["proxy", "listen"] },
  { variable: "PRISM_ADMIN_LISTEN", path: ["proxy", "admin_listen"] },
  { variable: "PRISM_REDIS_ENDPOINT", path: ["backends", "redis", "endpoint"] },
  { variable: "PRISM_NATS_ENDPOINT", path: ["backends", "nats", "endpoint"] },
  { variable: "PRISM_POSTGRES_ENDPOINT", path: ["backends", "postgres", "endpoint"] },
  { variable: "PRISM_KAFKA_ENDPOINT", path: ["backends", "kafka", "endpoint"] },
];

export interface AppliedOverride {
  variable: string;
  path: readonly string[];
}

const SECRET_REFERENCE = /^\$\{[A-Za-z_][A-Za-z0-9_]*\}$/;
const VARIABLE_NAME = /^[A-Za-z_][A-Za-z0-9_]*$/;
const YAML_TRUE: ReadonlySet<string> = new Set(["true", "True", "TRUE"]);
const YAML_FALSE: ReadonlySet<string> = new Set(["false", "False", "FALSE"]);
const YAML_INTEGER = /^[-+]?[0-9]+$/;
const YAML_FLOAT = /^[-+]?(\.[0-9]+|[0-9]+(\.[0-9]*)?)([eE][-+]?[0-9]+)?$/;

/** Reports every secret key whose value is anything but exactly one ${VAR} reference. Run it before substitution. */
export function checkSecretReferences(document: Document): NodeProblem[] {
  const problems: NodeProblem[] = [];

  forEachValue(document, (node, path, key, keyOffset) => {
    if (key === undefined || !SECRET_KEYS.has(key)) {
      return;
    }

    const resolved = isAlias(node) ? node.resolve(document) : node;
    if (isScalar(resolved) && typeof resolved.value === "string" && SECRET_REFERENCE.test(resolved.value)) {
      return;
    }
    if (isSeq(resolved)) {
      // The visitor reaches each item with the list's key.
      return;
    }
    // The literal itself is never repeated, because it may be a real secret.
    const example = `\${${path.filter((segment) => typeof segment === "string").slice(-2).join("_").toUpperCase()}}`;
    problems.push({
      path,
      offset: rangeStart(node) ?? keyOffset,
      message: `the ${key} must be exactly one environment variable reference such as "${example}", because literal secrets are not allowed in the file. Set that variable where the proxy runs`,
    });
  });
  return problems;
}

/**
 * Replaces ${VAR} references in every string value of the document with the variable's
 * value, in place. "$${" stands for a literal "${". In an unquoted value other than a
 * secret, a result that reads as a YAML number or boolean takes that type, as if it had
 * been written in the file. Returns one problem per unset variable or malformed reference.
 */
export function substituteEnvironmentReferences(document: Document, env: NodeJS.ProcessEnv): NodeProblem[] {
  const problems: NodeProblem[] = [];

  forEachValue(document, (node, path, key) => {
    if (!isScalar(node) || typeof node.value !== "string" || !node.value.includes("$")) {
      return;
    }

    const result = substituteReferences(node.value, env);
    const retype = node.type === Scalar.PLAIN && result.value !== node.value && !(key !== undefined && SECRET_KEYS.has(key));
    node.value = retype ? resolvePlainScalar(result.value) : result.value;
    for (const error of result.errors) {
      problems.push({ path, offset: rangeStart(node) ?? 0, message: error });
    }
  });
  return problems;
}

/** Substitutes ${VAR} references in one string. Unset variables become "" and are reported. */
export function substituteReferences(text: string, env: NodeJS.ProcessEnv): { value: string; errors: string[] } {
  const errors: string[] = [];
  let value = "";
  let index = 0;

  while (index < text.length) {
    if (text.startsWith("$${", index)) {
      value += "${";
      index += 3;
      continue;
    }
    if (!text.startsWith("${", index)) {
      value += text.charAt(index);
      index += 1;
      continue;
    }

    const end = text.indexOf("}", index + 2);
    if (end === -1) {
      errors.push('unterminated "${" reference. Close it with "}", or write "$${" for a literal "${"');
      break;
    }

    const name = text.slice(index + 2, end);
    const variable = env[name];
    if (!VARIABLE_NAME.test(name)) {
      errors.push(`invalid environment variable reference "\${${name}}". A reference has the form \${NAME}, where NAME has letters, digits and '_' and does not start with a digit`);
    } else if (variable === undefined) {
      errors.push(`environment variable ${name} is not set. Set it, or write "$\${" for a literal "\${"`);
    } else {
      value += variable;
    }
    index = end + 1;
  }
  return { value, errors };
}

/**
 * Applies the PRISM_* overrides to the plain object of the file. The listeners are set even
 * when the file has no proxy section, and a backend endpoint only when the backend is configured.
 */
export function applyEnvironmentOverrides(raw: unknown, env: NodeJS.ProcessEnv): AppliedOverride[] {
  const applied: AppliedOverride[] = [];
  if (!isRecord(raw)) {
    return applied;
  }

  for (const { variable, path } of ENVIRONMENT_OVERRIDES) {
    const value = env[variable];
    if (value === undefined || value === "") {
      continue;
    }

    const [section, ...rest] = path;
    if (section === "proxy" && raw[section] === undefined) {
      raw[section] = {};
    }

    let parent: unknown = raw[section];
    for (const segment of rest.slice(0, -1)) {
      parent = isRecord(parent) ? parent[segment] : undefined;
    }
    const key = rest.at(-1);
    if (isRecord(parent) && key !== undefined) {
      parent[key] = value;
      applied.push({ variable, path });
    }
  }
  return applied;
}

/** Converts text to a number or boolean as the YAML 1.2 core schema reads an unquoted value. Other text stays a string. */
function resolvePlainScalar(text: string): string | number | boolean {
  if (YAML_TRUE.has(text)) {
    return true;
  }
  if (YAML_FALSE.has(text)) {
    return false;
  }
  return YAML_INTEGER.test(text) || YAML_FLOAT.test(text) ? Number(text) : text;
}

type ValueVisitor = (node: unknown, path: ConfigPath, key: string | undefined, keyOffset: number) => void;

/**
 * Calls `visit` for every value node with its key path. Keys are skipped, and a node that
 * aliases refer to is visited once, where it is defined.
 */
function forEachValue(document: Document, visit: ValueVisitor): void {
  // Items of a list of scalars are visited with the list's key, so a secret list is checked item by item.
  const walk = (node: unknown, path: ConfigPath, listKey: string | undefined): void => {
    if (isMap(node)) {
      for (const pair of node.items) {
        const key = isScalar(pair.key) ? String(pair.key.value) : undefined;
        const childPath = [...path, key ?? "?"];
        visit(pair.value, childPath, key, rangeStart(pair.key) ?? 0);
        walk(pair.value, childPath, key);
      }
    } else if (isSeq(node)) {
      node.items.forEach((item, index) => {
        visit(item, [...path, index], isScalar(item) ? listKey : undefined, rangeStart(node) ?? 0);
        walk(item, [...path, index], undefined);
      });
    }
  };
  walk(document.contents, [], undefined);
}

function rangeStart(node: unknown): number | undefined {
  if (typeof node === "object" && node !== null && "range" in node && Array.isArray(node.range)) {
    const start: unknown = node.range[0];
    return typeof start === "number" ? start : undefined;
  }
  return undefined;
}

function isRecord(value: unknown): value is Record<string, unknown> {
  return typeof value === "object" && value !== null && !Array.isArray(value);
}
