import assert from "node:assert/strict";
import { mkdtemp, readdir, readFile, rm, stat, writeFile } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { after, before, describe, it } from "node:test";

import { requestEvent } from "../../src/audit/audit-event.js";
import { prepareRecord, type AuditRecord } from "../../src/audit/audit-record.js";
import { parseAuditDestination } from "../../src/audit/audit-destination.js";
import { AuditLog } from "../../src/audit/audit-log.js";
import { FileSink } from "../../src/audit/file-sink.js";
import { silentLogger } from "./audit-test-support.js";

/** Builds a record whose JSON line (with its newline) is exactly `bytes` long. */
function recordOfSize(id: number, bytes: number): AuditRecord {
  const base = (padding: string): AuditRecord =>
    prepareRecord(
      requestEvent(
        {
          tenant_id: "t",
          namespace: "n",
          session_id: "s",
          user_id: "u",
          action: "kv.set",
          resource: padding,
          result: "success",
          duration_ms: 0,
          request_id: `r-${String(id).padStart(4, "0")}`,
        },
        0,
      ),
      { redaction: undefined },
    );
  const overhead = base("").json.length + 1;
  assert.ok(bytes >= overhead, `records are at least ${overhead} bytes`);
  return base("x".repeat(bytes - overhead));
}

async function linesOf(path: string): Promise<string[]> {
  const text = await readFile(path, "utf8");
  assert.ok(text.endsWith("\n"), `${path} ends with a whole line`);
  return text.split("\n").slice(0, -1);
}

function idOf(line: string): string {
  return (JSON.parse(line) as { request_id: string }).request_id;
}

void describe("file sink", () => {
  let directory = "";

  before(async () => {
    directory = await mkdtemp(join(tmpdir(), "prism-audit-"));
  });

  after(async () => {
    await rm(directory, { recursive: true, force: true });
  });

  void it("appends JSON lines", async () => {
    const path = join(directory, "append", "audit.jsonl");
    const sink = new FileSink({ path });
    await sink.write([recordOfSize(1, 300), recordOfSize(2, 300)]);
    await sink.write([recordOfSize(3, 300)]);
    await sink.close();

    const lines = await linesOf(path);
    assert.deepEqual(lines.map(idOf), ["r-0001", "r-0002", "r-0003"]);
  });

  void it("rotates by size, keeps max_files", async () => {
    const path = join(directory, "rotate", "audit.jsonl");
    const sink = new FileSink({ path, maxFileBytes: 2500, maxFiles: 2 });

    // 250-byte lines: ten fill a file, so 35 lines make files of 10, 10, 10 and 5 lines.
    const records = Array.from({ length: 35 }, (_, index) => recordOfSize(index, 250));
    await sink.write(records.slice(0, 12));
    await sink.write(records.slice(12));
    await sink.close();

    const names = (await readdir(join(directory, "rotate"))).sort();
    assert.deepEqual(names, ["audit.jsonl", "audit.jsonl.1", "audit.jsonl.2"], "the oldest file was deleted");

    assert.deepEqual((await linesOf(`${path}.2`)).map(idOf), records.slice(10, 20).map((_, index) => `r-${String(index + 10).padStart(4, "0")}`));
    assert.deepEqual((await linesOf(`${path}.1`)).map(idOf), records.slice(20, 30).map((_, index) => `r-${String(index + 20).padStart(4, "0")}`));
    assert.deepEqual((await linesOf(path)).map(idOf), ["r-0030", "r-0031", "r-0032", "r-0033", "r-0034"]);
    for (const name of names) {
      assert.ok((await stat(join(directory, "rotate", name))).size <= 2500, `${name} is within max_file_bytes`);
    }
  });

  void it("continues an existing file", async () => {
    const path = join(directory, "existing", "audit.jsonl");
    const first = new FileSink({ path, maxFileBytes: 700, fsync: "never" });
    await first.write([recordOfSize(1, 300), recordOfSize(2, 300)]);
    await first.close();

    const second = new FileSink({ path, maxFileBytes: 700, fsync: "never" });
    await second.write([recordOfSize(3, 300)]);
    await second.close();

    assert.deepEqual((await linesOf(`${path}.1`)).map(idOf), ["r-0001", "r-0002"]);
    assert.deepEqual((await linesOf(path)).map(idOf), ["r-0003"]);
  });

  void it("over-long line gets its own file", async () => {
    const path = join(directory, "long", "audit.jsonl");
    const sink = new FileSink({ path, maxFileBytes: 600, maxFiles: 5 });
    await sink.write([recordOfSize(1, 250), recordOfSize(2, 1400), recordOfSize(3, 250)]);
    await sink.close();

    assert.deepEqual((await linesOf(`${path}.2`)).map(idOf), ["r-0001"]);
    assert.deepEqual((await linesOf(`${path}.1`)).map(idOf), ["r-0002"]);
    assert.deepEqual((await linesOf(path)).map(idOf), ["r-0003"]);
  });

  void it("unusable path fails, then recovers", async () => {
    const blocked = join(directory, "blocked");
    await writeFile(blocked, "a file where the sink needs a directory");
    const path = join(blocked, "audit.jsonl");
    const audit = new AuditLog({
      sinks: [new FileSink({ path })],
      logger: silentLogger(),
      backoff: { initialDelayMs: 5, maxDelayMs: 20 },
    });

    audit.record(recordOfSize(1, 300).event);
    assert.equal(await audit.flush(200), false);
    assert.ok((audit.metrics().sinks["file"]?.errors ?? 0) >= 1);

    await rm(blocked);
    assert.equal(await audit.flush(), true);
    await audit.close();
    assert.deepEqual((await linesOf(path)).map(idOf), ["r-0001"]);
  });

  void it("rejects invalid sizes", () => {
    assert.throws(() => new FileSink({ path: join(directory, "x"), maxFiles: 0 }), /max_files/);
    assert.throws(() => new FileSink({ path: join(directory, "x"), maxFileBytes: 0 }), /max_file_bytes/);
  });

  void it("file URLs parse to paths", () => {
    assert.deepEqual(parseAuditDestination("file:///var/log/prism/audit.jsonl"), {
      ok: true,
      destination: { kind: "file", path: "/var/log/prism/audit.jsonl" },
    });
    const relative = parseAuditDestination("file://var/log/audit.jsonl");
    assert.equal(relative.ok, false);
    assert.match(relative.ok ? "" : relative.error, /three slashes/);
    const folder = parseAuditDestination("file:///var/log/");
    assert.match(folder.ok ? "" : folder.error, /is a directory/);
  });
});
