import { pino, type Logger, type DestinationStream, type LoggerOptions } from "pino";

export type { Logger };

/**
 * Paths that may carry a secret or tenant data. Request handlers never put keys,
 * values or payloads into log records; redaction is the second line of defence.
 */
export const REDACTED_PATHS = [
  "authorization",
  "*.authorization",
  "headers.authorization",
  "key",
  "*.key",
  "value",
  "*.value",
  "payload",
  "*.payload",
  "password",
  "*.password",
  "apiKey",
  "*.apiKey",
];

export interface LoggerSettings {
  level: LoggerOptions["level"];
  destination?: DestinationStream;
}

/** Creates the process logger; every other logger is a child of it. */
export function createLogger(settings: LoggerSettings): Logger {
  const options: LoggerOptions = {
    level: settings.level ?? "info",
    base: { service: "prism-proxy" },
    redact: { paths: REDACTED_PATHS, censor: "[redacted]" },
    timestamp: pino.stdTimeFunctions.isoTime,
  };
  return settings.destination === undefined ? pino(options) : pino(options, settings.destination);
}
