import { Code, ConnectError } from "@connectrpc/connect";
import { codeToString } from "@connectrpc/connect/protocol-connect";
import type { Output } from "./cli-io.js";
import { ExitCode } from "./exit-codes.js";
import { API_KEY_ENV } from "./options.js";
import { UsageError } from "./usage-error.js";

/** A failed command as prismctl reports it. */
export interface Failure {
  exitCode: ExitCode;
  /** gRPC code name in snake_case, for example "permission_denied"; also the JSON error code. */
  code: string;
  message: string;
  /** Command whose help the message points to; only for usage errors. */
  helpTopic?: string;
}

/** Invocation details that a failure message may include; never the API key itself. */
export interface FailureContext {
  /** Base URL of the proxy, when the command got far enough to resolve it. */
  baseUrl: string | undefined;
  apiKeyGiven: boolean;
  timeoutMs: number | undefined;
}

/** Node.js socket and DNS error codes that mean the proxy was never reached or the connection broke. */
const NO_CONNECTION = new Set(["ECONNREFUSED", "ENOTFOUND", "EAI_AGAIN", "EHOSTUNREACH", "ENETUNREACH", "ETIMEDOUT"]);
const CONNECTION_BROKEN = new Set(["ECONNRESET", "EPIPE"]);

/** Returns the first Node.js error code in the cause chain that is one of the given codes. */
function findNodeErrorCode(error: unknown, codes: ReadonlySet<string>): string | undefined {
  const seen = new Set<unknown>();
  let current = error;
  while (current instanceof Error && !seen.has(current)) {
    seen.add(current);
    if ("code" in current && typeof current.code === "string" && codes.has(current.code)) {
      return current.code;
    }
    current = current.cause;
  }
  return undefined;
}

/** Tells errors the proxy sent, which always carry response headers such as x-request-id, from client-side ones. */
function hasResponseHeaders(error: ConnectError): boolean {
  return [...error.metadata.keys()].length > 0;
}

function describeConnectError(error: ConnectError, context: FailureContext): Failure {
  const address = context.baseUrl ?? "the proxy";
  const noConnection = findNodeErrorCode(error.cause, NO_CONNECTION);
  if (noConnection !== undefined) {
    return {
      exitCode: ExitCode.Unreachable,
      code: "unavailable",
      message: `cannot connect to the proxy at ${address} (${noConnection}); start one with "npm start" or pass the right --address`,
    };
  }

  // prismctl cancels a call only to stop a subscription, and it never reports that cancel. So a
  // CANCELED error without response headers means that the HTTP/2 connection closed under the call.
  const cancelledByConnection = error.code === Code.Canceled && !hasResponseHeaders(error);
  const broken = findNodeErrorCode(error.cause, CONNECTION_BROKEN) ?? (cancelledByConnection ? "stream cancelled" : undefined);
  if (broken !== undefined) {
    return {
      exitCode: ExitCode.Unreachable,
      code: "unavailable",
      message: `the connection to the proxy at ${address} broke (${broken}); check that the proxy is still running`,
    };
  }

  // A deadline error that carries no response headers comes from our own --timeout, not from the proxy.
  const clientDeadline = error.code === Code.DeadlineExceeded && !hasResponseHeaders(error);
  if (clientDeadline && context.timeoutMs !== undefined) {
    return {
      exitCode: ExitCode.Rejected,
      code: codeToString(error.code),
      message: `no response from ${address} within ${context.timeoutMs / 1000} s; raise --timeout or check the proxy`,
    };
  }

  let message = error.rawMessage;
  if (error.code === Code.Unauthenticated && !context.apiKeyGiven) {
    message += `; pass --api-key KEY or set ${API_KEY_ENV}`;
  }
  return { exitCode: ExitCode.Rejected, code: codeToString(error.code), message };
}

/** Classifies any error a command raised into an exit code and a message. */
export function describeFailure(error: unknown, context: FailureContext): Failure {
  if (error instanceof UsageError) {
    return { exitCode: ExitCode.Usage, code: "invalid_argument", message: error.message, helpTopic: error.helpTopic };
  }
  if (error instanceof ConnectError) {
    return describeConnectError(error, context);
  }
  const message = error instanceof Error ? error.message : String(error);
  return { exitCode: ExitCode.Internal, code: "internal", message: `prismctl failed: ${message}` };
}

/**
 * Writes the failure to stderr, and with --json also as {"error": {"code", "message"}}
 * on stdout. Returns the exit code.
 */
export function reportFailure(failure: Failure, output: Output): ExitCode {
  const shownCode = failure.exitCode === ExitCode.Rejected ? `${failure.code}: ` : "";
  output.note(`${shownCode}${failure.message}`);

  if (failure.helpTopic !== undefined) {
    const command = failure.helpTopic === "" ? "prismctl" : `prismctl ${failure.helpTopic}`;
    output.io.stderr.write(`Run "${command} --help" for usage.\n`);
  }
  if (output.json) {
    output.writeJson({ error: { code: failure.code, message: failure.message } });
  }
  return failure.exitCode;
}
