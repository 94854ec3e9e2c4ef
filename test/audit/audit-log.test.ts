import assert from "node:assert/strict";
import { describe, it } from "node:test";

import {
  connectionClosedEvent,
  connectionEstablishedEvent,
  requestEvent,
  sessionCreatedEvent,
  sessionDestroyedEvent,
  type AuditEvent,
} from "../../src/audit/audit-event.js";
import { AUDIT_BEHIND_MESSAGE, AuditLog } from "../../src/audit/audit-log.js";
import { formatAuditMetrics, totalDropped, type AuditMetrics } from "../../src/audit/audit-metrics.js";
import { StreamSink } from "../../src/audit/stream-sink.js";
import { Code, PrismError } from "../../src/errors/prism-error.js";
import { CapturedLines, ControlledSink, FAST_BACKOFF, FailingStream, captureLogger, silentLogger } from "./audit-test-support.js";

const ISO_MILLIS = /^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}\.\d{3}Z$/;
const SESSION = "550e8400-e29b-41d4-a716-446655440000";

/** Builds the events of one session's life, in the order the proxy records them. */
function sessionLife(): AuditEvent[] {
  const start = Date.parse("2025-10-13T22:45:00.000Z");
  return [
    sessionCreatedEvent({ session_id: SESSION, client_id: "user@example.com", namespace: "tenant-a-prod", tenant_id: "tenant-a" }, start),
    connectionEstablishedEvent({ session_id: SESSION, backend: "redis", connection_id: "redis-conn-12345" }, start + 123),
    requestEvent(
      {
        tenant_id: "tenant-a",
        namespace: "tenant-a-prod",
        session_id: SESSION,
        user_id: "user@example.com",
        action: "kv.get",
        resource: "patient:42",
        result: "success",
        duration_ms: 1.5,
        request_id: "req-1",
      },
      start + 200,
    ),
    requestEvent(
      {
        tenant_id: "tenant-a",
        namespace: "tenant-a-prod",
        session_id: SESSION,
        user_id: "user@example.com",
        action: "kv.batch_get",
        resource: ["a", "b"],
        result: "failure",
        error_code: "PERMISSION_DENIED",
        duration_ms: 0.4,
        request_id: "req-2",
      },
      start + 300,
    ),
    connectionClosedEvent(
      { session_id: SESSION, backend: "redis", connection_id: "redis-conn-12345", duration_ms: 44_877, reason: "session_destroyed" },
      start + 45_000,
    ),
    sessionDestroyedEvent({ session_id: SESSION, duration_ms: 45_000, requests_handled: 2 }, start + 45_000),
  ];
}

function requestFor(index: number): AuditEvent {
  return requestEvent({
    tenant_id: "tenant-a",
    namespace: "tenant-a-prod",
    session_id: SESSION,
    user_id: "user@example.com",
    action: "kv.set",
    resource: `key-${index}`,
    result: "success",
    duration_ms: 1,
    request_id: `req-${index}`,
  });
}

/** Asserts recorded = written + dropped + queued for every sink. */
function assertAccounted(metrics: AuditMetrics): void {
  for (const [name, sink] of Object.entries(metrics.sinks)) {
    assert.equal(sink.written + totalDropped(sink) + sink.queued, metrics.recorded, `sink ${name} accounts for every event`);
  }
}

/** Polls a counter that has no event of its own, such as a sink's error count. */
async function waitFor(condition: () => boolean, what: string, timeoutMs = 5000): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (!condition()) {
    if (Date.now() > deadline) {
      throw new Error(`timed out waiting for ${what}`);
    }
    await new Promise((resolve) => setTimeout(resolve, 5));
  }
}

