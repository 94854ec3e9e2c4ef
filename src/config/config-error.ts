/** The one error type of configuration loading: a list of issues, each with its place in the file. */

export interface ConfigIssue {
  /** The file name or source label passed to the loader. */
  file: string;
  /** 1-based line of the key or value at fault. */
  line: number;
  /** 1-based column of the key or value at fault. */
  column: number;
  /** Key path such as "proxy.connection_pools.redis.per_session_limit" or "tenants[2].id". Empty means the whole file. */
  path: string;
  message: string;
}

/** Raised when a configuration file cannot be parsed or fails validation. `message` lists every issue, one per line. */
export class ConfigError extends Error {
  override name = "ConfigError";
  readonly issues: readonly ConfigIssue[];

  constructor(issues: readonly ConfigIssue[], options?: ErrorOptions) {
    super(issues.map(formatConfigIssue).join("\n"), options);
    this.issues = issues;
  }
}

/** Formats an issue as "FILE:LINE:COL: PATH: MESSAGE", leaving out PATH when it is empty. */
export function formatConfigIssue(issue: ConfigIssue): string {
  const location = `${issue.file}:${issue.line}:${issue.column}`;
  return issue.path === "" ? `${location}: ${issue.message}` : `${location}: ${issue.path}: ${issue.message}`;
}

/** Formats a key path as "tenants[0].namespaces[1]". */
export function formatConfigPath(path: readonly PropertyKey[]): string {
  let formatted = "";
  for (const segment of path) {
    if (typeof segment === "number") {
      formatted += `[${segment}]`;
    } else {
      formatted += formatted === "" ? String(segment) : `.${String(segment)}`;
    }
  }
  return formatted;
}
