import { describe, it } from "node:test";
import assert from "node:assert/strict";
import { hashApiKey } from "../../src/auth/api-key-authenticator.js";
import { COMMANDS } from "../../src/cli/command-table.js";
import { CONNECTION_OPTIONS, OUTPUT_OPTIONS } from "../../src/cli/options.js";
import { DEMO_CONFIG, jsonOf, runCli } from "./cli-harness.js";

void describe("prismctl help", () => {
  void it("--help lists every command and common option", async () => {
    const result = await runCli(["--help"]);

    assert.equal(result.exitCode, 0, result.stderr);
    const help = result.stdout.toString();
    for (const spec of COMMANDS) {
      assert.ok(help.includes(`${spec.group} ${spec.name}`), `missing command ${spec.group} ${spec.name}`);
    }
    for (const name of Object.keys({ ...CONNECTION_OPTIONS, ...OUTPUT_OPTIONS })) {
      assert.ok(help.includes(`--${name}`), `missing option --${name}`);
    }
    assert.match(help, /Exit codes:/);
    assert.match(help, /default http:\/\/127\.0\.0\.1:8080/);
  });

  void it("every command's --help lists its options", async () => {
    for (const spec of COMMANDS) {
      const result = await runCli([spec.group, spec.name, "--help"]);
      const help = result.stdout.toString();

      assert.equal(result.exitCode, 0, `${spec.group} ${spec.name}: ${result.stderr}`);
      assert.ok(help.startsWith(`Usage: prismctl ${spec.group} ${spec.name}`), help);
      const expected = spec.connects ? { ...CONNECTION_OPTIONS, ...spec.options } : spec.options;
      for (const name of Object.keys(expected)) {
        assert.ok(help.includes(`--${name}`), `${spec.group} ${spec.name} help misses --${name}`);
      }
    }
  });

  void it("group --help lists the group's commands", async () => {
    const result = await runCli(["kv", "--help"]);

    assert.equal(result.exitCode, 0, result.stderr);
    for (const name of ["set", "get", "delete", "exists", "expire", "ttl", "persist"]) {
      assert.ok(result.stdout.toString().includes(`kv ${name}`), `missing kv ${name}`);
    }
  });

  void it("help command matches --help", async () => {
    const viaCommand = await runCli(["help", "pubsub", "subscribe"]);
    const viaOption = await runCli(["pubsub", "subscribe", "--help"]);

    assert.equal(viaCommand.exitCode, 0);
    assert.equal(viaCommand.stdout.toString(), viaOption.stdout.toString());
  });

  void it("no arguments prints help to stderr and exits 2", async () => {
    const result = await runCli([]);

    assert.equal(result.exitCode, 2);
    assert.equal(result.stdout.length, 0);
    assert.match(result.stderr, /^Usage: prismctl/);
  });
});

