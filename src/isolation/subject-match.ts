/**
 * Matches a "."-separated subject against a pattern where "*" is exactly one token and
 * a final ">" is one or more tokens, with the semantics of NATS subjects.
 */
export function subjectMatches(pattern: readonly string[], subject: readonly string[]): boolean {
  for (let index = 0; index < pattern.length; index++) {
    const token = pattern[index];
    if (token === ">") {
      return subject.length > index;
    }
    if (index >= subject.length) {
      return false;
    }
    if (token !== "*" && token !== subject[index]) {
      return false;
    }
  }
  return pattern.length === subject.length;
}
