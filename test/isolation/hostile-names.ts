/** Keys that must be rejected before any backend sees them, with the reason each is hostile. */
export const HOSTILE_KEYS: readonly [string, string][] = [
  ["", "empty"],
  [" ", "space only"],
  ["a b", "inner space"],
  ["a\tb", "tab"],
  ["a\nb", "line feed"],
  ["a\r\nb", "CRLF, a protocol delimiter"],
  ["\u0000", "NUL"],
  ["a\u0000b", "inner NUL"],
  ["\u007f", "DEL"],
  ["\u0085", "C1 next line"],
  ["\u00a0", "no-break space"],
  ["\u2028", "line separator"],
  ["\u200b", "zero-width space"],
  ["\u202e", "right-to-left override"],
  ["\ufeff", "byte order mark"],
  ["*", "glob star"],
  ["tenant:*", "glob star after a prefix"],
  ["a?", "glob question mark"],
  ["[ab]", "glob class"],
  ["a\\b", "backslash escape"],
];

/** Publish topics that must be rejected, with the reason each is hostile. */
export const HOSTILE_PUBLISH_TOPICS: readonly [string, string][] = [
  ["", "empty"],
  [".", "separator only"],
  ["a..b", "empty token"],
  [".a", "leading separator"],
  ["a.", "trailing separator"],
  ["*", "wildcard"],
  [">", "full wildcard"],
  ["a.*", "token wildcard"],
  ["a.>", "tail wildcard"],
  ["a*b", "star inside a token"],
  ["a b", "space"],
  ["a\tb", "tab"],
  ["a\r\nPUB x 1", "protocol injection"],
  ["a\u0000b", "NUL"],
  ["a?", "glob question mark"],
  ["[a]", "glob class"],
  ["a\\b", "backslash"],
];

/** Subscribe patterns that must be rejected even though wildcards are allowed there. */
export const HOSTILE_SUBSCRIBE_TOPICS: readonly [string, string][] = [
  ["", "empty"],
  ["..", "empty tokens"],
  [">.a", "full wildcard before the last token"],
  ["a>", "wildcard inside a token"],
  ["*a", "star inside a token"],
  ["a. >", "space"],
  ["a\n>", "line feed"],
];

/**
 * Keys that are valid but try to name another tenant's data through the prefix
 * format; each must land inside the writer's own prefix. `{other}` is replaced by the
 * victim tenant's id.
 */
export const PREFIX_ESCAPE_KEYS: readonly string[] = [
  "tenant:{other}:secret",
  ":tenant:{other}:secret",
  "../{other}/secret",
  "{tenant_id}",
  "{key}",
  "%s%n",
  "secret",
];
