import { describe, it } from "node:test";
import assert from "node:assert/strict";
import { Code } from "@connectrpc/connect";
import { PrismError } from "../../src/errors/prism-error.js";
import { Admission, type AdmissionTicket } from "../../src/limits/admission.js";
import { RETRY_AFTER_HEADER, RETRY_AFTER_MS_HEADER } from "../../src/limits/admission-errors.js";
import { DEFAULT_MAX_IN_FLIGHT, resolveLimits } from "../../src/limits/resolved-limits.js";
import { fakeAdmission, limitsOf } from "./fake-clocks.js";

/** Runs `fn`, expecting a PrismError, and returns it. */
function rejection(fn: () => unknown): PrismError {
  try {
    fn();
  } catch (error) {
    assert.ok(error instanceof PrismError, `expected a PrismError, got ${String(error)}`);
    return error;
  }
  assert.fail("expected a rejection");
}

function tryAdmit(admit: () => AdmissionTicket): AdmissionTicket | undefined {
  try {
    return admit();
  } catch (error) {
    if (error instanceof PrismError && error.code === Code.ResourceExhausted) {
      return undefined;
    }
    throw error;
  }
}

describe("Admission rate limit", () => {
  void it("admits rate × window + burst under many concurrent callers", async () => {
    const { admission, clocks } = fakeAdmission();
    const limits = limitsOf({ max_rps: 300, burst: 40 });
    const callers = 50;
    let admitted = 0;

    for (let tick = 0; tick < 1000; tick++) {
      clocks.nowMs = tick;
      await Promise.all(
        Array.from({ length: callers }, async () => {
          await Promise.resolve();
          const ticket = tryAdmit(() => admission.admit("acme-prod", limits, 0));
          if (ticket !== undefined) {
            admitted++;
            ticket.release();
          }
        }),
      );
    }

    assert.equal(admitted, 300 + 40);
    assert.equal(admission.snapshot("acme-prod")?.rejected.max_rps, 1000 * callers - admitted);
  });

  void it("leaves another namespace unaffected", () => {
    const { admission } = fakeAdmission();
    const limits = limitsOf({ max_rps: 10, burst: 4 });
    for (let index = 0; index < 5; index++) {
      admission.admit("acme-prod", limits, 0).release();
    }
    assert.equal(tryAdmit(() => admission.admit("acme-prod", limits, 0)), undefined);

    for (let index = 0; index < 5; index++) {
      admission.admit("acme-staging", limits, 0).release();
    }
    assert.equal(admission.snapshot("acme-staging")?.rejected.max_rps, 0);
  });

  void it("rejects with RATE_LIMITED, the limit and a retry hint", () => {
    const { admission, clocks } = fakeAdmission();
    const limits = resolveLimits({ max_rps: 4 }, { id: "acme", limits: { burst: 0 } });
    admission.admit("acme-prod", limits, 0).release();
    clocks.advance(10);

    const error = rejection(() => admission.admit("acme-prod", limits, 0));
    assert.equal(error.code, Code.ResourceExhausted);
    assert.equal(error.reason, "RATE_LIMITED");
    assert.equal(error.retryAfterMs, 240);
    assert.equal(
      error.rawMessage,
      'namespace "acme-prod" exceeded its rate limit of 4 requests per second with a burst of 0 ' +
        '(max_rps set by proxy.resource_limits.per_namespace.max_rps, burst set by limits.burst of tenant "acme"); retry after 240 ms',
    );
    assert.equal(error.metadata.get(RETRY_AFTER_HEADER), "1");
    assert.equal(error.metadata.get(RETRY_AFTER_MS_HEADER), "240");

    clocks.advance(240);
    admission.admit("acme-prod", limits, 0).release();
  });

  void it("rounds retry-after up to whole seconds", () => {
    const { admission, clocks } = fakeAdmission();
    const limits = limitsOf({ max_rps: 0.5, burst: 0 });
    admission.admit("acme-prod", limits, 0).release();
    clocks.advance(1);

    const error = rejection(() => admission.admit("acme-prod", limits, 0));
    assert.equal(error.retryAfterMs, 1999);
    assert.equal(error.metadata.get(RETRY_AFTER_HEADER), "2");
  });

  void it("does not use up the rate on a request rejected for another limit", () => {
    const { admission } = fakeAdmission();
    const limits = limitsOf({ max_rps: 1, burst: 1, max_in_flight: 1 });
    const held = admission.admit("acme-prod", limits, 0);
    assert.equal(rejection(() => admission.admit("acme-prod", limits, 0)).reason, "LIMIT_EXCEEDED");
    held.release();

    admission.admit("acme-prod", limits, 0).release();
    assert.equal(rejection(() => admission.admit("acme-prod", limits, 0)).reason, "RATE_LIMITED");
    assert.deepEqual(admission.snapshot("acme-prod")?.rejected, { max_rps: 1, max_in_flight: 1, cpu: 0, memory: 0 });
  });
});

