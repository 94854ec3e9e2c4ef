/**
 * Namespace names and the glob patterns that assign namespaces to tenants.
 *
 * A name is 1 to 128 characters of lowercase letters, digits, '.', '_' and '-', and starts
 * with a letter or digit. A pattern is a name in which '*' stands for any run of
 * characters, including none, so "tenant-a-*" matches "tenant-a-" and "tenant-a-prod".
 */

export const MAX_NAMESPACE_LENGTH = 128;

const NAMESPACE_NAME = /^[a-z0-9][a-z0-9._-]{0,127}$/;
const NAMESPACE_PATTERN_CHARACTERS = /^[a-z0-9._*-]+$/;
const WILDCARD = "*";

/** Returns an error message when `name` is not a valid namespace name, else undefined. */
export function validateNamespaceName(name: string): string | undefined {
  if (NAMESPACE_NAME.test(name)) {
    return undefined;
  }
  return `invalid namespace ${JSON.stringify(name)}. A namespace is 1 to ${MAX_NAMESPACE_LENGTH} characters of lowercase letters, digits, '.', '_' and '-', starting with a letter or digit`;
}

/** Returns an error message when `pattern` is neither a namespace name nor a valid glob, else undefined. */
export function validateNamespacePattern(pattern: string): string | undefined {
  if (!pattern.includes(WILDCARD)) {
    return validateNamespaceName(pattern);
  }

  const validCharacters = NAMESPACE_PATTERN_CHARACTERS.test(pattern);
  const validStart = /^[a-z0-9*]/.test(pattern);
  if (validCharacters && validStart && pattern.length <= MAX_NAMESPACE_LENGTH) {
    return undefined;
  }
  return `invalid namespace pattern ${JSON.stringify(pattern)}. A pattern is a namespace name in which '*' matches any run of characters, for example "tenant-a-*": up to ${MAX_NAMESPACE_LENGTH} characters of lowercase letters, digits, '.', '_', '-' and '*', starting with a letter, digit or '*'`;
}

/** Returns whether the namespace `name` matches `pattern`. */
export function matchesNamespacePattern(pattern: string, name: string): boolean {
  // Greedy wildcard matching with backtracking to the last '*', linear for one '*'.
  let patternIndex = 0;
  let nameIndex = 0;
  let starIndex = -1;
  let resumeIndex = 0;

  while (nameIndex < name.length) {
    if (pattern[patternIndex] === WILDCARD) {
      starIndex = patternIndex;
      resumeIndex = nameIndex;
      patternIndex += 1;
    } else if (patternIndex < pattern.length && pattern[patternIndex] === name[nameIndex]) {
      patternIndex += 1;
      nameIndex += 1;
    } else if (starIndex >= 0) {
      patternIndex = starIndex + 1;
      resumeIndex += 1;
      nameIndex = resumeIndex;
    } else {
      return false;
    }
  }

  while (pattern[patternIndex] === WILDCARD) {
    patternIndex += 1;
  }
  return patternIndex === pattern.length;
}

/**
 * Returns whether some namespace matches both patterns. "tenant-a-*" and "tenant-*"
 * overlap (both match "tenant-a-x"), while "a-*" and "b-*" do not.
 */
export function namespacePatternsOverlap(first: string, second: string): boolean {
  // The text before the first '*' and after the last '*' must agree, which settles most pairs.
  if (!affixesCompatible(literalPrefix(first), literalPrefix(second), "prefix")) {
    return false;
  }
  if (!affixesCompatible(literalSuffix(first), literalSuffix(second), "suffix")) {
    return false;
  }

  // overlap[i][j]: some string matches both first[i..] and second[j..]. Filled from the end.
  const width = second.length + 1;
  const overlap = new Uint8Array((first.length + 1) * width);
  overlap[first.length * width + second.length] = 1;

  for (let i = first.length; i >= 0; i -= 1) {
    for (let j = second.length; j >= 0; j -= 1) {
      if (i === first.length && j === second.length) {
        continue;
      }
      overlap[i * width + j] = overlapStep(first, second, i, j, (a, b) => overlap[a * width + b] === 1) ? 1 : 0;
    }
  }
  return overlap[0] === 1;
}

/**
 * Returns whether every namespace that matches `inner` also matches `outer`, for example
 * "tenant-a-prod-*" within "tenant-a-*". The check treats each '*' of `inner` as text that
 * only a '*' of `outer` can absorb, so it never reports a containment that does not hold.
 */
export function namespacePatternCovers(outer: string, inner: string): boolean {
  // covers[i][j]: outer[i..] matches everything that inner[j..] matches.
  const width = inner.length + 1;
  const covers = new Uint8Array((outer.length + 1) * width);
  covers[outer.length * width + inner.length] = 1;

  for (let i = outer.length; i >= 0; i -= 1) {
    for (let j = inner.length; j >= 0; j -= 1) {
      if (i === outer.length && j === inner.length) {
        continue;
      }

      const at = (a: number, b: number): boolean => covers[a * width + b] === 1;
      let result = false;
      if (i < outer.length && outer[i] === WILDCARD) {
        result = at(i + 1, j) || (j < inner.length && at(i, j + 1));
      } else if (i < outer.length && j < inner.length && inner[j] !== WILDCARD) {
        result = outer[i] === inner[j] && at(i + 1, j + 1);
      }
      covers[i * width + j] = result ? 1 : 0;
    }
  }
  return covers[0] === 1;
}

/** Computes one step of the overlap recurrence at first[i..] and second[j..]. */
function overlapStep(
  first: string,
  second: string,
  i: number,
  j: number,
  overlapAt: (i: number, j: number) => boolean,
): boolean {
  const firstChar = first[i];
  const secondChar = second[j];

  // A '*' may stand for nothing, or absorb the next character (or '*') of the other pattern.
  if (firstChar === WILDCARD) {
    return overlapAt(i + 1, j) || (secondChar !== undefined && overlapAt(i, j + 1));
  }
  if (secondChar === WILDCARD) {
    return overlapAt(i, j + 1) || (firstChar !== undefined && overlapAt(i + 1, j));
  }
  return firstChar !== undefined && firstChar === secondChar && overlapAt(i + 1, j + 1);
}

function literalPrefix(pattern: string): string {
  const star = pattern.indexOf(WILDCARD);
  return star === -1 ? pattern : pattern.slice(0, star);
}

function literalSuffix(pattern: string): string {
  const star = pattern.lastIndexOf(WILDCARD);
  return star === -1 ? pattern : pattern.slice(star + 1);
}

function affixesCompatible(first: string, second: string, side: "prefix" | "suffix"): boolean {
  const length = Math.min(first.length, second.length);
  if (side === "prefix") {
    return first.slice(0, length) === second.slice(0, length);
  }
  return first.slice(first.length - length) === second.slice(second.length - length);
}
