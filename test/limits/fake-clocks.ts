import { Admission, type AdmissionOptions } from "../../src/limits/admission.js";
import { resolveLimits, type ResolvedLimits } from "../../src/limits/resolved-limits.js";
import type { PerNamespaceLimits } from "../../src/config/model.js";

/** A wall clock and a CPU clock that move only when a test moves them. */
export class FakeClocks {
  nowMs = 0;
  cpuMicros = 0;

  advance(milliseconds: number): void {
    this.nowMs += milliseconds;
  }

  /** Simulates synchronous work that burns CPU time without wall time passing. */
  burnCpu(milliseconds: number): void {
    this.cpuMicros += milliseconds * 1000;
  }
}

/** Creates an Admission driven by fake clocks, without the eviction timer. */
export function fakeAdmission(overrides: AdmissionOptions = {}): { admission: Admission; clocks: FakeClocks } {
  const clocks = new FakeClocks();
  const admission = new Admission({
    now: () => clocks.nowMs,
    cpuMicros: () => clocks.cpuMicros,
    sweepIntervalMs: 0,
    ...overrides,
  });
  return { admission, clocks };
}

/** Resolves deployment-wide limits only, as for a tenant without its own. */
export function limitsOf(limits: PerNamespaceLimits): ResolvedLimits {
  return resolveLimits(limits);
}
