import assert from "node:assert/strict";
import { describe, it } from "node:test";

import { validatePrefixFormat, type PrefixBackend } from "../../src/config/isolation-format.js";

void describe("validatePrefixFormat", () => {
  const valid: [PrefixBackend, string][] = [
    ["redis", "tenant:{tenant_id}:{key}"],
    ["redis", "{tenant_id}:{key}"],
    ["redis", "t/{tenant_id}/{key}"],
    ["memory", "tenant:{tenant_id}:{key}"],
    ["nats", "tenant.{tenant_id}.{subject}"],
    ["nats", "{tenant_id}.{subject}"],
    ["kafka", "{tenant_id}.{topic}"],
    ["kafka", "prism.{tenant_id}.{topic}"],
    ["kafka", "{tenant_id}-.{topic}"],
  ];
  for (const [backend, format] of valid) {
    void it(`accepts ${format} for ${backend}`, () => {
      assert.equal(validatePrefixFormat(format, backend), undefined);
    });
  }

  const invalid: [PrefixBackend, string, string][] = [
    ["redis", "tenant:{key}", "exactly once"],
    ["redis", "{tenant_id}:{tenant_id}:{key}", "exactly once"],
    ["redis", "{key}:{tenant_id}", "before {key}"],
    ["redis", "{tenant_id}:{key}:suffix", "must end with {key}"],
    ["redis", "{tenant_id}{key}", "separator"],
    ["redis", "{tenant_id}-{key}", "separator"],
    ["redis", "{tenant_id}_x-{key}", "separator"],
    ["redis", "{tenant_id}:{subject}", "unknown placeholder {subject}"],
    ["redis", "{tenant_id}:{key", "unmatched"],
    ["redis", "tenant*:{tenant_id}:{key}", '"*"'],
    ["redis", "tenant {tenant_id}:{key}", '" "'],
    ["nats", "tenant.{tenant_id}.{key}", "unknown placeholder {key}"],
    ["nats", "tenant>{tenant_id}.{subject}", '">"'],
    ["nats", ".{tenant_id}.{subject}", "empty subject token"],
    ["nats", "t..{tenant_id}.{subject}", "empty subject token"],
    ["kafka", "{tenant_id}:{topic}", '":"'],
    ["kafka", "{tenant_id}-{topic}", "separator"],
  ];
  for (const [backend, format, fragment] of invalid) {
    void it(`rejects ${format} for ${backend}`, () => {
      const error = validatePrefixFormat(format, backend);
      assert.ok(error !== undefined, "expected the format to be rejected");
      assert.ok(error.includes(fragment), error);
      assert.ok(error.includes(JSON.stringify(format)), error);
    });
  }

  void it("shows the backend's example format", () => {
    assert.ok(validatePrefixFormat("{topic}", "kafka")?.includes('"{tenant_id}.{topic}"'));
    assert.ok(validatePrefixFormat("{subject}", "nats")?.includes('"tenant.{tenant_id}.{subject}"'));
  });

  void it("valid formats give disjoint tenant prefixes", () => {
    // Every tenant id of up to three characters over a small part of the tenant-id alphabet.
    const ids = ["a", "b"];
    for (let length = 2; length <= 3; length += 1) {
      for (const id of ids.filter((candidate) => candidate.length === length - 1)) {
        ids.push(...["a", "b", "-", "_"].map((character) => id + character));
      }
    }

    for (const format of ["{tenant_id}:{key}", "t{tenant_id}-:{key}", "{tenant_id}_a.b{key}"]) {
      assert.equal(validatePrefixFormat(format, "redis"), undefined, format);
      const prefixes = ids.map((id) => format.replace("{tenant_id}", id).replace("{key}", ""));
      for (const [index, prefix] of prefixes.entries()) {
        const clash = prefixes.find((other, otherIndex) => otherIndex !== index && other.startsWith(prefix));
        assert.equal(clash, undefined, `${format}: "${prefix}" is a prefix of "${String(clash)}"`);
      }
    }
  });

  void it("rejected separator lets prefixes collide", () => {
    const format = "{tenant_id}-{key}";
    assert.ok(validatePrefixFormat(format, "redis") !== undefined);
    assert.ok("a-b-".startsWith(format.replace("{tenant_id}", "a").replace("{key}", "")));
  });
});
