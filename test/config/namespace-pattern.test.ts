import assert from "node:assert/strict";
import { describe, it } from "node:test";

import {
  matchesNamespacePattern,
  namespacePatternCovers,
  namespacePatternsOverlap,
  validateNamespaceName,
  validateNamespacePattern,
} from "../../src/config/namespace-pattern.js";

void describe("validateNamespacePattern", () => {
  for (const valid of ["a", "tenant-a-prod", "tenant.a_b-1", "*", "tenant-a-*", "*-prod", "a*b*c", "0abc", "x".repeat(128)]) {
    void it(`accepts ${JSON.stringify(valid.length > 20 ? `${valid.slice(0, 5)}…` : valid)}`, () => {
      assert.equal(validateNamespacePattern(valid), undefined);
    });
  }

  for (const invalid of ["", "Tenant-A", "-a", ".a", "a b", "a/b", "a?", "x".repeat(129), "-*", "tenant-A-*"]) {
    void it(`rejects ${JSON.stringify(invalid.length > 20 ? `${invalid.slice(0, 5)}…` : invalid)}`, () => {
      const error = validateNamespacePattern(invalid);
      assert.ok(error !== undefined);
      assert.match(error, /lowercase letters, digits/);
    });
  }

  void it("rejects a wildcard in a plain name", () => {
    assert.ok(validateNamespaceName("a*") !== undefined);
  });
});

void describe("matchesNamespacePattern", () => {
  const cases: [string, string, boolean][] = [
    ["tenant-a-*", "tenant-a-prod", true],
    ["tenant-a-*", "tenant-a-", true],
    ["tenant-a-*", "tenant-b-prod", false],
    ["*", "anything", true],
    ["*-prod", "a-prod", true],
    ["*-prod", "a-prod-2", false],
    ["a*b*c", "axxbyyc", true],
    ["a*b*c", "abc", true],
    ["a*b*c", "acb", false],
    ["exact", "exact", true],
    ["exact", "exactly", false],
    ["a*a", "a", false],
  ];
  for (const [pattern, name, expected] of cases) {
    void it(`${pattern} ${expected ? "matches" : "does not match"} ${name}`, () => {
      assert.equal(matchesNamespacePattern(pattern, name), expected);
    });
  }
});

void describe("namespacePatternsOverlap", () => {
  const cases: [string, string, boolean][] = [
    ["tenant-a-*", "tenant-*", true],
    ["a-*", "b-*", false],
    ["*", "a", true],
    ["a", "a", true],
    ["a", "b", false],
    ["a-*", "a-prod", true],
    ["a-*", "b-prod", false],
    ["*-prod", "*-staging", false],
    ["*-prod", "a-*", true],
    ["a*c", "ab*", true],
    ["a*c", "*b", false],
    ["x*y*z", "*q*", true],
    ["a*a", "a", false],
    ["ab*", "a*c*b", true],
    ["tenant-a", "tenant-a-*", false],
    ["*.*", "*-*", true],
  ];
  for (const [first, second, expected] of cases) {
    void it(`${first} and ${second} ${expected ? "overlap" : "are disjoint"}`, () => {
      assert.equal(namespacePatternsOverlap(first, second), expected);
      assert.equal(namespacePatternsOverlap(second, first), expected, "overlap must be symmetric");
    });
  }

  void it("agrees with matching on every short name", () => {
    // Brute force over all names of up to 4 characters from a small alphabet.
    const alphabet = ["a", "b", "-"];
    const names = [""];
    for (let length = 1; length <= 4; length += 1) {
      for (const name of names.filter((candidate) => candidate.length === length - 1)) {
        names.push(...alphabet.map((character) => name + character));
      }
    }
    const patterns = ["a*", "*b", "a*b", "*-*", "b-*", "ab", "*a*a*", "a-b", "*"];
    for (const first of patterns) {
      for (const second of patterns) {
        const shared = names.some((name) => matchesNamespacePattern(first, name) && matchesNamespacePattern(second, name));
        assert.equal(namespacePatternsOverlap(first, second), shared, `${first} / ${second}`);
      }
    }
  });
});

void describe("namespacePatternCovers", () => {
  const cases: [string, string, boolean][] = [
    ["tenant-a-*", "tenant-a-prod", true],
    ["tenant-a-*", "tenant-a-prod-*", true],
    ["tenant-a-*", "tenant-*", false],
    ["*", "anything-*", true],
    ["a-*", "a-*", true],
    ["a-prod", "a-prod", true],
    ["a-prod", "a-*", false],
    ["*-prod", "x-*-prod", true],
    ["*-prod", "x-*", false],
    ["a*", "*a", false],
  ];
  for (const [outer, inner, expected] of cases) {
    void it(`${outer} ${expected ? "covers" : "does not cover"} ${inner}`, () => {
      assert.equal(namespacePatternCovers(outer, inner), expected);
    });
  }
});
