/**
 * Exit codes of prismctl. Scripts branch on them, so they never change meaning;
 * docs/prismctl.md lists them.
 */
export const ExitCode = {
  Success: 0,
  /** kv get found no value, kv exists returned false, or a wait ended without the expected messages. */
  NotFound: 1,
  /** Invalid arguments or options; nothing was sent to the proxy. */
  Usage: 2,
  /** The proxy responded with an error status, or the call passed its --timeout deadline. */
  Rejected: 3,
  /** No connection to the proxy could be opened, or the connection broke. */
  Unreachable: 4,
  /** prismctl itself failed, for example while writing its output. */
  Internal: 5,
} as const;

export type ExitCode = (typeof ExitCode)[keyof typeof ExitCode];
