/** `prismctl config validate FILE [--json]`: checks a configuration file without starting anything. */

import { ConfigError, formatConfigIssue } from "../config/config-error.js";
import { loadConfigFile } from "../config/load.js";
import type { PrismConfig } from "../config/model.js";

export interface CommandOutput {
  stdout: NodeJS.WritableStream;
  stderr: NodeJS.WritableStream;
}

/** Exit status when the file is valid. */
export const EXIT_VALID = 0;
/** Exit status when the file has configuration issues. */
export const EXIT_INVALID = 1;
/** Exit status when the file cannot be read at all. */
export const EXIT_UNREADABLE = 2;

const READ_ERROR_REASONS: Readonly<Record<string, string>> = {
  ENOENT: "no such file",
  EACCES: "permission denied",
  EPERM: "permission denied",
  EISDIR: "it is a directory",
};

/**
 * Validates `file` with the current environment and writes the result to stdout: a
 * summary line when valid, else one "FILE:LINE:COL: PATH: MESSAGE" line per issue. With
 * `json`, stdout gets a JSON array of the issues, empty when the file is valid.
 * Returns 0 when valid, 1 when invalid and 2 when the file cannot be read (message on stderr).
 */
export async function runConfigValidate(file: string, options: { json: boolean }, out: CommandOutput): Promise<number> {
  let config: PrismConfig;
  try {
    config = await loadConfigFile(file);
  } catch (error) {
    if (error instanceof ConfigError) {
      writeIssues(error, options, out);
      return EXIT_INVALID;
    }
    const code = readErrorCode(error);
    if (code !== undefined) {
      const reason = READ_ERROR_REASONS[code] ?? (error instanceof Error ? error.message : code);
      out.stderr.write(`cannot read configuration file ${file}: ${reason} (${code})\n`);
      return EXIT_UNREADABLE;
    }
    throw error;
  }

  if (options.json) {
    out.stdout.write("[]\n");
  } else {
    out.stdout.write(`${file}: valid (${summarize(config)})\n`);
  }
  return EXIT_VALID;
}

/** Summarizes a configuration as "2 tenants, keyvalue on redis, pubsub on nats". */
export function summarize(config: PrismConfig): string {
  const tenantCount = config.tenants.length;
  const tenants = `${tenantCount} ${tenantCount === 1 ? "tenant" : "tenants"}`;
  return `${tenants}, keyvalue on ${config.interfaces.keyvalue.backend}, pubsub on ${config.interfaces.pubsub.backend}`;
}

function writeIssues(error: ConfigError, options: { json: boolean }, out: CommandOutput): void {
  if (options.json) {
    out.stdout.write(`${JSON.stringify(error.issues, null, 2)}\n`);
    return;
  }
  for (const issue of error.issues) {
    out.stdout.write(`${formatConfigIssue(issue)}\n`);
  }
}

/** Returns the system error code (ENOENT, EACCES, ...) of a failed read, or undefined for other errors. */
function readErrorCode(error: unknown): string | undefined {
  if (error instanceof Error && "code" in error && typeof error.code === "string" && /^E[A-Z]+$/.test(error.code)) {
    return error.code;
  }
  return undefined;
}
