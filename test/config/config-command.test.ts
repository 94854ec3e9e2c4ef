import assert from "node:assert/strict";
import { mkdtemp, rm, writeFile } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { Writable } from "node:stream";
import { after, before, describe, it } from "node:test";

import { runConfigValidate } from "../../src/cli/config-command.js";
import type { ConfigIssue } from "../../src/config/config-error.js";
import { EXAMPLES_DIR } from "./helpers.js";

class CapturedStream extends Writable {
  text = "";

  override _write(chunk: Buffer, _encoding: BufferEncoding, callback: () => void): void {
    this.text += chunk.toString("utf8");
    callback();
  }
}

async function validate(file: string, json = false) {
  const stdout = new CapturedStream();
  const stderr = new CapturedStream();
  const status = await runConfigValidate(file, { json }, { stdout, stderr });
  return { status, stdout: stdout.text, stderr: stderr.text };
}

void describe("prismctl config validate", () => {
  let directory = "";
  let invalidFile = "";

  before(async () => {
    directory = await mkdtemp(join(tmpdir(), "prism-config-validate-"));
    invalidFile = join(directory, "invalid.yaml");
    await writeFile(invalidFile, "proxy:\n  replicas: many\n  isolation_level: strict\n");
  });

  after(async () => {
    await rm(directory, { recursive: true, force: true });
  });

  void it("valid file prints a summary", async () => {
    const file = join(EXAMPLES_DIR, "single-tenant.yaml");
    const result = await validate(file);
    assert.equal(result.status, 0);
    assert.equal(result.stdout, `${file}: valid (1 tenant, keyvalue on redis, pubsub on nats)\n`);
    assert.equal(result.stderr, "");
  });

  void it("summary counts tenants in plural", async () => {
    const result = await validate(join(EXAMPLES_DIR, "multi-tenant.yaml"));
    assert.match(result.stdout, /: valid \(0 tenants, keyvalue on redis, pubsub on nats\)\n$/);
  });

  void it("valid file with json prints an empty array", async () => {
    const result = await validate(join(EXAMPLES_DIR, "hybrid-platform-tiers.yaml"), true);
    assert.equal(result.status, 0);
    assert.deepEqual(JSON.parse(result.stdout), []);
  });

  void it("invalid file prints one issue per line", async () => {
    const result = await validate(invalidFile);
    assert.equal(result.status, 1);
    const lines = result.stdout.trimEnd().split("\n");
    assert.equal(lines.length, 2);
    assert.ok(lines[0]?.startsWith(`${invalidFile}:2:13: proxy.replicas: expected a number`), lines[0]);
    assert.ok(lines[1]?.startsWith(`${invalidFile}:3:20: proxy.isolation_level: invalid value "strict"`), lines[1]);
  });

  void it("invalid file with json prints the issues", async () => {
    const result = await validate(invalidFile, true);
    assert.equal(result.status, 1);
    const issues = JSON.parse(result.stdout) as ConfigIssue[];
    assert.deepEqual(
      issues.map(({ file, line, column, path }) => ({ file, line, column, path })),
      [
        { file: invalidFile, line: 2, column: 13, path: "proxy.replicas" },
        { file: invalidFile, line: 3, column: 20, path: "proxy.isolation_level" },
      ],
    );
    assert.match(issues[1]?.message ?? "", /Allowed values: none, namespace, session/);
  });

  void it("missing file exits with 2", async () => {
    const file = join(directory, "absent.yaml");
    const result = await validate(file);
    assert.equal(result.status, 2);
    assert.equal(result.stdout, "");
    assert.equal(result.stderr, `cannot read configuration file ${file}: no such file (ENOENT)\n`);
  });

  void it("directory exits with 2", async () => {
    const result = await validate(directory, true);
    assert.equal(result.status, 2);
    assert.match(result.stderr, /it is a directory \(EISDIR\)/);
  });
});
