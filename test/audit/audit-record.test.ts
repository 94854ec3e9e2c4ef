import assert from "node:assert/strict";
import { createHmac } from "node:crypto";
import { describe, it } from "node:test";

import { auditErrorCode, auditTimestamp, requestEvent, sessionCreatedEvent, type RequestEvent } from "../../src/audit/audit-event.js";
import { MAX_AUDIT_RESOURCE_CHARS, MAX_AUDIT_RESOURCES, prepareRecord, sanitizeText } from "../../src/audit/audit-record.js";
import { ResourceRedaction } from "../../src/audit/resource-redaction.js";
import { Code } from "../../src/errors/prism-error.js";

const SECRET = "0123456789abcdef0123456789abcdef";

function request(resource: RequestEvent["resource"]): RequestEvent {
  return requestEvent(
    {
      tenant_id: "tenant-a",
      namespace: "tenant-a-prod",
      session_id: "s-1",
      user_id: "doctor@hospital.com",
      action: "kv.get",
      resource,
      result: "success",
      duration_ms: 2,
      request_id: "r-1",
    },
    0,
  );
}

void describe("audit record", () => {
  void it("timestamp is ISO-8601 UTC with milliseconds", () => {
    assert.equal(auditTimestamp(Date.UTC(2025, 9, 13, 22, 45, 0, 7)), "2025-10-13T22:45:00.007Z");
    assert.equal(auditTimestamp(new Date(Date.UTC(2025, 9, 13, 22, 45))), "2025-10-13T22:45:00.000Z");
  });

  void it("error code is the canonical gRPC name", () => {
    assert.equal(auditErrorCode(Code.PermissionDenied), "PERMISSION_DENIED");
    assert.equal(auditErrorCode(Code.Canceled), "CANCELLED");
    assert.equal(auditErrorCode(Code.Unavailable), "UNAVAILABLE");
  });

  void it("json is the event on one line", () => {
    const record = prepareRecord(request("patient:42"), { redaction: undefined });
    assert.equal(record.json.includes("\n"), false);
    assert.deepEqual(JSON.parse(record.json), record.event);
  });

  void it("redaction replaces each resource with its HMAC", () => {
    const redaction = new ResourceRedaction(SECRET);
    const expected = (name: string): string => `hmac-sha256:${createHmac("sha256", SECRET).update(name).digest("hex")}`;

    const single = prepareRecord(request("patient:42"), { redaction });
    assert.equal(single.event.event === "request" && single.event.resource, expected("patient:42"));
    assert.equal(single.json.includes("patient:42"), false);

    const batch = prepareRecord(request(["a", "b"]), { redaction });
    assert.deepEqual(batch.event.event === "request" && batch.event.resource, [expected("a"), expected("b")]);
  });

  void it("short redaction key is rejected", () => {
    assert.throws(() => new ResourceRedaction("short"), /at least 16/);
  });

  void it("over-long resource is truncated and says so", () => {
    const name = "k".repeat(MAX_AUDIT_RESOURCE_CHARS + 10);
    const record = prepareRecord(request(name), { redaction: undefined });
    const written = record.event.event === "request" ? String(record.event.resource) : "";
    assert.ok(written.startsWith("k".repeat(MAX_AUDIT_RESOURCE_CHARS)));
    assert.ok(written.endsWith(`…[truncated from ${MAX_AUDIT_RESOURCE_CHARS + 10} characters]`));
  });

  void it("over-long resource list is cut and counted", () => {
    const names = Array.from({ length: MAX_AUDIT_RESOURCES + 3 }, (_, index) => `k${index}`);
    const record = prepareRecord(request(names), { redaction: undefined });
    const parsed = JSON.parse(record.json) as { resource: string[]; resources_omitted: number };
    assert.equal(parsed.resource.length, MAX_AUDIT_RESOURCES);
    assert.equal(parsed.resources_omitted, 3);
  });

  void it("NUL and unpaired surrogates become U+FFFD", () => {
    assert.equal(sanitizeText("a\u0000b"), "a\uFFFDb");
    assert.equal(sanitizeText("x\uD800y"), "x\uFFFDy");
    assert.equal(sanitizeText("x\uDC00"), "x\uFFFD");
    assert.equal(sanitizeText("pair \uD83D\uDE00 kept"), "pair \uD83D\uDE00 kept");

    const record = prepareRecord(request("bad\u0000key\uD800"), { redaction: undefined });
    assert.equal(record.event.event === "request" && record.event.resource, "bad\uFFFDkey\uFFFD");
  });

  void it("recorded event is not modified", () => {
    const event = sessionCreatedEvent({ session_id: "s", client_id: "c\u0000", namespace: "n", tenant_id: "t" }, 0);
    const record = prepareRecord(event, { redaction: undefined });
    assert.equal(event.client_id, "c\u0000");
    assert.equal(record.event.event === "session_created" && record.event.client_id, "c\uFFFD");
  });
});