describe("Admission in-flight limit", () => {
  void it("caps concurrent requests per namespace", () => {
    const { admission } = fakeAdmission();
    const limits = resolveLimits(undefined, { id: "acme", limits: { max_in_flight: 3 } });
    const tickets = [1, 2, 3].map(() => admission.admit("acme-prod", limits, 0));

    const error = rejection(() => admission.admit("acme-prod", limits, 0));
    assert.equal(error.code, Code.ResourceExhausted);
    assert.equal(error.reason, "LIMIT_EXCEEDED");
    assert.equal(error.retryAfterMs, undefined);
    assert.equal(
      error.rawMessage,
      'namespace "acme-prod" already has 3 requests and streams in flight, its limit (max_in_flight set by limits.max_in_flight of tenant "acme"); retry when one finishes, or raise max_in_flight',
    );
    admission.admit("acme-staging", limits, 0).release();

    tickets[0]?.release();
    tickets[0]?.release();
    assert.equal(admission.snapshot("acme-prod")?.inFlight.used, 2, "a second release changes nothing");
    const replacement = admission.admit("acme-prod", limits, 0);
    assert.equal(tryAdmit(() => admission.admit("acme-prod", limits, 0)), undefined);

    [replacement, ...tickets].forEach((ticket) => ticket?.release());
    assert.equal(admission.snapshot("acme-prod")?.inFlight.used, 0);
  });

  void it("applies the default when max_in_flight is unset", () => {
    const { admission } = fakeAdmission();
    const limits = limitsOf({});
    const tickets = Array.from({ length: DEFAULT_MAX_IN_FLIGHT }, () => admission.admit("acme-prod", limits, 0));
    const error = rejection(() => admission.admit("acme-prod", limits, 0));
    assert.match(error.rawMessage, /max_in_flight set by the default max_in_flight of 1000/);
    tickets.forEach((ticket) => ticket.release());
  });
});

describe("Admission memory budget", () => {
  void it("rejects a request that would exceed the budget", () => {
    const { admission } = fakeAdmission();
    const limits = limitsOf({ memory: 1000 });
    const first = admission.admit("acme-prod", limits, 600);

    const error = rejection(() => admission.admit("acme-prod", limits, 500));
    assert.equal(error.code, Code.ResourceExhausted);
    assert.equal(error.reason, "LIMIT_EXCEEDED");
    assert.equal(
      error.rawMessage,
      'namespace "acme-prod" holds 600 bytes in flight, and this request of 500 bytes would take it above its memory budget of 1000 bytes (memory set by proxy.resource_limits.per_namespace.memory); retry when requests in flight finish, or raise the budget',
    );

    const second = admission.admit("acme-prod", limits, 400);
    assert.equal(admission.snapshot("acme-prod")?.memoryBytes.used, 1000);
    first.release();
    second.release();
    assert.equal(admission.snapshot("acme-prod")?.memoryBytes.used, 0);
  });

  void it("says when a request can never fit", () => {
    const { admission } = fakeAdmission();
    const error = rejection(() => admission.admit("acme-prod", limitsOf({ memory: 1000 }), 1001));
    assert.match(error.rawMessage, /this request of 1001 bytes would take it above its memory budget of 1000 bytes .*; it can never fit, so split it or raise the budget$/);
  });

  void it("charges and releases bytes buffered for a subscriber", () => {
    const { admission } = fakeAdmission();
    const limits = limitsOf({ memory: 1000 });
    const stream = admission.admit("acme-prod", limits, 100);

    stream.chargeMemory(500);
    stream.chargeMemory(300);
    const error = rejection(() => stream.chargeMemory(200));
    assert.match(error.rawMessage, /holds 900 bytes in flight, and a message buffered for a subscriber \(200 bytes\) would take it above/);
    assert.equal(stream.heldBytes, 900, "a rejected charge holds nothing");

    stream.releaseMemory(500);
    assert.equal(admission.snapshot("acme-prod")?.memoryBytes.used, 400);
    stream.releaseMemory(10_000);
    assert.equal(stream.heldBytes, 0, "a ticket returns at most what it holds");

    stream.chargeMemory(700);
    stream.release();
    assert.equal(admission.snapshot("acme-prod")?.memoryBytes.used, 0, "release returns every charged byte");
    stream.chargeMemory(700);
    assert.equal(admission.snapshot("acme-prod")?.memoryBytes.used, 0, "charges after release are ignored");
    assert.equal(admission.snapshot("acme-prod")?.rejected.memory, 1);
  });

  void it("does not count bytes without a budget", () => {
    const { admission } = fakeAdmission();
    const ticket = admission.admit("acme-prod", limitsOf({}), 5_000_000);
    assert.deepEqual(admission.snapshot("acme-prod")?.memoryBytes, { used: 5_000_000, limit: null });
    ticket.release();
  });
});

