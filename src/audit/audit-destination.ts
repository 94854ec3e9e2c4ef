import { fileURLToPath } from "node:url";

/** Destination of a sink, parsed from its URL. */
export type AuditDestination =
  | { kind: "stdout" }
  | { kind: "file"; path: string }
  | { kind: "postgres"; url: string }
  | { kind: "object_store"; scheme: "s3" | "gs"; url: string };

export type AuditDestinationKind = AuditDestination["kind"];

export type ParsedDestination = { ok: true; destination: AuditDestination } | { ok: false; error: string };

const USAGE = 'Use "stdout", a file URL such as "file:///var/log/prism/audit.jsonl", or a postgres:// URL';

/**
 * Parses a sink URL. Object-store URLs (s3://, gs://) parse, so a configuration that
 * names one still loads, but no sink writes to them: createAuditLog rejects them.
 * Messages never repeat the URL, which may carry a password.
 */
export function parseAuditDestination(url: string): ParsedDestination {
  if (url === "stdout") {
    return { ok: true, destination: { kind: "stdout" } };
  }

  let parsed: URL;
  try {
    parsed = new URL(url);
  } catch {
    return { ok: false, error: `invalid audit destination. ${USAGE}` };
  }

  switch (parsed.protocol) {
    case "file:":
      return parseFileUrl(parsed);
    case "postgres:":
    case "postgresql:":
      if (parsed.hostname === "") {
        return { ok: false, error: "invalid PostgreSQL audit URL: the host is missing. Use postgres://user@host:5432/database" };
      }
      return { ok: true, destination: { kind: "postgres", url } };
    case "s3:":
      return { ok: true, destination: { kind: "object_store", scheme: "s3", url } };
    case "gs:":
      return { ok: true, destination: { kind: "object_store", scheme: "gs", url } };
    default:
      return { ok: false, error: `unsupported audit destination scheme ${JSON.stringify(parsed.protocol)}. ${USAGE}` };
  }
}

function parseFileUrl(url: URL): ParsedDestination {
  let path: string;
  try {
    path = fileURLToPath(url);
  } catch {
    return {
      ok: false,
      error: `invalid audit file URL: the host must be empty, as in "file:///var/log/prism/audit.jsonl" (three slashes), got host ${JSON.stringify(url.hostname)}`,
    };
  }

  if (path.endsWith("/")) {
    return { ok: false, error: `invalid audit file URL: ${JSON.stringify(path)} is a directory. Name the file, such as "${path}audit.jsonl"` };
  }
  return { ok: true, destination: { kind: "file", path } };
}

/** Returns the default sink name of a destination, used when the configuration names none. */
export function defaultSinkName(destination: AuditDestination): string {
  switch (destination.kind) {
    case "stdout":
      return "stdout";
    case "file":
      return "file";
    case "postgres":
      return "postgres";
    case "object_store":
      return destination.scheme;
  }
}
