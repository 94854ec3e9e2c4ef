import { matchesNamespacePattern } from "../config/namespace-pattern.js";

/** A namespace pattern: an exact name, or a glob where "*" matches any run of characters. */
export class NamespacePattern {
  readonly exact: boolean;

  constructor(readonly source: string) {
    this.exact = !source.includes("*");
  }

  matches(namespace: string): boolean {
    return this.exact ? namespace === this.source : matchesNamespacePattern(this.source, namespace);
  }
}

export function matchesAny(patterns: readonly NamespacePattern[], namespace: string): boolean {
  return patterns.some((pattern) => pattern.matches(namespace));
}
