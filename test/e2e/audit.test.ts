import { after, before, describe, it } from "node:test";
import assert from "node:assert/strict";
import { randomBytes } from "node:crypto";
import { mkdtemp, readFile, rm } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import pg from "pg";
import { createClient } from "@connectrpc/connect";
import { Http2SessionManager, createGrpcTransport } from "@connectrpc/connect-node";
import { parseConfig } from "../../src/config/load.js";
import { KeyValueBasicInterface } from "../../src/gen/prism/interfaces/keyvalue/keyvalue_basic_pb.js";
import { CapturedLog, DEMO_KEYS, eventually, startTestProxy, type TestProxy } from "../support/test-proxy.js";

const POSTGRES_URL = process.env["PRISM_TEST_POSTGRES_URL"] ?? "postgres://postgres@127.0.0.1:5432/test";

type Event = Record<string, unknown> & { event: string; session_id?: string };

function eventsOf(lines: readonly string[], sessionId: string): Event[] {
  return lines
    .map((line) => JSON.parse(line) as Event)
    .filter((event) => event.session_id === sessionId);
}

function assertSessionTrail(events: readonly Event[], sink: string): void {
  assert.deepEqual(
    events.map((event) => event.event),
    ["session_created", "request", "request", "session_destroyed"],
    `${sink} holds the session's events out of order or incomplete`,
  );

  const [created, set, get, destroyed] = events;
  assert.equal(created?.["client_id"], "acme-app");
  assert.equal(created?.["namespace"], "acme-audit");
  assert.equal(created?.["tenant_id"], "acme");
  assert.match(String(created?.["timestamp"]), /^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{3}Z$/);

  assert.equal(set?.["action"], "kv.set");
  assert.equal(set?.["result"], "success");
  assert.equal(set?.["user_id"], "acme-app");
  assert.equal(set?.["resource"], "audited-key");
  assert.equal(get?.["action"], "kv.get");

  assert.equal(destroyed?.["requests_handled"], 2);
  assert.equal(typeof destroyed?.["duration_ms"], "number");
}

describe("audit trail of a session", () => {
  const schema = `prism_audit_e2e_${randomBytes(4).toString("hex")}`;
  const stdout = new CapturedLog();
  let directory: string;
  let gateway: TestProxy;

  before(async () => {
    directory = await mkdtemp(join(tmpdir(), "prism-audit-"));
    // The sink creates its table but not the schema, which the operator owns.
    const database = new pg.Client({ connectionString: POSTGRES_URL });
    await database.connect();
    await database.query(`CREATE SCHEMA ${schema}`);
    await database.end();

    const audit = parseConfig(
      [
        "proxy:",
        "  audit:",
        "    log_session_lifecycle: true",
        "    log_requests: true",
        "    sinks:",
        '      - url: "stdout"',
        `      - url: "file://${directory}/audit.jsonl"`,
        `      - url: "${POSTGRES_URL}"`,
        `        schema: ${schema}`,
      ].join("\n"),
      "audit.yaml",
      {},
    ).proxy.audit;
    gateway = await startTestProxy((config) => {
      config.proxy.audit = audit;
    }, { auditStdout: stdout });
  });

  after(async () => {
    await gateway.close();
    await rm(directory, { recursive: true, force: true });
    const client = new pg.Client({ connectionString: POSTGRES_URL });
    await client.connect();
    await client.query(`DROP SCHEMA IF EXISTS ${schema} CASCADE`);
    await client.end();
  });

  it("writes the events in order to every sink", async () => {
    const sessionManager = new Http2SessionManager(gateway.baseUrl);
    const transport = createGrpcTransport({
      baseUrl: gateway.baseUrl,
      sessionManager,
      interceptors: [
        (next) => (request) => {
          request.header.set("x-prism-namespace", "acme-audit");
          request.header.set("authorization", `Bearer ${DEMO_KEYS.acme}`);
          return next(request);
        },
      ],
    });
    const client = createClient(KeyValueBasicInterface, transport);
    const sessionsBefore = gateway.proxy.sessions.activeCount;
    await client.set({ key: "audited-key", value: new Uint8Array([1]) });
    await client.get({ key: "audited-key" });
    sessionManager.abort();
    await eventually(() => gateway.proxy.sessions.activeCount === sessionsBefore, "the session to end");

    const created = stdout.lines.map((line) => JSON.parse(line) as Event).find((event) => event.event === "session_created");
    const sessionId = String(created?.session_id);
    await eventually(() => eventsOf(stdout.lines, sessionId).length === 4, "four stdout events");
    assertSessionTrail(eventsOf(stdout.lines, sessionId), "stdout");

    const file = join(directory, "audit.jsonl");
    let fileLines: string[] = [];
    for (let attempt = 0; attempt < 100 && eventsOf(fileLines, sessionId).length < 4; attempt++) {
      fileLines = (await readFile(file, "utf8").catch(() => "")).split("\n").filter((line) => line.length > 0);
      await new Promise((resolve) => setTimeout(resolve, 50));
    }
    assertSessionTrail(eventsOf(fileLines, sessionId), "the file sink");

    const database = new pg.Client({ connectionString: POSTGRES_URL });
    await database.connect();
    try {
      let rows: Event[] = [];
      for (let attempt = 0; attempt < 100 && rows.length < 4; attempt++) {
        const result = await database.query<{ payload: Event }>(
          `SELECT payload FROM ${schema}.prism_audit_events WHERE session_id = $1 ORDER BY id`,
          [sessionId],
        );
        rows = result.rows.map((row) => row.payload);
        if (rows.length < 4) {
          await new Promise((resolve) => setTimeout(resolve, 50));
        }
      }
      assertSessionTrail(rows, "the PostgreSQL sink");
    } finally {
      await database.end();
    }
  });
});
