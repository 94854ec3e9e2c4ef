import { generateApiKey, hashApiKey } from "../auth/api-key-authenticator.js";
import { validateApiKeyName } from "../config/names.js";
import type { CommandSpec } from "./command.js";
import { ExitCode } from "./exit-codes.js";
import { stringOption } from "./options.js";
import { UsageError } from "./usage-error.js";
import { readStdin } from "./value-input.js";

/** Principal name in the printed configuration entry when --name is absent. */
export const DEFAULT_KEY_NAME = "new-client";

const newKey: CommandSpec = {
  group: "auth",
  name: "new-key",
  synopsis: "",
  minArgs: 0,
  maxArgs: 0,
  summary: "create a random API key and print it with its hash",
  description: `Creates a random API key (32 random bytes, base64url, prefixed "prism_") and prints
it with its SHA-256 hash and an entry ready to paste under a tenant's api_keys in the
configuration. The proxy stores only the hash, so give the key to the client now:
prismctl keeps no copy. With --json it prints {"name", "api_key", "hash"}.`,
  options: {
    name: {
      type: "string",
      valueName: "NAME",
      help: `principal name for the configuration entry, shown in logs and audit records (default ${DEFAULT_KEY_NAME})`,
    },
  },
  connects: false,
  examples: ["prismctl auth new-key --name acme-ci", "prismctl auth new-key --json | jq -r .api_key"],
  run: (invocation) => {
    const name = stringOption(invocation.values, "name") ?? DEFAULT_KEY_NAME;
    const invalidName = validateApiKeyName(name);
    if (invalidName !== undefined) {
      throw new UsageError(`--name: ${invalidName}`, invocation.helpTopic);
    }

    const apiKey = generateApiKey();
    const hash = hashApiKey(apiKey);
    if (invocation.output.json) {
      invocation.output.writeJson({ name, api_key: apiKey, hash });
    } else {
      invocation.io.stdout.write(
        `API key: ${apiKey}\nhash:    ${hash}\n\nEntry for the tenant's api_keys:\n  - name: ${name}\n    hash: "${hash}"\n`,
      );
    }
    return Promise.resolve(ExitCode.Success);
  },
};

const hashKey: CommandSpec = {
  group: "auth",
  name: "hash-key",
  synopsis: "",
  minArgs: 0,
  maxArgs: 0,
  summary: "print the hash of an API key read from stdin",
  description: `Reads one API key from stdin and prints its "sha256:" hash, the form a tenant's api_keys
entry stores. Whitespace around the key, such as the newline echo adds, is ignored.
With --json it prints {"hash"}.`,
  options: {},
  connects: false,
  examples: ['printf %s "$PRISM_API_KEY" | prismctl auth hash-key'],
  run: async (invocation) => {
    if (invocation.io.stdin.isTTY === true) {
      invocation.output.note("paste the API key, then press Enter and Ctrl-D");
    }

    const apiKey = (await readStdin(invocation.io)).toString("utf8").trim();
    if (apiKey === "") {
      throw new UsageError("no API key on stdin; pipe the key in, for example: printf %s \"$KEY\" | prismctl auth hash-key", invocation.helpTopic);
    }
    if (/\s/.test(apiKey)) {
      throw new UsageError("the API key on stdin contains whitespace; pipe in only the key", invocation.helpTopic);
    }

    const hash = hashApiKey(apiKey);
    invocation.output.result(hash, { hash });
    return ExitCode.Success;
  },
};

export const AUTH_COMMANDS: readonly CommandSpec[] = [newKey, hashKey];
