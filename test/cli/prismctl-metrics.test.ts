import { after, before, describe, it } from "node:test";
import assert from "node:assert/strict";
import type { Proxy } from "../../src/proxy.js";
import { ACME, closedAddress, connectionArgs, jsonOf, runCli, startDemoProxy } from "./cli-harness.js";

describe("prismctl metrics namespace", () => {
  let proxy: Proxy;

  before(async () => {
    proxy = await startDemoProxy();
  });

  after(async () => {
    await proxy.close();
  });

  it("prints the namespace's use of its limits", async () => {
    for (let index = 0; index < 3; index++) {
      const set = await runCli(["kv", "set", "metered", "v", ...connectionArgs(proxy, ACME)]);
      assert.equal(set.exitCode, 0, set.stderr);
    }

    const result = await runCli(["metrics", "namespace", "acme-prod", "--admin-address", `http://${proxy.adminAddress}`]);
    assert.equal(result.exitCode, 0, result.stderr);
    const text = result.stdout.toString();
    assert.match(text, /^Tenant: acme \(isolation namespace\)$/m);
    // The rate covers only the last second, and each CLI call is a process of its own.
    assert.match(text, /^RPS: \d+ \(no limit\)$/m);
    assert.match(text, /^In flight: 0\/1000$/m);
    assert.match(text, /^Memory: /m);
  });

  it("prints JSON with --json", async () => {
    const result = await runCli(["metrics", "namespace", "globex-prod", "--json", "--admin-address", `http://${proxy.adminAddress}`]);
    assert.equal(result.exitCode, 0, result.stderr);
    const report = jsonOf(result);
    assert.equal(report["tenant"], "globex");
    assert.equal(report["isolation_level"], "namespace");
    assert.equal(typeof report["usage"], "object");
  });

  it("exits 1 for a namespace no tenant owns", async () => {
    const result = await runCli(["metrics", "namespace", "nobody-prod", "--admin-address", `http://${proxy.adminAddress}`]);
    assert.equal(result.exitCode, 1);
    assert.match(result.stderr.toString(), /namespace "nobody-prod" is not configured/);
  });

  it("exits 4 when the admin listener is unreachable", async () => {
    const address = await closedAddress();
    const result = await runCli(["metrics", "namespace", "acme-prod", "--admin-address", address]);
    assert.equal(result.exitCode, 4);
    assert.match(result.stderr.toString(), /cannot reach the admin listener/);
  });
});
