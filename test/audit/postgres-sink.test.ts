import assert from "node:assert/strict";
import { randomBytes } from "node:crypto";
import { once } from "node:events";
import { createServer } from "node:net";
import { after, before, describe, it } from "node:test";
import pg from "pg";

import {
  connectionEstablishedEvent,
  requestEvent,
  sessionCreatedEvent,
  sessionDestroyedEvent,
  type AuditEvent,
} from "../../src/audit/audit-event.js";
import { AuditLog } from "../../src/audit/audit-log.js";
import { prepareRecord } from "../../src/audit/audit-record.js";
import { AUDIT_TABLE, PostgresSink, describePostgresUrl } from "../../src/audit/postgres-sink.js";
import { FAST_BACKOFF, TcpRelay, silentLogger } from "./audit-test-support.js";

/** The shared PostgreSQL the tests use, as its superuser; override with PRISM_TEST_POSTGRES_URL. */
const SUPERUSER_URL = process.env["PRISM_TEST_POSTGRES_URL"] ?? "postgres://postgres@127.0.0.1:5432/test";

interface AuditRow {
  id: string;
  ts: Date;
  event: string;
  tenant_id: string | null;
  namespace: string | null;
  session_id: string | null;
  payload: Record<string, unknown>;
}

function request(id: number, session: string, resource = `key-${id}`): AuditEvent {
  return requestEvent({
    tenant_id: "tenant-a",
    namespace: "tenant-a-prod",
    session_id: session,
    user_id: "user@example.com",
    action: "kv.get",
    resource,
    result: "success",
    duration_ms: 1,
    request_id: `req-${id}`,
  });
}

/** Returns a loopback port with nothing listening, found by binding port 0 and closing it. */
async function closedPort(): Promise<number> {
  const server = createServer();
  server.listen(0, "127.0.0.1");
  await once(server, "listening");
  const address = server.address();
  server.close();
  await once(server, "close");
  assert.ok(address !== null, "the server has an address");
  assert.ok(typeof address !== "string", "the address is a TCP address");
  return address.port;
}

function urlWithPort(port: number): string {
  const url = new URL(SUPERUSER_URL);
  url.hostname = "127.0.0.1";
  url.port = String(port);
  return url.toString();
}