void describe("AuditLog", () => {
  void it("session life in order with fields", async () => {
    const stdout = new CapturedLines();
    const audit = new AuditLog({ sinks: [new StreamSink({ stream: stdout })], logger: silentLogger() });

    for (const event of sessionLife()) {
      audit.record(event);
    }
    await audit.close();

    const records = stdout.records();
    assert.deepEqual(
      records.map((record) => record["event"]),
      ["session_created", "connection_established", "request", "request", "connection_closed", "session_destroyed"],
    );
    assert.deepEqual(Object.keys(records[0] ?? {}).sort(), ["client_id", "event", "namespace", "session_id", "tenant_id", "timestamp"]);
    assert.deepEqual(Object.keys(records[1] ?? {}).sort(), ["backend", "connection_id", "event", "session_id", "timestamp"]);
    assert.deepEqual(
      Object.keys(records[2] ?? {}).sort(),
      ["action", "duration_ms", "event", "namespace", "request_id", "resource", "result", "session_id", "tenant_id", "timestamp", "user_id"],
    );
    assert.deepEqual(
      Object.keys(records[4] ?? {}).sort(),
      ["backend", "connection_id", "duration_ms", "event", "reason", "session_id", "timestamp"],
    );
    assert.deepEqual(Object.keys(records[5] ?? {}).sort(), ["duration_ms", "event", "requests_handled", "session_id", "timestamp"]);

    assert.equal(records[0]?.["timestamp"], "2025-10-13T22:45:00.000Z");
    assert.equal(records[1]?.["timestamp"], "2025-10-13T22:45:00.123Z");
    for (const record of records) {
      assert.match(String(record["timestamp"]), ISO_MILLIS);
    }
    assert.equal(records[3]?.["error_code"], "PERMISSION_DENIED");
    assert.deepEqual(records[3]?.["resource"], ["a", "b"]);
    assert.equal(records[2]?.["resource"], "patient:42", "resources are written unredacted by default");
  });

  void it("record never runs sink code synchronously", async () => {
    const sink = new ControlledSink();
    const audit = new AuditLog({ sinks: [sink], logger: silentLogger() });

    const firstWrite = sink.nextWrite();
    audit.record(requestFor(1));
    assert.equal(sink.writeCalls, 0);
    assert.equal(audit.metrics().sinks["memory"]?.queued, 1);

    await firstWrite;
    await audit.close();
    assert.equal(sink.records.length, 1);
  });

  void it("ignores disabled event types", async () => {
    const sink = new ControlledSink();
    const audit = new AuditLog({
      sinks: [sink],
      logger: silentLogger(),
      events: { session: true, connection: false, request: false },
    });

    for (const event of sessionLife()) {
      audit.record(event);
    }
    await audit.close();

    assert.deepEqual(sink.events(), ["session_created", "session_destroyed"]);
    assert.equal(audit.metrics().recorded, 2);
    assert.equal(audit.records("request"), false);
  });

  void it("sends every event to every sink", async () => {
    const first = new ControlledSink("first");
    const second = new ControlledSink("second");
    const audit = new AuditLog({ sinks: [first, second], logger: silentLogger() });

    for (const event of sessionLife()) {
      audit.record(event);
    }
    await audit.close();

    assert.equal(first.records.length, 6);
    assert.deepEqual(second.events(), first.events());
    assert.equal(first.records[0], second.records[0], "the record is prepared once and shared");
  });

  void it("metrics render as Prometheus text", async () => {
    const audit = new AuditLog({ sinks: [new ControlledSink("main")], logger: silentLogger() });
    audit.record(requestFor(1));
    await audit.close();

    const text = formatAuditMetrics(audit.metrics());
    assert.match(text, /^# TYPE prism_audit_events_recorded_total counter$/m);
    assert.match(text, /^prism_audit_events_recorded_total 1$/m);
    assert.match(text, /^prism_audit_events_written_total\{sink="main"\} 1$/m);
    assert.match(text, /^prism_audit_events_dropped_total\{sink="main",reason="queue_full"\} 0$/m);
    assert.match(text, /^prism_audit_queue_events\{sink="main"\} 0$/m);
  });

  void it("rejects two sinks with one name", () => {
    assert.throws(
      () => new AuditLog({ sinks: [new ControlledSink("same"), new ControlledSink("same")], logger: silentLogger() }),
      /two audit sinks are named "same"/,
    );
  });

  void it("batches up to batchSize", async () => {
    const sink = new ControlledSink();
    const audit = new AuditLog({ sinks: [sink], logger: silentLogger(), batchSize: 4 });

    for (let index = 0; index < 10; index++) {
      audit.record(requestFor(index));
    }
    await audit.close();

    assert.equal(sink.writeCalls, 3);
    assert.deepEqual(
      sink.records.map((record) => record.event.event === "request" && record.event.request_id),
      Array.from({ length: 10 }, (_, index) => `req-${index}`),
    );
  });

  void it("no sinks: ignores events, accepts", async () => {
    const audit = new AuditLog({ sinks: [], logger: silentLogger(), overflowPolicy: "reject" });
    audit.record(requestFor(1));
    assert.equal(audit.accepting(), true);
    assert.equal(audit.metrics().recorded, 0);
    await audit.close();
  });
});

void describe("AuditLog overflow policy drop", () => {
  void it("failing stream counts drops, never blocks", async () => {
    const { logger, log } = captureLogger();
    const audit = new AuditLog({
      sinks: [new StreamSink({ name: "broken", stream: new FailingStream() })],
      logger,
      overflowPolicy: "drop",
      queueCapacity: 10,
      backoff: FAST_BACKOFF,
    });

    const started = performance.now();
    for (let index = 0; index < 100; index++) {
      audit.record(requestFor(index));
      assert.equal(audit.accepting(), true);
    }
    const elapsedMs = performance.now() - started;
    assert.ok(elapsedMs < 1000, `100 records took ${elapsedMs} ms`);
    audit.admit();

    await waitFor(() => (audit.metrics().sinks["broken"]?.errors ?? 0) >= 2, "two failed writes");
    const metrics = audit.metrics();
    const sink = metrics.sinks["broken"];
    assert.ok(sink);
    assert.equal(metrics.recorded, 100);
    assert.equal(sink.dropped.queue_full, 90);
    assert.equal(sink.queued, 10);
    assert.equal(sink.written, 0);
    assertAccounted(metrics);
    assert.equal(audit.sinkStates()["broken"], "failing");

    const dropWarnings = log.records().filter((record) => String(record["msg"]).startsWith("audit event dropped"));
    assert.equal(dropWarnings.length, 1, "the drop warning is rate-limited");
    assert.equal(dropWarnings[0]?.["level"], 40);
    assert.ok(log.records().some((record) => record["msg"] === "audit sink healthy -> failing"));

    await audit.close(50);
    const closed = audit.metrics();
    assert.equal(closed.sinks["broken"]?.dropped.close_timeout, 10);
    assertAccounted(closed);
  });

  void it("stalled sink drops past capacity", async () => {
    const sink = new ControlledSink();
    sink.closeGate();
    const audit = new AuditLog({ sinks: [sink], logger: silentLogger(), overflowPolicy: "drop", queueCapacity: 3 });

    const firstWrite = sink.nextWrite();
    audit.record(requestFor(0));
    await firstWrite;
    for (let index = 1; index < 8; index++) {
      audit.record(requestFor(index));
    }

    const metrics = audit.metrics().sinks["memory"];
    assert.equal(metrics?.queued, 3, "the batch being written stays in the queue");
    assert.equal(metrics?.dropped.queue_full, 5);

    sink.openGate();
    await audit.close();
    assert.equal(sink.records.length, 3);
    assertAccounted(audit.metrics());
  });
});

void describe("AuditLog overflow policy reject", () => {
  void it("rejects while failing, resumes on recovery", async () => {
    const { logger, log } = captureLogger();
    const sink = new ControlledSink();
    sink.failing = true;
    const audit = new AuditLog({ sinks: [sink], logger, overflowPolicy: "reject", queueCapacity: 5, backoff: FAST_BACKOFF });

    for (let index = 0; index < 4; index++) {
      audit.record(requestFor(index));
    }
    assert.equal(audit.accepting(), true);
    audit.record(requestFor(4));
    assert.equal(audit.accepting(), false);

    assert.throws(
      () => audit.admit(),
      (error: unknown) =>
        error instanceof PrismError && error.code === Code.Unavailable && error.rawMessage === AUDIT_BEHIND_MESSAGE,
    );
    assert.equal(audit.metrics().rejectedRequests, 1);

    // Events of requests already admitted still enter the reserve.
    for (let index = 5; index < 10; index++) {
      audit.record(requestFor(index));
    }
    assert.equal(audit.metrics().sinks["memory"]?.queued, 10);
    audit.record(requestFor(10));
    assert.equal(audit.metrics().sinks["memory"]?.dropped.reserve_full, 1);
    assert.ok(log.records().some((record) => record["level"] === 50 && String(record["msg"]).includes("reserve")));

    await waitFor(() => sink.writeCalls >= 2, "a retried write");
    assert.equal(audit.accepting(), false, "still behind while the sink fails");

    sink.failing = false;
    assert.equal(await audit.flush(), true);
    assert.equal(audit.accepting(), true);
    audit.admit();
    assert.equal(sink.records.length, 10);
    assert.ok(log.records().some((record) => record["msg"] === "audit trail caught up; admitting requests again"));
    assert.ok(log.records().some((record) => record["msg"] === "audit sink failing -> healthy"));

    await audit.close();
    assertAccounted(audit.metrics());
  });

  void it("stops accepting once close begins", async () => {
    const audit = new AuditLog({ sinks: [new ControlledSink()], logger: silentLogger(), overflowPolicy: "reject" });
    const closing = audit.close();
    assert.equal(audit.accepting(), false);
    assert.throws(() => audit.admit(), PrismError);
    await closing;
  });
});

void describe("AuditLog close", () => {
  void it("flushes queued events before closing the sinks", async () => {
    const sink = new ControlledSink();
    sink.closeGate();
    const audit = new AuditLog({ sinks: [sink], logger: silentLogger() });

    for (let index = 0; index < 20; index++) {
      audit.record(requestFor(index));
    }
    const firstWrite = sink.nextWrite();
    const closing = audit.close();
    await firstWrite;
    assert.equal(sink.closed, false);

    sink.openGate();
    await closing;
    assert.equal(sink.records.length, 20);
    assert.equal(sink.closed, true);
    assert.equal(audit.metrics().sinks["memory"]?.written, 20);
  });

  void it("close is idempotent", async () => {
    const sink = new ControlledSink();
    const audit = new AuditLog({ sinks: [sink], logger: silentLogger() });
    const first = audit.close();
    assert.equal(audit.close(), first);
    await first;
    await audit.close();
    assert.equal(sink.closed, true);
  });

  void it("deadline drops are counted and logged", async () => {
    const { logger, log } = captureLogger();
    const sink = new ControlledSink();
    sink.closeGate();
    const audit = new AuditLog({ sinks: [sink], logger });

    for (let index = 0; index < 7; index++) {
      audit.record(requestFor(index));
    }
    await audit.close(30);

    const metrics = audit.metrics();
    assert.equal(metrics.sinks["memory"]?.dropped.close_timeout, 7);
    assert.equal(metrics.sinks["memory"]?.queued, 0);
    assertAccounted(metrics);
    const error = log.records().find((record) => record["level"] === 50);
    assert.equal(error?.["dropped"], 7);
    sink.openGate();
  });

  void it("records after close are dropped", async () => {
    const { logger, log } = captureLogger();
    const audit = new AuditLog({ sinks: [new ControlledSink()], logger });
    await audit.close();

    audit.record(requestFor(1));
    audit.record(requestFor(2));
    const metrics = audit.metrics();
    assert.equal(metrics.sinks["memory"]?.dropped.closed, 2);
    assertAccounted(metrics);
    const warnings = log.records().filter((record) => record["msg"] === "audit event dropped: the audit log is closed");
    assert.equal(warnings.length, 1);
  });
});
