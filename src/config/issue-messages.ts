/**
 * Messages for zod's built-in issues, written for someone editing the YAML file: YAML
 * words (mapping, list), the value that was found and what is allowed instead.
 */

import type * as z from "zod";

const MAX_QUOTED_STRING_LENGTH = 60;

const EXPECTED_DESCRIPTIONS: Readonly<Record<string, string>> = {
  string: "a string",
  number: "a number",
  int: "a whole number",
  boolean: "true or false",
  object: "a mapping",
  array: "a list",
};

/** Error map passed to `safeParse`. A message that a schema sets itself takes precedence. */
export function describeZodIssue(issue: z.core.$ZodRawIssue): string | undefined {
  switch (issue.code) {
    case "invalid_type":
      return describeInvalidType(issue.expected, issue.input);
    case "invalid_value":
      return describeInvalidValue(issue.values, issue.input);
    case "too_small":
      return describeBound("at least", "greater than", issue.origin, issue.minimum, issue.inclusive, issue.input);
    case "too_big":
      return describeBound("at most", "less than", issue.origin, issue.maximum, issue.inclusive, issue.input);
    case "unrecognized_keys":
      return "Check the spelling and the indentation of the key";
    case "invalid_union":
      return `${describeValue(issue.input)} does not match any allowed form`;
    default:
      return undefined;
  }
}

/** Describes a value found in the file, such as `the string "abc"` or `a list`, without echoing long text. */
export function describeValue(value: unknown): string {
  if (value === null || value === undefined) {
    return "an empty value";
  }
  if (typeof value === "string") {
    const truncated = value.length > MAX_QUOTED_STRING_LENGTH ? `${value.slice(0, MAX_QUOTED_STRING_LENGTH)}…` : value;
    return `the string ${JSON.stringify(truncated)}`;
  }
  if (typeof value === "number" || typeof value === "boolean") {
    return `${typeof value === "number" ? "the number " : ""}${String(value)}`;
  }
  return Array.isArray(value) ? "a list" : "a mapping";
}

function describeInvalidType(expected: string, input: unknown): string {
  if (input === undefined) {
    return "required key is missing";
  }
  return `expected ${EXPECTED_DESCRIPTIONS[expected] ?? expected}, got ${describeValue(input)}`;
}

function describeInvalidValue(values: readonly unknown[], input: unknown): string {
  const allowed = values.map((value) => String(value)).join(", ");
  const quotedInput = typeof input === "string" ? JSON.stringify(input) : describeValue(input);
  if (values.length === 1) {
    return `invalid value ${quotedInput}. The only allowed value is ${allowed}`;
  }
  return `invalid value ${quotedInput}. Allowed values: ${allowed}`;
}

function describeBound(
  inclusiveWord: string,
  exclusiveWord: string,
  origin: string,
  bound: number | bigint,
  inclusive: boolean | undefined,
  input: unknown,
): string {
  const limit = `${inclusive === false ? exclusiveWord : inclusiveWord} ${String(bound)}`;
  switch (origin) {
    case "array":
    case "set":
      return `must contain ${limit} item${bound === 1 ? "" : "s"}`;
    case "string":
      return bound === 1 && inclusiveWord === "at least" ? "must not be empty" : `must be ${limit} characters long`;
    default:
      return `must be ${limit}, got ${describeValue(input)}`;
  }
}
