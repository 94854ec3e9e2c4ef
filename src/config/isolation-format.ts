/**
 * Validation of prefix formats such as "tenant:{tenant_id}:{key}", which rewrite a client's
 * key, subject or topic into the tenant's part of a shared backend.
 */

import { TENANT_ID_CHARACTERS } from "./names.js";

export type PrefixBackend = "memory" | "redis" | "nats" | "kafka";

/** Placeholder that each prefix backend substitutes with the client's name. */
export const NAME_PLACEHOLDERS: Readonly<Record<PrefixBackend, string>> = {
  memory: "{key}",
  redis: "{key}",
  nats: "{subject}",
  kafka: "{topic}",
};

const TENANT_PLACEHOLDER = "{tenant_id}";

/**
 * Characters the fixed text of a format may not contain, per backend, with the reason.
 * Redis ACL key patterns treat glob characters specially and split rules at spaces, NATS
 * reserves '*' and '>' for wildcards, and Kafka topic names allow only [A-Za-z0-9._-].
 */
const FORBIDDEN_TEXT: Readonly<Record<PrefixBackend, { pattern: RegExp; allowed: string }>> = {
  memory: { pattern: /[\s*?[\]\\]/, allowed: "any character except whitespace and * ? [ ] \\" },
  redis: { pattern: /[\s*?[\]\\]/, allowed: "any character except whitespace and * ? [ ] \\" },
  nats: { pattern: /[\s*>]/, allowed: "any character except whitespace, * and >" },
  kafka: { pattern: /[^A-Za-z0-9._-]/, allowed: "letters, digits, '.', '_' and '-'" },
};

/**
 * Returns an error message when `format` cannot keep tenants apart on `backend`, else undefined.
 *
 * The format must contain {tenant_id} and the backend's name placeholder exactly once, in
 * that order, with the name placeholder last. The text between them must not be empty and
 * must contain a character that no tenant id can contain, so that no tenant's prefix
 * starts with another tenant's prefix.
 */
export function validatePrefixFormat(format: string, backend: PrefixBackend): string | undefined {
  const namePlaceholder = NAME_PLACEHOLDERS[backend];
  const example = exampleFormat(backend);
  const quotedFormat = JSON.stringify(format);

  const unknown = unknownPlaceholder(format, namePlaceholder);
  if (unknown !== undefined) {
    return `format ${quotedFormat} contains ${unknown}. The only placeholders are ${TENANT_PLACEHOLDER} and ${namePlaceholder}, for example ${example}`;
  }

  const tenantCount = countOccurrences(format, TENANT_PLACEHOLDER);
  const nameCount = countOccurrences(format, namePlaceholder);
  if (tenantCount !== 1 || nameCount !== 1) {
    return `format ${quotedFormat} must contain ${TENANT_PLACEHOLDER} and ${namePlaceholder} exactly once each, for example ${example}`;
  }

  const tenantAt = format.indexOf(TENANT_PLACEHOLDER);
  const nameAt = format.indexOf(namePlaceholder);
  if (tenantAt > nameAt) {
    return `format ${quotedFormat} must put ${TENANT_PLACEHOLDER} before ${namePlaceholder}, for example ${example}`;
  }
  if (nameAt + namePlaceholder.length !== format.length) {
    return `format ${quotedFormat} must end with ${namePlaceholder}, because the tenant's part is a prefix, for example ${example}`;
  }

  const separator = format.slice(tenantAt + TENANT_PLACEHOLDER.length, nameAt);
  if (separator === "" || TENANT_ID_CHARACTERS.test(separator)) {
    return `format ${quotedFormat} needs a separator between ${TENANT_PLACEHOLDER} and ${namePlaceholder} with a character that tenant ids cannot contain (anything but a-z, 0-9, '-' and '_'), such as ':' or '.', so that no tenant's prefix starts with another's, for example ${example}`;
  }

  const fixedText = format.replace(TENANT_PLACEHOLDER, "").replace(namePlaceholder, "");
  const forbidden = FORBIDDEN_TEXT[backend];
  const badCharacter = forbidden.pattern.exec(fixedText)?.[0];
  if (badCharacter !== undefined) {
    return `format ${quotedFormat} contains ${JSON.stringify(badCharacter)}, which ${backend} names cannot use here. The fixed text may contain ${forbidden.allowed}`;
  }

  if (backend === "nats") {
    return natsTokenProblem(format);
  }
  return undefined;
}

/** NATS subjects are dot-separated tokens, and no token may be empty. */
function natsTokenProblem(format: string): string | undefined {
  if (format.startsWith(".") || format.includes("..")) {
    return `format ${JSON.stringify(format)} makes an empty subject token. A NATS subject cannot start with '.' or contain "..", for example ${exampleFormat("nats")}`;
  }
  return undefined;
}

function unknownPlaceholder(format: string, namePlaceholder: string): string | undefined {
  const stripped = format.split(TENANT_PLACEHOLDER).join("").split(namePlaceholder).join("");
  const brace = /[{}]/.exec(stripped);
  if (brace === null) {
    return undefined;
  }

  const placeholder = /\{[^{}]*\}/.exec(stripped)?.[0];
  return placeholder === undefined ? `an unmatched ${JSON.stringify(brace[0])}` : `an unknown placeholder ${placeholder}`;
}

function countOccurrences(text: string, part: string): number {
  return text.split(part).length - 1;
}

function exampleFormat(backend: PrefixBackend): string {
  switch (backend) {
    case "memory":
    case "redis":
      return '"tenant:{tenant_id}:{key}"';
    case "nats":
      return '"tenant.{tenant_id}.{subject}"';
    case "kafka":
      return '"{tenant_id}.{topic}"';
  }
}
