import { describe, it } from "node:test";
import assert from "node:assert/strict";
import { formatNamespaceUsage } from "../../src/limits/usage-format.js";

describe("formatNamespaceUsage", () => {
  void it("formats used and limit of every limit", () => {
    const lines = formatNamespaceUsage({
      namespace: "tenant-a-prod",
      rps: { used: 450, limit: 1000, burst: 100 },
      inFlight: { used: 3, limit: 1000 },
      cpuCores: { used: 0.7, limit: 1 },
      memoryBytes: { used: 1.2 * 2 ** 30, limit: 2 * 2 ** 30 },
      rejected: { max_rps: 4, max_in_flight: 0, cpu: 1, memory: 0 },
    });
    assert.deepEqual(lines, [
      "Namespace: tenant-a-prod",
      "RPS: 450/1000 (burst 100)",
      "In flight: 3/1000",
      "CPU: 0.70/1.00 cores",
      "Memory: 1.2/2.0 GiB",
      "Rejected: max_rps 4, max_in_flight 0, cpu 1, memory 0",
    ]);
  });

  void it("marks limits that are not set", () => {
    const lines = formatNamespaceUsage({
      namespace: "acme-dev",
      rps: { used: 12, limit: null, burst: null },
      inFlight: { used: 0, limit: 1000 },
      cpuCores: { used: 0.01, limit: null },
      memoryBytes: { used: 3 * 1024 * 1024, limit: null },
      rejected: { max_rps: 0, max_in_flight: 0, cpu: 0, memory: 0 },
    });
    assert.equal(lines[1], "RPS: 12 (no limit)");
    assert.equal(lines[3], "CPU: 0.01 cores (no limit)");
    assert.equal(lines[4], "Memory: 3.0 MiB (no limit)");
  });
});
