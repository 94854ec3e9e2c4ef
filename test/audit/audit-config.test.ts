import assert from "node:assert/strict";
import { describe, it } from "node:test";
import { fileURLToPath } from "node:url";

import { requestEvent } from "../../src/audit/audit-event.js";
import { createAuditLog } from "../../src/audit/create-audit-log.js";
import { ConfigError } from "../../src/config/config-error.js";
import { loadConfigFile, parseConfig } from "../../src/config/load.js";
import type { AuditConfig } from "../../src/config/model.js";
import { Code, PrismError } from "../../src/errors/prism-error.js";
import { CapturedLines, silentLogger } from "./audit-test-support.js";

const EXAMPLES_DIR = fileURLToPath(new URL("../../../config/examples/", import.meta.url));
const KEY = "0123456789abcdef0123456789abcdef";

function auditOf(lines: string[], env: NodeJS.ProcessEnv = {}): AuditConfig {
  const config = parseConfig(["proxy:", "  audit:", ...lines.map((line) => `    ${line}`), ""].join("\n"), "test.yaml", env);
  assert.ok(config.proxy.audit);
  return config.proxy.audit;
}

function issuesOf(lines: string[], env: NodeJS.ProcessEnv = {}): { path: string; line: number; message: string }[] {
  try {
    auditOf(lines, env);
  } catch (error) {
    assert.ok(error instanceof ConfigError, String(error));
    return error.issues.map(({ path, line, message }) => ({ path, line, message }));
  }
  assert.fail("expected the configuration to be rejected");
}

