/** Shared helpers for the configuration tests. */

import assert from "node:assert/strict";
import { fileURLToPath } from "node:url";

import { ConfigError, type ConfigIssue } from "../../src/config/config-error.js";
import { parseConfig } from "../../src/config/load.js";

/** The memo's example files, resolved from dist/test/config to the repository root. */
export const EXAMPLES_DIR = fileURLToPath(new URL("../../../config/examples/", import.meta.url));

/** Source name used for inline YAML in tests. */
export const TEST_FILE = "test.yaml";

/** Joins lines into YAML text, so that each test shows line numbers plainly. */
export function yaml(...lines: string[]): string {
  return `${lines.join("\n")}\n`;
}

/** Parses `text` and returns the ConfigError it must raise. */
export function parseError(text: string, env: NodeJS.ProcessEnv = {}): ConfigError {
  try {
    parseConfig(text, TEST_FILE, env);
  } catch (error) {
    assert.ok(error instanceof ConfigError, `expected a ConfigError, got ${String(error)}`);
    return error;
  }
  assert.fail("expected the configuration to be rejected");
}

export interface ExpectedIssue {
  line: number;
  path: string;
  /** Fragments that the message must contain, such as the allowed values. */
  mentions: string[];
}

/**
 * Asserts that `text` is rejected with an issue at `expected.path` on `expected.line`,
 * and that the formatted error names the file, the line, the path and each fragment.
 */
export function assertRejected(text: string, expected: ExpectedIssue, env: NodeJS.ProcessEnv = {}): ConfigIssue {
  const error = parseError(text, env);
  const issue = error.issues.find((candidate) => candidate.path === expected.path);
  assert.ok(issue, `no issue at ${expected.path}; got:\n${error.message}`);

  assert.equal(issue.file, TEST_FILE);
  assert.equal(issue.line, expected.line, error.message);
  assert.match(error.message, new RegExp(`^${escapeRegExp(`${TEST_FILE}:${expected.line}:${issue.column}: ${expected.path}: `)}`, "m"));
  for (const fragment of expected.mentions) {
    assert.ok(issue.message.includes(fragment), `message lacks ${JSON.stringify(fragment)}: ${issue.message}`);
  }
  return issue;
}

function escapeRegExp(text: string): string {
  return text.replace(/[.*+?^${}()|[\]\\]/g, "\\$&");
}
