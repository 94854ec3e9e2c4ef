import { invalidArgument } from "../errors/prism-error.js";

/**
 * Validation of client-supplied names before any rewrite. Every driver applies the
 * same rules, so a name that one backend accepts never means something else on another.
 */

/**
 * Characters rejected in keys: control and format characters (including bidirectional
 * overrides and zero-width characters), every Unicode space, and the glob
 * metacharacters * ? [ ] \ that Redis patterns (SCAN, KEYS, ACL key patterns) interpret.
 */
const FORBIDDEN_IN_KEY = /[\p{Cc}\p{Cf}\p{Cs}\p{Co}\p{Cn}\p{Z}*?[\]\\]/u;

/**
 * Characters rejected in topics besides the token rules: the same control, format and
 * space characters, the glob metacharacters, and NATS protocol delimiters.
 */
const FORBIDDEN_IN_TOPIC = /[\p{Cc}\p{Cf}\p{Cs}\p{Co}\p{Cn}\p{Z}?[\]\\]/u;

const encoder = new TextEncoder();

export function byteLength(text: string): number {
  return encoder.encode(text).byteLength;
}

/** Shows a client-supplied name in an error message without letting it forge log lines. */
export function quoteName(name: string): string {
  const shown = name.length > 64 ? `${name.slice(0, 64)}…` : name;
  return JSON.stringify(shown);
}

function describeForbidden(match: string): string {
  const codePoint = match.codePointAt(0) ?? 0;
  return `U+${codePoint.toString(16).toUpperCase().padStart(4, "0")}`;
}

/** A length limit and where it comes from, for error messages. */
export interface NameLimit {
  maxBytes: number;
  /** For example "request_limits.max_key_bytes", or the backend whose limit applies. */
  source: string;
}

/** Rejects an empty, over-long or meaning-changing key with INVALID_ARGUMENT. */
export function validateKey(key: string, limit: NameLimit, field = "key"): void {
  if (key.length === 0) {
    throw invalidArgument(`${field} must not be empty`, "INVALID_NAME");
  }

  const size = byteLength(key);
  if (size > limit.maxBytes) {
    throw invalidArgument(
      `${field} ${quoteName(key)} is ${size} bytes; the limit is ${limit.maxBytes} bytes (${limit.source})`,
      "INVALID_NAME",
    );
  }

  const forbidden = FORBIDDEN_IN_KEY.exec(key);
  if (forbidden !== null) {
    throw invalidArgument(
      `${field} ${quoteName(key)} contains ${describeForbidden(forbidden[0])}; keys may not contain whitespace, control characters or the pattern characters * ? [ ] \\`,
      "INVALID_NAME",
    );
  }
}

export interface TopicRules {
  limit: NameLimit;
  /** Subscriptions may use "*" for one token and a final ">" for the rest; publishes may not. */
  allowWildcards: boolean;
}

/**
 * Rejects a topic that is empty, over-long, has an empty token (leading, trailing or
 * doubled "."), uses a forbidden character, or uses a wildcard where none is allowed.
 * Topics are "."-separated tokens, as NATS subjects are, on every backend.
 */
export function validateTopic(topic: string, rules: TopicRules): void {
  if (topic.length === 0) {
    throw invalidArgument("topic must not be empty", "INVALID_NAME");
  }

  const size = byteLength(topic);
  if (size > rules.limit.maxBytes) {
    throw invalidArgument(
      `topic ${quoteName(topic)} is ${size} bytes; the limit is ${rules.limit.maxBytes} bytes (${rules.limit.source})`,
      "INVALID_NAME",
    );
  }

  const forbidden = FORBIDDEN_IN_TOPIC.exec(topic);
  if (forbidden !== null) {
    throw invalidArgument(
      `topic ${quoteName(topic)} contains ${describeForbidden(forbidden[0])}; topics may not contain whitespace, control characters or ? [ ] \\`,
      "INVALID_NAME",
    );
  }

  const tokens = topic.split(".");
  tokens.forEach((token, index) => validateTopicToken(topic, token, index === tokens.length - 1, rules));
}

function validateTopicToken(topic: string, token: string, last: boolean, rules: TopicRules): void {
  if (token.length === 0) {
    throw invalidArgument(
      `topic ${quoteName(topic)} has an empty token; use "." only between non-empty tokens`,
      "INVALID_NAME",
    );
  }

  const wildcard = token === "*" || token === ">";
  const containsWildcard = token.includes("*") || token.includes(">");
  if (!containsWildcard) {
    return;
  }

  if (!rules.allowWildcards) {
    throw invalidArgument(
      `topic ${quoteName(topic)} contains a wildcard; publish to a concrete topic (wildcards are for Subscribe only)`,
      "INVALID_NAME",
    );
  }

  if (!wildcard) {
    throw invalidArgument(
      `topic ${quoteName(topic)} uses "*" or ">" inside a token; a wildcard must be a whole token`,
      "INVALID_NAME",
    );
  }

  if (token === ">" && !last) {
    throw invalidArgument(`topic ${quoteName(topic)} has ">" before its last token; ">" may only end a topic`, "INVALID_NAME");
  }
}