void describe("audit configuration", () => {
  void it("lifecycle flags alone default to stdout", () => {
    const audit = auditOf(["log_connection_lifecycle: true", "log_session_lifecycle: true"]);
    assert.deepEqual(audit, {
      log_connection_lifecycle: true,
      log_session_lifecycle: true,
      log_requests: true,
      sinks: [{ url: "stdout", name: "stdout" }],
      overflow_policy: "drop",
      queue_capacity: 10_000,
      batch_size: 500,
      flush_timeout: 5000,
      redact_resources: false,
    });
  });

  void it("audit_backend is the one-sink shorthand", () => {
    const audit = auditOf(["audit_backend: file:///var/log/prism/audit.jsonl"]);
    assert.deepEqual(audit.sinks, [{ url: "file:///var/log/prism/audit.jsonl", name: "file" }]);
    assert.equal(audit.audit_backend, "file:///var/log/prism/audit.jsonl");
  });

  void it("sinks list with kind options", () => {
    const audit = auditOf(
      [
        "overflow_policy: reject",
        "queue_capacity: 200",
        "flush_timeout: 2s",
        "sinks:",
        "  - url: file:///var/log/prism/audit.jsonl",
        "    max_file_bytes: 64Mi",
        "    max_files: 3",
        "    fsync: never",
        "  - url: postgres://audit@db.internal:5432/audit",
        "    schema: audit",
        "    password: ${AUDIT_DB_PASSWORD}",
        "  - url: stdout",
        "    name: console",
      ],
      { AUDIT_DB_PASSWORD: "from-env" },
    );
    assert.equal(audit.overflow_policy, "reject");
    assert.equal(audit.queue_capacity, 200);
    assert.equal(audit.flush_timeout, 2000);
    assert.deepEqual(audit.sinks, [
      { url: "file:///var/log/prism/audit.jsonl", name: "file", max_file_bytes: 64 * 1024 * 1024, max_files: 3, fsync: "never" },
      { url: "postgres://audit@db.internal:5432/audit", name: "postgres", schema: "audit", password: "from-env" },
      { url: "stdout", name: "console" },
    ]);
  });

  void it("audit_backend and sinks together are rejected", () => {
    const issues = issuesOf(["audit_backend: stdout", "sinks:", "  - url: stdout"]);
    assert.equal(issues[0]?.path, "proxy.audit.audit_backend");
    assert.match(issues[0]?.message ?? "", /shorthand for one sink/);
  });

  void it("file option on postgres rejected", () => {
    const issues = issuesOf(["sinks:", "  - url: postgres://db:5432/audit", "    max_files: 3"]);
    assert.deepEqual(
      issues.map((issue) => [issue.path, issue.line]),
      [["proxy.audit.sinks[0].max_files", 5]],
    );
    assert.match(issues[0]?.message ?? "", /applies only to file:\/\/ sinks/);
  });

  void it("two sinks with one name are rejected", () => {
    const issues = issuesOf(["sinks:", "  - url: file:///a/audit.jsonl", "  - url: file:///b/audit.jsonl"]);
    assert.equal(issues[0]?.path, "proxy.audit.sinks[1].name");
    assert.match(issues[0]?.message ?? "", /already named "file"/);
  });

  void it("file URL with a host is rejected", () => {
    const inList = issuesOf(["sinks:", "  - url: file://logs/audit.jsonl"]);
    assert.equal(inList[0]?.path, "proxy.audit.sinks[0].url");
    assert.match(inList[0]?.message ?? "", /three slashes/);

    const shorthand = issuesOf(["audit_backend: file://logs/audit.jsonl"]);
    assert.equal(shorthand[0]?.path, "proxy.audit.audit_backend");
    assert.match(shorthand[0]?.message ?? "", /three slashes/);
  });

  void it("redact_resources needs a redaction key", () => {
    const issues = issuesOf(["redact_resources: true"]);
    assert.equal(issues[0]?.path, "proxy.audit.redaction_key");
    assert.match(issues[0]?.message ?? "", /redaction_key is required/);
  });

  void it("literal redaction key rejected unechoed", () => {
    const issues = issuesOf(["redact_resources: true", `redaction_key: ${KEY}`]);
    const issue = issues.find((candidate) => candidate.path === "proxy.audit.redaction_key");
    assert.ok(issue);
    assert.match(issue.message, /environment variable reference/);
    assert.equal(issue.message.includes(KEY), false);
  });

  void it("short redaction key rejected unechoed", () => {
    const issues = issuesOf(["redact_resources: true", "redaction_key: ${AUDIT_KEY}"], { AUDIT_KEY: "tiny-secret" });
    assert.equal(issues[0]?.path, "proxy.audit.redaction_key");
    assert.equal(issues[0]?.message.includes("tiny-secret"), false);
  });

  void it("s3 example loads but cannot start", async () => {
    const config = await loadConfigFile(`${EXAMPLES_DIR}enterprise-healthcare-single-tenant-session.yaml`, {});
    assert.deepEqual(config.proxy.audit?.sinks, [{ url: "s3://audit-logs/healthcare-a/", name: "s3" }]);

    assert.throws(
      () => createAuditLog(config.proxy.audit, { logger: silentLogger() }),
      (error: unknown) => {
        assert.ok(error instanceof PrismError);
        assert.equal(error.code, Code.FailedPrecondition);
        assert.match(error.rawMessage, /no object-store sink/);
        assert.match(error.rawMessage, /file:\/\/\/var\/log\/prism\/audit\.jsonl/);
        assert.match(error.rawMessage, /log shipping agent/);
        return true;
      },
    );
  });

  void it("createAuditLog applies the settings", async () => {
    const audit = auditOf(["redact_resources: true", "redaction_key: ${AUDIT_KEY}", "log_session_lifecycle: false"], {
      AUDIT_KEY: KEY,
    });
    const stdout = new CapturedLines();
    const log = createAuditLog(audit, { logger: silentLogger(), stdout });
    assert.equal(log.records("session_created"), false);
    assert.equal(log.policy, "drop");

    log.record(
      requestEvent({
        tenant_id: "t",
        namespace: "n",
        session_id: "s",
        user_id: "u",
        action: "kv.get",
        resource: "patient:42",
        result: "success",
        duration_ms: 1,
        request_id: "r",
      }),
    );
    await log.close();

    const [record] = stdout.records();
    assert.match(String(record?.["resource"]), /^hmac-sha256:[0-9a-f]{64}$/);
    assert.equal(stdout.lines.join("\n").includes("patient:42"), false);
  });

  void it("no audit section, no sinks", async () => {
    const log = createAuditLog(undefined, { logger: silentLogger() });
    assert.deepEqual(log.metrics().sinks, {});
    assert.equal(log.accepting(), true);
    await log.close();
  });
});
