import { argumentAt, type CommandSpec, type Invocation } from "./command.js";
import { ExitCode } from "./exit-codes.js";
import { stringOption } from "./options.js";
import { withPrismClient } from "./prism-client.js";
import { UsageError } from "./usage-error.js";
import { readValue } from "./value-input.js";

/** Reports a missing key on stderr in text mode; with --json the result object contains found: false instead. */
function noteMissingKey(invocation: Invocation, key: string, namespace: string): void {
  if (!invocation.output.json) {
    invocation.output.note(`key ${JSON.stringify(key)} not found in namespace ${namespace}`);
  }
}

function parseTtlSeconds(text: string, helpTopic: string): bigint {
  if (!/^\d{1,15}$/.test(text)) {
    throw new UsageError(`SECONDS "${text}" is not valid; use a whole number of seconds, 0 or more`, helpTopic);
  }
  return BigInt(text);
}

const set: CommandSpec = {
  group: "kv",
  name: "set",
  synopsis: "KEY [VALUE|-]",
  minArgs: 1,
  maxArgs: 2,
  summary: "store a value under a key",
  description: `Stores VALUE under KEY in the namespace, replacing any value and any TTL the key had.
VALUE is taken as UTF-8 text; "-" reads the bytes from stdin, and --value-file reads them
from a file. Prints OK.`,
  options: {
    "value-file": { type: "string", valueName: "PATH", help: "read the value's bytes from this file instead of VALUE" },
  },
  connects: true,
  examples: [
    'prismctl kv set greeting "hello from acme" --namespace acme-prod',
    "gzip -c report.csv | prismctl kv set report.csv.gz - --namespace acme-prod",
    "prismctl kv set logo --value-file logo.png --namespace acme-prod",
  ],
  run: async (invocation) => {
    const key = argumentAt(invocation, 0);
    const value = await readValue(
      {
        argument: invocation.args[1],
        file: stringOption(invocation.values, "value-file"),
        argumentName: "VALUE",
        fileOption: "--value-file",
        helpTopic: invocation.helpTopic,
      },
      invocation.io,
    );

    return withPrismClient(invocation, async (client) => {
      await client.keyValue.set({ key, value }, client.unaryOptions);
      invocation.output.result("OK", { key, success: true });
      return ExitCode.Success;
    });
  },
};

const get: CommandSpec = {
  group: "kv",
  name: "get",
  synopsis: "KEY",
  minArgs: 1,
  maxArgs: 1,
  summary: "write a key's value to stdout; exit 1 when not found",
  description: `Writes the value of KEY to stdout as raw bytes, followed by a newline only when stdout
is a terminal. Exits 0 when the key exists and 1 when it does not, so scripts can branch.
With --json it prints {"key", "found", "value"} with the value in base64.`,
  options: {},
  connects: true,
  examples: [
    "prismctl kv get greeting --namespace acme-prod",
    "prismctl kv get logo --namespace acme-prod > logo.png",
    'if prismctl kv get lock --namespace acme-prod > /dev/null; then echo "locked"; fi',
  ],
  run: (invocation) =>
    withPrismClient(invocation, async (client, settings) => {
      const key = argumentAt(invocation, 0);
      const response = await client.keyValue.get({ key }, client.unaryOptions);

      if (!response.found) {
        if (invocation.output.json) {
          invocation.output.writeJson({ key, found: false });
        }
        noteMissingKey(invocation, key, settings.namespace);
        return ExitCode.NotFound;
      }

      if (invocation.output.json) {
        invocation.output.writeJson({ key, found: true, value: Buffer.from(response.value).toString("base64") });
      } else {
        invocation.io.stdout.write(response.value);
        if (invocation.io.stdout.isTTY === true) {
          invocation.io.stdout.write("\n");
        }
      }
      return ExitCode.Success;
    }),
};

const remove: CommandSpec = {
  group: "kv",
  name: "delete",
  synopsis: "KEY",
  minArgs: 1,
  maxArgs: 1,
  summary: "delete a key; deleting a missing key succeeds",
  description: "Deletes KEY and prints OK. Deleting a key that does not exist also succeeds, so retries are safe.",
  options: {},
  connects: true,
  examples: ["prismctl kv delete greeting --namespace acme-prod"],
  run: (invocation) =>
    withPrismClient(invocation, async (client) => {
      const key = argumentAt(invocation, 0);
      await client.keyValue.delete({ key }, client.unaryOptions);
      invocation.output.result("OK", { key, success: true });
      return ExitCode.Success;
    }),
};

