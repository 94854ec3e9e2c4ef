/** Building blocks shared by the configuration schemas. */

import * as z from "zod";

import { describeValue } from "./issue-messages.js";
import { parseByteSize, parseCpu, parseDuration, type ParseResult } from "./quantities.js";

/**
 * Marks the message of an unknown-key issue. The loader reports each unknown key on its
 * own line and puts this text after the key's name.
 */
export const ALLOWED_KEYS_PREFIX = "Allowed keys here: ";

/** Builds a mapping schema that rejects unknown keys and lists the allowed ones in its messages. */
export function strictObject<Shape extends z.core.$ZodLooseShape>(shape: Shape) {
  const allowed = Object.keys(shape).join(", ");

  return z.strictObject(shape, {
    error: (issue) => {
      if (issue.code === "unrecognized_keys") {
        return `${ALLOWED_KEYS_PREFIX}${allowed}`;
      }
      if (issue.code === "invalid_type" && issue.input !== undefined && issue.input !== null) {
        return `expected a mapping with keys ${allowed}, got ${describeValue(issue.input)}`;
      }
      return undefined;
    },
  });
}

/** Builds a string schema checked by `validate`, which returns an error message or undefined. */
export function checkedString(validate: (value: string) => string | undefined) {
  return z.string().superRefine((value, context) => {
    const error = validate(value);
    if (error !== undefined) {
      context.addIssue({ code: "custom", message: error });
    }
  });
}

/** Builds a schema that turns a value into T with `parse`, whose error message becomes the issue. */
export function parsedValue<T>(parse: (input: unknown) => ParseResult<T>) {
  return z.unknown().transform((input, context): T => {
    const result = parse(input);
    if (result.ok) {
      return result.value;
    }
    context.addIssue({ code: "custom", message: result.error });
    return z.NEVER;
  });
}

/** Builds a schema for a duration such as "300s" or a number of seconds, output in milliseconds. */
export const durationMs = () => parsedValue(parseDuration);

/** Builds a schema for a size such as "512Mi" or a number of bytes, output in bytes. */
export const byteSize = () => parsedValue(parseByteSize);

/** Builds a schema for a byte size above zero. */
export const positiveByteSize = () =>
  byteSize().superRefine((bytes, context) => {
    if (bytes === 0) {
      context.addIssue({ code: "custom", message: "must be greater than 0 bytes" });
    }
  });

/** Builds a schema for CPU such as "0.5" or "500m", output in cores. */
export const cpuCores = () => parsedValue(parseCpu);

export const positiveInteger = () => z.int().positive();

export const nonNegativeInteger = () => z.int().nonnegative();

/** Builds a schema for a non-empty string without leading or trailing whitespace, which is almost always a typo. */
export const trimmedString = () =>
  z
    .string()
    .min(1)
    .superRefine((value, context) => {
      if (value.trim() !== value) {
        context.addIssue({ code: "custom", message: `${JSON.stringify(value)} has leading or trailing whitespace` });
      }
    });