void describe("prismctl usage errors", () => {
  const cases: { name: string; args: string[]; message: RegExp }[] = [
    { name: "missing argument", args: ["kv", "get"], message: /missing arguments; usage: prismctl kv get KEY/ },
    { name: "extra argument", args: ["kv", "get", "a", "b"], message: /too many arguments/ },
    { name: "unknown option", args: ["kv", "get", "a", "--colour"], message: /Unknown option '--colour'/ },
    { name: "option of another command", args: ["kv", "get", "a", "--meta", "k=v"], message: /--meta does not apply to "kv get"/ },
    { name: "unknown group", args: ["queue", "send"], message: /unknown command "queue"/ },
    { name: "unknown command", args: ["kv", "scan"], message: /unknown command "kv scan"/ },
    { name: "missing namespace", args: ["kv", "get", "a"], message: /missing namespace; pass --namespace NS or set PRISM_NAMESPACE/ },
    { name: "invalid namespace", args: ["kv", "get", "a", "--namespace", "Acme"], message: /namespace "Acme" is not valid/ },
    { name: "invalid timeout", args: ["kv", "get", "a", "--namespace", "acme-prod", "--timeout", "soon"], message: /--timeout "soon"/ },
    { name: "invalid protocol", args: ["kv", "get", "a", "--namespace", "acme-prod", "--protocol", "grpc-web"], message: /--protocol "grpc-web"/ },
    { name: "invalid address", args: ["kv", "get", "a", "--namespace", "acme-prod", "--address", "ftp://host"], message: /http:\/\/ or https:\/\// },
    { name: "negative TTL", args: ["kv", "expire", "a", "--namespace", "acme-prod", "--", "-1"], message: /SECONDS "-1" is not valid/ },
    { name: "value and file", args: ["kv", "set", "a", "v", "--value-file", "f", "--namespace", "acme-prod"], message: /either VALUE or --value-file/ },
    { name: "missing value", args: ["kv", "set", "a", "--namespace", "acme-prod"], message: /missing VALUE/ },
    { name: "unreadable file", args: ["kv", "set", "a", "--value-file", "/nonexistent/prismctl", "--namespace", "acme-prod"], message: /cannot read --value-file/ },
    { name: "zero count", args: ["pubsub", "subscribe", "t", "--count", "0", "--namespace", "acme-prod"], message: /--count "0" is not valid/ },
  ];

  for (const { name, args, message } of cases) {
    void it(`${name} exits 2`, async () => {
      const result = await runCli(args);

      assert.equal(result.exitCode, 2, result.stderr);
      assert.match(result.stderr, message);
      assert.match(result.stderr, /--help" for usage/);
    });
  }

  void it("usage error with --json prints an error object", async () => {
    const result = await runCli(["kv", "get", "--json"]);

    assert.equal(result.exitCode, 2);
    const error = jsonOf(result)["error"] as Record<string, unknown>;
    assert.equal(error["code"], "invalid_argument");
    assert.match(String(error["message"]), /missing arguments/);
  });
});

void describe("prismctl auth", () => {
  void it("new-key prints a key and its matching hash", async () => {
    const result = await runCli(["auth", "new-key", "--name", "acme-ci", "--json"]);

    assert.equal(result.exitCode, 0, result.stderr);
    const output = jsonOf(result);
    assert.match(String(output["api_key"]), /^prism_[A-Za-z0-9_-]{43}$/);
    assert.equal(output["hash"], hashApiKey(String(output["api_key"])));
    assert.equal(output["name"], "acme-ci");
  });

  void it("new-key text output contains a configuration entry", async () => {
    const result = await runCli(["auth", "new-key", "--name", "acme-ci"]);
    const text = result.stdout.toString();

    assert.equal(result.exitCode, 0, result.stderr);
    const key = /^API key: (\S+)$/m.exec(text)?.[1];
    assert.ok(key !== undefined, text);
    assert.ok(text.includes(`  - name: acme-ci\n    hash: "${hashApiKey(key)}"\n`), text);
  });

  void it("new-key makes a different key each time", async () => {
    const first = jsonOf(await runCli(["auth", "new-key", "--json"]));
    const second = jsonOf(await runCli(["auth", "new-key", "--json"]));

    assert.notEqual(first["api_key"], second["api_key"]);
  });

  void it("new-key rejects an invalid principal name", async () => {
    const result = await runCli(["auth", "new-key", "--name", "has space"]);

    assert.equal(result.exitCode, 2);
    assert.match(result.stderr, /--name: invalid API key name/);
  });

  void it("hash-key hashes the demo key like the demo configuration", async () => {
    const result = await runCli(["auth", "hash-key"], { stdin: "acme-demo-key\n" });

    assert.equal(result.exitCode, 0, result.stderr);
    // The hash of acme-demo-key as config/demo.yaml stores it.
    assert.equal(result.stdout.toString(), "sha256:8676d15d94dabdd1283e6c407e2bb08a7b5c13b4e3667d4795c17172e080a3d4\n");
  });

  void it("hash-key rejects empty stdin", async () => {
    const result = await runCli(["auth", "hash-key"], { stdin: "" });

    assert.equal(result.exitCode, 2);
    assert.match(result.stderr, /no API key on stdin/);
  });
});

void describe("prismctl config", () => {
  void it("validate accepts the demo configuration", async () => {
    const result = await runCli(["config", "validate", DEMO_CONFIG]);

    assert.equal(result.exitCode, 0, result.stderr);
    assert.match(result.stdout.toString(), /valid/);
  });

  void it("validate --json prints an empty issue list for a valid file", async () => {
    const result = await runCli(["config", "validate", DEMO_CONFIG, "--json"]);

    assert.equal(result.exitCode, 0, result.stderr);
    assert.deepEqual(JSON.parse(result.stdout.toString()), []);
  });
});