describe("Admission CPU budget", () => {
  void it("rejects while the namespace uses more CPU than its budget", () => {
    const { admission, clocks } = fakeAdmission();
    const limits = limitsOf({ cpu: 0.5 });
    clocks.nowMs = 1000;

    const ticket = admission.admit("acme-prod", limits, 0);
    const result = ticket.measureCpu(() => {
      clocks.burnCpu(600);
      return "done";
    });
    ticket.release();
    assert.equal(result, "done");

    clocks.advance(50);
    const error = rejection(() => admission.admit("acme-prod", limits, 0));
    assert.equal(error.code, Code.ResourceExhausted);
    assert.equal(error.reason, "RATE_LIMITED");
    assert.equal(error.retryAfterMs, 950, "the bucket [1000, 1100) leaves the window at 2000 ms");
    assert.match(error.rawMessage, /^namespace "acme-prod" used 0\.600 CPU cores over the last second, above its budget of 0\.5 cores/);
    assert.equal(error.metadata.get(RETRY_AFTER_MS_HEADER), "950");

    admission.admit("acme-staging", limits, 0).release();
    clocks.advance(949);
    assert.equal(tryAdmit(() => admission.admit("acme-prod", limits, 0)), undefined);
    clocks.advance(1);
    admission.admit("acme-prod", limits, 0).release();
  });

  void it("admits while usage is at the budget", () => {
    const { admission, clocks } = fakeAdmission();
    const limits = limitsOf({ cpu: 0.25 });
    const ticket = admission.admit("acme-prod", limits, 0);
    ticket.measureCpu(() => clocks.burnCpu(250));
    admission.admit("acme-prod", limits, 0).release();
    ticket.release();
  });

  void it("charges nested measurements once", () => {
    const { admission, clocks } = fakeAdmission();
    const ticket = admission.admit("acme-prod", limitsOf({ cpu: 1 }), 0);
    ticket.measureCpu(() => {
      clocks.burnCpu(100);
      ticket.measureCpu(() => clocks.burnCpu(100));
    });
    assert.equal(admission.snapshot("acme-prod")?.cpuCores.used, 0.2);
    ticket.release();
  });

  void it("charges work done before admission", () => {
    const { admission, clocks } = fakeAdmission();
    const start = admission.readCpuMicros();
    clocks.burnCpu(30);
    const ticket = admission.admit("acme-prod", limitsOf({ cpu: 1 }), 0);
    ticket.chargeCpuSince(start);
    assert.equal(admission.snapshot("acme-prod")?.cpuCores.used, 0.03);

    const next = admission.readCpuMicros();
    clocks.burnCpu(20);
    ticket.measureCpu(() => clocks.burnCpu(10), next);
    assert.equal(admission.snapshot("acme-prod")?.cpuCores.used, 0.06);
    ticket.release();
  });

  void it("charges CPU when the measured function throws", () => {
    const { admission, clocks } = fakeAdmission();
    const ticket = admission.admit("acme-prod", limitsOf({ cpu: 1 }), 0);
    assert.throws(() =>
      ticket.measureCpu(() => {
        clocks.burnCpu(40);
        throw new Error("handler failed");
      }),
    );
    assert.equal(admission.snapshot("acme-prod")?.cpuCores.used, 0.04);
    ticket.release();
  });
});

