/**
 * The driver's own check of every physical subject before it reaches the connection.
 * Handlers validate topics already. This second check stops a missed validation from
 * producing a subject outside the tenant's subtree, or a protocol injection, because a
 * space or CRLF in a subject would split the NATS protocol line.
 */

import { natsInvalidTopic } from "./nats-errors.js";

export type SubjectUse = "publish" | "subscribe";

/** Whitespace, control and format characters: NATS protocol delimiters and invisible text. */
const FORBIDDEN_IN_SUBJECT = /[\s\p{Cc}\p{Cf}\p{Z}]/u;

const encoder = new TextEncoder();

/**
 * Throws INVALID_ARGUMENT unless `subject` lies strictly inside `prefix` (which ends with
 * "."), fits `maxSubjectBytes`, has no empty token and no forbidden character, and uses
 * wildcards only as whole tokens of a subscription, with ">" only as the last token.
 */
export function checkTenantSubject(subject: string, prefix: string, use: SubjectUse, maxSubjectBytes: number): void {
  if (!prefix.endsWith(".") || !subject.startsWith(prefix) || subject.length === prefix.length) {
    throw natsInvalidTopic("invalid topic: it does not map into the tenant's subject subtree, so the NATS driver rejected it");
  }

  const size = encoder.encode(subject).byteLength;
  if (size > maxSubjectBytes) {
    throw natsInvalidTopic(
      `the topic makes a NATS subject of ${size} bytes; the NATS driver's limit is ${maxSubjectBytes} bytes including the tenant prefix`,
    );
  }

  if (FORBIDDEN_IN_SUBJECT.test(subject)) {
    throw natsInvalidTopic("the topic contains whitespace or a control character, which NATS subjects cannot carry");
  }

  const tokens = subject.slice(prefix.length).split(".");
  tokens.forEach((token, index) => checkToken(token, use, index === tokens.length - 1));
}

function checkToken(token: string, use: SubjectUse, last: boolean): void {
  if (token.length === 0) {
    throw natsInvalidTopic('the topic has an empty token; use "." only between non-empty tokens');
  }

  if (!token.includes("*") && !token.includes(">")) {
    return;
  }

  if (use === "publish") {
    throw natsInvalidTopic("the topic contains a wildcard; publish to a concrete topic (wildcards are for Subscribe only)");
  }
  if (token !== "*" && token !== ">") {
    throw natsInvalidTopic('the topic uses "*" or ">" inside a token; a wildcard must be a whole token');
  }
  if (token === ">" && !last) {
    throw natsInvalidTopic('the topic has ">" before its last token; ">" may only end a topic');
  }
}