void describe("PostgreSQL sink", () => {
  const schema = `prism_audit_test_${randomBytes(5).toString("hex")}`;
  const admin = new pg.Pool({ connectionString: SUPERUSER_URL, max: 2 });
  const table = `${pg.escapeIdentifier(schema)}.${AUDIT_TABLE}`;

  async function rows(): Promise<AuditRow[]> {
    const result = await admin.query<AuditRow>(`SELECT * FROM ${table} ORDER BY id`);
    return result.rows;
  }

  async function clear(): Promise<void> {
    await admin.query(`TRUNCATE ${table}`);
  }

  before(async () => {
    admin.on("error", () => undefined);
    await admin.query(`CREATE SCHEMA ${pg.escapeIdentifier(schema)}`);
  });

  after(async () => {
    await admin.query(`DROP SCHEMA IF EXISTS ${pg.escapeIdentifier(schema)} CASCADE`);
    await admin.end();
  });

  void it("stores a session's events in order", async () => {
    const session = "550e8400-e29b-41d4-a716-446655440000";
    const audit = new AuditLog({
      sinks: [new PostgresSink({ url: SUPERUSER_URL, schema, logger: silentLogger() })],
      logger: silentLogger(),
      batchSize: 2,
    });
    const events: AuditEvent[] = [
      sessionCreatedEvent({ session_id: session, client_id: "user@example.com", namespace: "tenant-a-prod", tenant_id: "tenant-a" }),
      connectionEstablishedEvent({ session_id: session, backend: "redis", connection_id: "redis-conn-1" }),
      request(1, session),
      request(2, session),
      sessionDestroyedEvent({ session_id: session, duration_ms: 5, requests_handled: 2 }),
    ];
    for (const event of events) {
      audit.record(event);
    }
    await audit.close();

    const stored = await rows();
    assert.deepEqual(
      stored.map((row) => row.event),
      ["session_created", "connection_established", "request", "request", "session_destroyed"],
    );
    assert.deepEqual(
      stored.map((row) => row.payload),
      events.map((event) => JSON.parse(JSON.stringify(event)) as unknown),
    );
    assert.deepEqual(stored.map((row) => row.session_id), Array(5).fill(session));
    assert.deepEqual(stored.map((row) => row.tenant_id), ["tenant-a", null, "tenant-a", "tenant-a", null]);
    assert.deepEqual(stored.map((row) => row.namespace), ["tenant-a-prod", null, "tenant-a-prod", "tenant-a-prod", null]);
    assert.equal(stored[0]?.ts.toISOString(), events[0]?.timestamp);
    assert.equal(audit.metrics().sinks["postgres"]?.written, 5);

    const indexes = await admin.query<{ indexdef: string }>(
      "SELECT indexdef FROM pg_indexes WHERE schemaname = $1 AND tablename = $2 ORDER BY indexname",
      [schema, AUDIT_TABLE],
    );
    const definitions = indexes.rows.map((row) => row.indexdef).join("\n");
    assert.match(definitions, /\(tenant_id, ts\)/);
    assert.match(definitions, /\(session_id\)/);
    await clear();
  });

  void it("stores sanitized text jsonb rejects", async () => {
    const sink = new PostgresSink({ url: SUPERUSER_URL, schema, logger: silentLogger() });
    await sink.write([prepareRecord(request(1, "s-nul", "bad\u0000key\uD800"), { redaction: undefined })]);
    await sink.close();

    const stored = await rows();
    assert.equal(stored[0]?.payload["resource"], "bad\uFFFDkey\uFFFD");
    await clear();
  });

  void it("table found through URL search_path", async () => {
    const url = new URL(SUPERUSER_URL);
    url.searchParams.set("options", `-c search_path=${schema}`);
    const sink = new PostgresSink({ url: url.toString(), logger: silentLogger() });
    await sink.write([prepareRecord(request(1, "s-path"), { redaction: undefined })]);
    await sink.close();

    assert.deepEqual((await rows()).map((row) => row.session_id), ["s-path"]);
    await clear();
  });

  void it("recreates a dropped table", async () => {
    const sink = new PostgresSink({ url: SUPERUSER_URL, schema, logger: silentLogger() });
    await sink.write([prepareRecord(request(1, "s-before"), { redaction: undefined })]);
    await admin.query(`DROP TABLE ${table}`);

    await assert.rejects(sink.write([prepareRecord(request(2, "s-lost"), { redaction: undefined })]), /does not exist/);
    await sink.write([prepareRecord(request(3, "s-after"), { redaction: undefined })]);
    await sink.close();

    assert.deepEqual((await rows()).map((row) => row.session_id), ["s-after"]);
    await clear();
  });

  void it("restricted role uses an existing table", async () => {
    const role = `${schema}_writer`;
    const quotedRole = pg.escapeIdentifier(role);
    await admin.query(`CREATE ROLE ${quotedRole} LOGIN`);
    try {
      await admin.query(`GRANT USAGE ON SCHEMA ${pg.escapeIdentifier(schema)} TO ${quotedRole}`);
      await admin.query(`GRANT INSERT ON ${table} TO ${quotedRole}`);
      await admin.query(`GRANT USAGE ON SEQUENCE ${pg.escapeIdentifier(schema)}.${AUDIT_TABLE}_id_seq TO ${quotedRole}`);

      const url = new URL(SUPERUSER_URL);
      url.username = role;
      const sink = new PostgresSink({ url: url.toString(), schema, logger: silentLogger() });
      await sink.write([prepareRecord(request(1, "s-writer"), { redaction: undefined })]);
      await sink.close();

      assert.deepEqual((await rows()).map((row) => row.session_id), ["s-writer"]);
    } finally {
      await admin.query(`DROP OWNED BY ${quotedRole}`);
      await admin.query(`DROP ROLE ${quotedRole}`);
      await clear();
    }
  });

  void it("closed port with drop counts failures", async () => {
    const url = urlWithPort(await closedPort());
    const audit = new AuditLog({
      sinks: [new PostgresSink({ url, schema, logger: silentLogger() })],
      logger: silentLogger(),
      overflowPolicy: "drop",
      queueCapacity: 5,
      backoff: FAST_BACKOFF,
    });

    for (let index = 0; index < 50; index++) {
      audit.record(request(index, "s-closed"));
    }
    assert.equal(audit.accepting(), true);
    assert.equal(await audit.flush(300), false);

    const metrics = audit.metrics().sinks["postgres"];
    assert.ok((metrics?.errors ?? 0) >= 1, "connection failures are counted");
    assert.equal(metrics?.dropped.queue_full, 45);
    assert.equal(metrics?.written, 0);
    assert.equal(audit.sinkStates()["postgres"], "failing");

    await audit.close(50);
    assert.equal(audit.metrics().sinks["postgres"]?.dropped.close_timeout, 5);
  });

  void it("reject until PostgreSQL is reachable", async () => {
    const target = new URL(SUPERUSER_URL);
    const relay = new TcpRelay(target.hostname, Number(target.port || 5432));
    await relay.start();
    await relay.stop();

    const audit = new AuditLog({
      sinks: [new PostgresSink({ url: urlWithPort(relay.port), schema, logger: silentLogger(), connectTimeoutMs: 1000 })],
      logger: silentLogger(),
      overflowPolicy: "reject",
      queueCapacity: 4,
      backoff: FAST_BACKOFF,
    });
    try {
      for (let index = 0; index < 4; index++) {
        audit.record(request(index, "s-relay"));
      }
      assert.equal(audit.accepting(), false);
      assert.throws(() => audit.admit(), /audit trail is behind/);
      assert.equal(await audit.flush(200), false);
      assert.equal(audit.accepting(), false, "still rejecting while PostgreSQL is unreachable");

      await relay.start();
      assert.equal(await audit.flush(), true);
      assert.equal(audit.accepting(), true);
      audit.admit();
    } finally {
      await audit.close();
      await relay.stop();
    }

    assert.deepEqual(
      (await rows()).map((row) => row.payload["request_id"]),
      ["req-0", "req-1", "req-2", "req-3"],
    );
    await clear();
  });

  void it("target omits credentials", () => {
    assert.equal(describePostgresUrl("postgres://audit:s3cret@db.internal:5432/audit?sslmode=require"), "postgres://db.internal:5432/audit");
  });
});
