import { describe, it } from "node:test";
import assert from "node:assert/strict";
import type { TenantConfig } from "../../src/config/model.js";
import {
  DEFAULT_MAX_IN_FLIGHT,
  LimitsResolver,
  defaultBurst,
  resolveLimits,
} from "../../src/limits/resolved-limits.js";

const DEPLOYMENT = "proxy.resource_limits.per_namespace";

describe("resolveLimits", () => {
  void it("applies defaults when nothing is set", () => {
    const limits = resolveLimits(undefined);
    assert.equal(limits.maxRps, undefined);
    assert.equal(limits.burst, 0);
    assert.equal(limits.maxInFlight, DEFAULT_MAX_IN_FLIGHT);
    assert.equal(limits.cpuCores, undefined);
    assert.equal(limits.memoryBytes, undefined);
    assert.equal(limits.sources.max_in_flight, `the default max_in_flight of ${DEFAULT_MAX_IN_FLIGHT}`);
  });

  void it("sizes the default burst as 100 ms of traffic, at least 1", () => {
    assert.equal(defaultBurst(500), 50);
    assert.equal(defaultBurst(1000), 100);
    assert.equal(defaultBurst(15), 2);
    assert.equal(defaultBurst(3), 1);
    assert.equal(defaultBurst(0.5), 1);
  });

  void it("takes the deployment-wide limits", () => {
    const limits = resolveLimits({ cpu: 0.5, memory: 1024, max_rps: 500 });
    assert.equal(limits.maxRps, 500);
    assert.equal(limits.burst, 50);
    assert.equal(limits.cpuCores, 0.5);
    assert.equal(limits.memoryBytes, 1024);
    assert.equal(limits.sources.max_rps, `${DEPLOYMENT}.max_rps`);
    assert.match(limits.sources.burst, /^the default burst/);
  });

  void it("lets a tenant override key by key", () => {
    const limits = resolveLimits(
      { cpu: 0.5, memory: 1024, max_rps: 500, max_in_flight: 50 },
      { id: "acme", limits: { memory: 4096, max_in_flight: 10 } },
    );
    assert.equal(limits.memoryBytes, 4096);
    assert.equal(limits.maxInFlight, 10);
    assert.equal(limits.cpuCores, 0.5);
    assert.equal(limits.maxRps, 500);
    assert.equal(limits.sources.memory, 'limits.memory of tenant "acme"');
    assert.equal(limits.sources.cpu, `${DEPLOYMENT}.cpu`);
  });

  void it("sizes the burst for the tenant's own rate", () => {
    const limits = resolveLimits({ max_rps: 1000, burst: 400 }, { id: "acme", limits: { max_rps: 20 } });
    assert.equal(limits.maxRps, 20);
    assert.equal(limits.burst, 2);
  });

  void it("applies a tenant burst to the inherited rate", () => {
    const limits = resolveLimits({ max_rps: 1000, burst: 400 }, { id: "acme", limits: { burst: 0 } });
    assert.equal(limits.maxRps, 1000);
    assert.equal(limits.burst, 0);
    assert.equal(limits.sources.burst, 'limits.burst of tenant "acme"');
  });

  void it("keeps the deployment burst with the deployment rate", () => {
    const limits = resolveLimits({ max_rps: 1000, burst: 400 }, { id: "acme", limits: { cpu: 1 } });
    assert.equal(limits.burst, 400);
    assert.equal(limits.sources.burst, `${DEPLOYMENT}.burst`);
  });

  void it("ignores a burst without a rate", () => {
    const limits = resolveLimits({ burst: 40 });
    assert.equal(limits.maxRps, undefined);
    assert.equal(limits.burst, 0);
  });
});

describe("LimitsResolver", () => {
  void it("caches per tenant configuration object", () => {
    const resolver = new LimitsResolver({ max_rps: 100 });
    const tenant: TenantConfig = { id: "acme", namespaces: ["acme-*"], api_keys: [], limits: { max_in_flight: 5 } };
    const first = resolver.forTenant(tenant);
    assert.equal(resolver.forTenant(tenant), first);
    assert.equal(first.maxInFlight, 5);

    const reloaded: TenantConfig = { ...tenant, limits: { max_in_flight: 7 } };
    assert.equal(resolver.forTenant(reloaded).maxInFlight, 7);
  });
});
