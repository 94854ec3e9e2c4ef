import { after, before, describe, it } from "node:test";
import assert from "node:assert/strict";
import { randomUUID } from "node:crypto";
import { mkdtemp, rm, writeFile } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import type { Proxy } from "../../src/proxy.js";
import {
  ACME,
  GLOBEX,
  SilentServer,
  addressOf,
  closedAddress,
  connectionArgs,
  jsonOf,
  runCli,
  startDemoProxy,
} from "./cli-harness.js";

/** Returns a key that no other test run uses. */
function uniqueKey(label: string): string {
  return `cli-${label}-${randomUUID()}`;
}

void describe("prismctl kv", () => {
  let proxy: Proxy;
  let acme: string[];
  let globex: string[];

  before(async () => {
    proxy = await startDemoProxy();
    acme = connectionArgs(proxy, ACME);
    globex = connectionArgs(proxy, GLOBEX);
  });

  after(async () => {
    await proxy.close();
  });

  void it("keeps two tenants' values for one key apart", async () => {
    const key = uniqueKey("shared");

    const acmeSet = await runCli(["kv", "set", key, "hello from acme", ...acme]);
    assert.equal(acmeSet.exitCode, 0, acmeSet.stderr);
    assert.equal(acmeSet.stdout.toString(), "OK\n");
    const globexSet = await runCli(["kv", "set", key, "hello from globex", ...globex]);
    assert.equal(globexSet.exitCode, 0, globexSet.stderr);

    const acmeGet = await runCli(["kv", "get", key, ...acme]);
    assert.equal(acmeGet.exitCode, 0, acmeGet.stderr);
    // stdout is a pipe here, so no newline follows the value.
    assert.equal(acmeGet.stdout.toString(), "hello from acme");
    const globexGet = await runCli(["kv", "get", key, ...globex]);
    assert.equal(globexGet.exitCode, 0, globexGet.stderr);
    assert.equal(globexGet.stdout.toString(), "hello from globex");

    await runCli(["kv", "delete", key, ...acme]);
    await runCli(["kv", "delete", key, ...globex]);
  });

  void it("get of a missing key exits 1", async () => {
    const result = await runCli(["kv", "get", uniqueKey("missing"), ...acme]);

    assert.equal(result.exitCode, 1);
    assert.equal(result.stdout.length, 0);
    assert.match(result.stderr, /not found in namespace acme-prod/);
  });

  void it("exists exits 0 for true and 1 for false", async () => {
    const key = uniqueKey("exists");
    await runCli(["kv", "set", key, "x", ...acme]);

    const present = await runCli(["kv", "exists", key, ...acme]);
    assert.equal(present.exitCode, 0, present.stderr);
    assert.equal(present.stdout.toString(), "true\n");

    await runCli(["kv", "delete", key, ...acme]);
    const absent = await runCli(["kv", "exists", key, ...acme]);
    assert.equal(absent.exitCode, 1);
    assert.equal(absent.stdout.toString(), "false\n");
  });

  void it("delete of a missing key succeeds", async () => {
    const result = await runCli(["kv", "delete", uniqueKey("never-set"), ...acme]);

    assert.equal(result.exitCode, 0, result.stderr);
    assert.equal(result.stdout.toString(), "OK\n");
  });

  void it("stores bytes read from stdin unchanged", async () => {
    const key = uniqueKey("stdin");
    const bytes = Uint8Array.from([0, 1, 10, 13, 0xc3, 0x28, 0xff, 0x7f, 10]);

    const set = await runCli(["kv", "set", key, "-", ...acme], { stdin: bytes });
    assert.equal(set.exitCode, 0, set.stderr);

    const get = await runCli(["kv", "get", key, ...acme]);
    assert.equal(get.exitCode, 0, get.stderr);
    assert.deepEqual(new Uint8Array(get.stdout), bytes);

    await runCli(["kv", "delete", key, ...acme]);
  });

  void it("stores the contents of --value-file", async () => {
    const key = uniqueKey("file");
    const directory = await mkdtemp(join(tmpdir(), "prismctl-"));
    const path = join(directory, "value.bin");
    await writeFile(path, "from a file\n");

    try {
      const set = await runCli(["kv", "set", key, "--value-file", path, ...acme]);
      assert.equal(set.exitCode, 0, set.stderr);
      const get = await runCli(["kv", "get", key, ...acme]);
      assert.equal(get.stdout.toString(), "from a file\n");
    } finally {
      await rm(directory, { recursive: true, force: true });
      await runCli(["kv", "delete", key, ...acme]);
    }
  });

  void it("an empty value is found", async () => {
    const key = uniqueKey("empty");
    await runCli(["kv", "set", key, "", ...acme]);

    const get = await runCli(["kv", "get", key, ...acme]);
    assert.equal(get.exitCode, 0, get.stderr);
    assert.equal(get.stdout.length, 0);

    await runCli(["kv", "delete", key, ...acme]);
  });

  void it("expire, ttl and persist follow Redis conventions", async () => {
    const key = uniqueKey("ttl");
    await runCli(["kv", "set", key, "v", ...acme]);

    const noExpiry = await runCli(["kv", "ttl", key, ...acme]);
    assert.equal(noExpiry.exitCode, 0, noExpiry.stderr);
    assert.equal(noExpiry.stdout.toString(), "-1\n");

    const expire = await runCli(["kv", "expire", key, "100", ...acme]);
    assert.equal(expire.exitCode, 0, expire.stderr);
    assert.equal(expire.stdout.toString(), "OK\n");

    const remaining = await runCli(["kv", "ttl", key, "--json", ...acme]);
    const seconds = jsonOf(remaining)["ttl_seconds"];
    assert.equal(typeof seconds, "number");
    assert.ok((seconds as number) > 0, `ttl_seconds ${String(seconds)}`);
    assert.ok((seconds as number) <= 100, `ttl_seconds ${String(seconds)}`);

    const persist = await runCli(["kv", "persist", key, ...acme]);
    assert.equal(persist.exitCode, 0, persist.stderr);
    assert.equal(persist.stdout.toString(), "true\n");
    const afterPersist = await runCli(["kv", "ttl", key, ...acme]);
    assert.equal(afterPersist.stdout.toString(), "-1\n");

    const expireNow = await runCli(["kv", "expire", key, "0", ...acme]);
    assert.equal(expireNow.exitCode, 0, expireNow.stderr);
    const expired = await runCli(["kv", "ttl", key, ...acme]);
    assert.equal(expired.exitCode, 1);
    assert.equal(expired.stdout.toString(), "-2\n");
  });

  void it("expire of a missing key exits 1", async () => {
    const result = await runCli(["kv", "expire", uniqueKey("missing"), "10", "--json", ...acme]);

    assert.equal(result.exitCode, 1);
    assert.equal(jsonOf(result)["key_existed"], false);
  });

  void it("prints JSON results with --json", async () => {
    const key = uniqueKey("json");

    const set = await runCli(["kv", "set", key, "hello", "--json", ...acme]);
    assert.deepEqual(jsonOf(set), { key, success: true });

    const get = await runCli(["kv", "get", key, "--json", ...acme]);
    assert.deepEqual(jsonOf(get), { key, found: true, value: Buffer.from("hello").toString("base64") });

    const exists = await runCli(["kv", "exists", key, "--json", ...acme]);
    assert.deepEqual(jsonOf(exists), { key, exists: true });

    const remove = await runCli(["kv", "delete", key, "--json", ...acme]);
    assert.deepEqual(jsonOf(remove), { key, success: true });

    const missing = await runCli(["kv", "get", key, "--json", ...acme]);
    assert.equal(missing.exitCode, 1);
    assert.deepEqual(jsonOf(missing), { key, found: false });
  });

  void it("works over the Connect protocol", async () => {
    const key = uniqueKey("connect");

    const set = await runCli(["kv", "set", key, "over http/1.1", "--protocol", "connect", ...acme]);
    assert.equal(set.exitCode, 0, set.stderr);
    const get = await runCli(["kv", "get", key, "--protocol", "connect", ...acme]);
    assert.equal(get.exitCode, 0, get.stderr);
    assert.equal(get.stdout.toString(), "over http/1.1");
    const missing = await runCli(["kv", "get", uniqueKey("missing"), "--protocol", "connect", ...acme]);
    assert.equal(missing.exitCode, 1);

    await runCli(["kv", "delete", key, ...acme]);
  });

  void it("reads the connection from PRISM_* variables", async () => {
    const key = uniqueKey("env");
    const env = { PRISM_ADDRESS: addressOf(proxy), PRISM_NAMESPACE: ACME.namespace, PRISM_API_KEY: ACME.apiKey };

    const set = await runCli(["kv", "set", key, "from env"], { env });
    assert.equal(set.exitCode, 0, set.stderr);
    const get = await runCli(["kv", "get", key], { env });
    assert.equal(get.stdout.toString(), "from env");

    await runCli(["kv", "delete", key], { env });
  });

  void it("another tenant's namespace exits 3 with permission_denied", async () => {
    const args = ["kv", "get", "greeting", "--address", addressOf(proxy), "--namespace", GLOBEX.namespace];
    const result = await runCli([...args, "--api-key", ACME.apiKey]);

    assert.equal(result.exitCode, 3);
    assert.match(result.stderr, /^prismctl: permission_denied: principal acme-app may not use namespace "globex-prod"/);
    assert.equal(result.stdout.length, 0);
  });

  void it("a wrong API key exits 3 with unauthenticated and is never printed", async () => {
    const wrongKey = `wrong-key-${randomUUID()}`;
    const args = ["kv", "get", "greeting", "--address", addressOf(proxy), "--namespace", ACME.namespace];
    const result = await runCli([...args, "--api-key", wrongKey]);

    assert.equal(result.exitCode, 3);
    assert.match(result.stderr, /^prismctl: unauthenticated: /);
    assert.ok(!result.stderr.includes(wrongKey), "stderr shows the API key");
    assert.ok(!result.stdout.toString().includes(wrongKey), "stdout shows the API key");
  });

  void it("a missing API key exits 3 and names the option", async () => {
    const result = await runCli(["kv", "get", "greeting", "--address", addressOf(proxy), "--namespace", ACME.namespace]);

    assert.equal(result.exitCode, 3);
    assert.match(result.stderr, /unauthenticated: .*--api-key/);
  });

  void it("an unknown namespace exits 3 with not_found", async () => {
    const args = ["kv", "get", "greeting", "--address", addressOf(proxy), "--namespace", "nobody-prod"];
    const result = await runCli([...args, "--api-key", ACME.apiKey]);

    assert.equal(result.exitCode, 3);
    assert.match(result.stderr, /^prismctl: not_found: /);
  });

  void it("a rejection with --json prints an error object", async () => {
    const args = ["kv", "get", "greeting", "--json", "--address", addressOf(proxy), "--namespace", GLOBEX.namespace];
    const result = await runCli([...args, "--api-key", ACME.apiKey]);

    assert.equal(result.exitCode, 3);
    const error = jsonOf(result)["error"] as Record<string, unknown>;
    assert.equal(error["code"], "permission_denied");
    assert.match(String(error["message"]), /may not use namespace "globex-prod"/);
  });

  void it("an unreachable proxy exits 4 and names the address", async () => {
    const address = await closedAddress();

    for (const protocol of ["grpc", "connect"]) {
      const args = ["kv", "get", "greeting", "--address", address, "--namespace", ACME.namespace, "--protocol", protocol];
      const result = await runCli([...args, "--json"]);

      assert.equal(result.exitCode, 4, `${protocol}: ${result.stderr}`);
      assert.ok(result.stderr.includes(`cannot connect to the proxy at ${address}`), result.stderr);
      assert.match(result.stderr, /npm start/);
      assert.equal((jsonOf(result)["error"] as Record<string, unknown>)["code"], "unavailable");
    }
  });

  void it("a proxy that does not answer exits 3 after --timeout", async () => {
    const silent = await SilentServer.start();
    try {
      for (const protocol of ["grpc", "connect"]) {
        const args = ["kv", "get", "greeting", "--address", silent.address, "--namespace", ACME.namespace];
        const result = await runCli([...args, "--timeout", "0.3", "--protocol", protocol]);

        assert.equal(result.exitCode, 3, `${protocol}: ${result.stderr}`);
        assert.match(result.stderr, /^prismctl: deadline_exceeded: no response from .* within 0\.3 s/);
      }
    } finally {
      await silent.close();
    }
  });
});