describe("Admission snapshots", () => {
  void it("reports use and limits of every namespace", () => {
    const { admission, clocks } = fakeAdmission();
    const limits = limitsOf({ max_rps: 100, burst: 5, max_in_flight: 10, cpu: 0.5, memory: 4096 });
    const open = admission.admit("acme-prod", limits, 1024);
    open.measureCpu(() => clocks.burnCpu(100));
    for (let index = 0; index < 3; index++) {
      admission.admit("acme-prod", limits, 0).release();
    }
    admission.admit("acme-dev", limitsOf({}), 0).release();

    assert.deepEqual(admission.snapshot("acme-prod"), {
      namespace: "acme-prod",
      rps: { used: 4, limit: 100, burst: 5 },
      inFlight: { used: 1, limit: 10 },
      cpuCores: { used: 0.1, limit: 0.5 },
      memoryBytes: { used: 1024, limit: 4096 },
      rejected: { max_rps: 0, max_in_flight: 0, cpu: 0, memory: 0 },
    });
    assert.deepEqual(
      admission.snapshotAll().map((usage) => usage.namespace),
      ["acme-dev", "acme-prod"],
    );
    assert.equal(admission.snapshot("globex-prod"), undefined);

    clocks.advance(1000);
    assert.equal(admission.snapshot("acme-prod")?.rps.used, 0, "admissions older than a second are not counted");
    open.release();
  });

  void it("keeps process-wide rejection totals", () => {
    const { admission } = fakeAdmission();
    const limits = limitsOf({ max_in_flight: 1 });
    const held = [admission.admit("acme-prod", limits, 0), admission.admit("globex-prod", limits, 0)];
    tryAdmit(() => admission.admit("acme-prod", limits, 0));
    tryAdmit(() => admission.admit("globex-prod", limits, 0));
    assert.deepEqual(admission.rejectedTotals, { max_rps: 0, max_in_flight: 2, cpu: 0, memory: 0 });
    held.forEach((ticket) => ticket.release());
  });
});

describe("Admission eviction", () => {
  void it("drops idle namespaces and keeps busy ones", () => {
    const { admission, clocks } = fakeAdmission({ idleEvictionMs: 60_000 });
    const limits = limitsOf({ max_rps: 100 });
    admission.admit("acme-idle", limits, 0).release();
    const open = admission.admit("acme-busy", limits, 0);

    clocks.advance(59_999);
    assert.equal(admission.evictIdle(), 0);
    clocks.advance(1);
    assert.equal(admission.evictIdle(), 1);
    assert.equal(admission.snapshot("acme-idle"), undefined);
    assert.equal(admission.snapshot("acme-busy")?.inFlight.used, 1);

    open.release();
    clocks.advance(60_000);
    assert.equal(admission.evictIdle(), 1);
    assert.equal(admission.namespaceCount, 0);
  });

  void it("keeps a namespace until its rate limiter has refilled", () => {
    const { admission, clocks } = fakeAdmission({ idleEvictionMs: 1000 });
    const limits = limitsOf({ max_rps: 0.01, burst: 1 });
    admission.admit("acme-prod", limits, 0).release();
    admission.admit("acme-prod", limits, 0).release();

    clocks.advance(199_999);
    assert.equal(admission.evictIdle(), 0, "two requests at 0.01 rps take 200 s to refill");
    clocks.advance(1);
    assert.equal(admission.evictIdle(), 1);
  });

  void it("bounds the state of thousands of namespaces", () => {
    const { admission, clocks } = fakeAdmission({ idleEvictionMs: 1000 });
    const limits = limitsOf({ max_rps: 50 });
    for (let index = 0; index < 5000; index++) {
      admission.admit(`tenant-${index}`, limits, 10).release();
    }
    assert.equal(admission.namespaceCount, 5000);
    clocks.advance(1000);
    assert.equal(admission.evictIdle(), 5000);
    assert.equal(admission.namespaceCount, 0);
  });

  void it("closes its timer idempotently", () => {
    const admission = new Admission({ sweepIntervalMs: 5 });
    admission.close();
    admission.close();
    admission.admit("acme-prod", limitsOf({}), 0).release();
  });
});