const exists: CommandSpec = {
  group: "kv",
  name: "exists",
  synopsis: "KEY",
  minArgs: 1,
  maxArgs: 1,
  summary: "print true or false; exit 1 when false",
  description: "Prints true and exits 0 when KEY exists, prints false and exits 1 when it does not.",
  options: {},
  connects: true,
  examples: ["prismctl kv exists greeting --namespace acme-prod"],
  run: (invocation) =>
    withPrismClient(invocation, async (client) => {
      const key = argumentAt(invocation, 0);
      const response = await client.keyValue.exists({ key }, client.unaryOptions);
      invocation.output.result(String(response.exists), { key, exists: response.exists });
      return response.exists ? ExitCode.Success : ExitCode.NotFound;
    }),
};

const expire: CommandSpec = {
  group: "kv",
  name: "expire",
  synopsis: "KEY SECONDS",
  minArgs: 2,
  maxArgs: 2,
  summary: "delete a key after SECONDS; 0 deletes it now",
  description: `Sets the time to live of KEY to SECONDS, a whole number; 0 expires the key at once.
Prints OK when the key existed. When it did not, nothing changes and the command exits 1.
Storing a new value with kv set clears the TTL.`,
  options: {},
  connects: true,
  examples: ["prismctl kv expire session.42 3600 --namespace acme-prod"],
  run: (invocation) =>
    withPrismClient(invocation, async (client, settings) => {
      const key = argumentAt(invocation, 0);
      const ttlSeconds = parseTtlSeconds(argumentAt(invocation, 1), invocation.helpTopic);
      const response = await client.keyValueTtl.expire({ key, ttlSeconds }, client.unaryOptions);

      if (invocation.output.json) {
        invocation.output.writeJson({ key, ttl_seconds: Number(ttlSeconds), key_existed: response.keyExisted });
      } else if (response.keyExisted) {
        invocation.io.stdout.write("OK\n");
      }

      if (!response.keyExisted) {
        noteMissingKey(invocation, key, settings.namespace);
        return ExitCode.NotFound;
      }
      return ExitCode.Success;
    }),
};

const ttl: CommandSpec = {
  group: "kv",
  name: "ttl",
  synopsis: "KEY",
  minArgs: 1,
  maxArgs: 1,
  summary: "print a key's remaining time to live in seconds",
  description: `Prints the remaining time to live of KEY in whole seconds, -1 when the key has no
expiry, and -2 when the key does not exist (the Redis convention). Exits 1 for -2.`,
  options: {},
  connects: true,
  examples: ["prismctl kv ttl session.42 --namespace acme-prod"],
  run: (invocation) =>
    withPrismClient(invocation, async (client) => {
      const key = argumentAt(invocation, 0);
      const response = await client.keyValueTtl.getTTL({ key }, client.unaryOptions);
      invocation.output.result(String(response.ttlSeconds), { key, ttl_seconds: Number(response.ttlSeconds) });
      return response.ttlSeconds === -2n ? ExitCode.NotFound : ExitCode.Success;
    }),
};

const persist: CommandSpec = {
  group: "kv",
  name: "persist",
  synopsis: "KEY",
  minArgs: 1,
  maxArgs: 1,
  summary: "remove a key's time to live",
  description: `Removes the time to live of KEY so it no longer expires. Prints true when a TTL was
removed, and false when the key had none or does not exist; both exit 0.`,
  options: {},
  connects: true,
  examples: ["prismctl kv persist session.42 --namespace acme-prod"],
  run: (invocation) =>
    withPrismClient(invocation, async (client) => {
      const key = argumentAt(invocation, 0);
      const response = await client.keyValueTtl.persist({ key }, client.unaryOptions);
      invocation.output.result(String(response.expirationRemoved), { key, expiration_removed: response.expirationRemoved });
      return ExitCode.Success;
    }),
};

export const KV_COMMANDS: readonly CommandSpec[] = [set, get, remove, exists, expire, ttl, persist];
