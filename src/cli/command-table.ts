import { AUTH_COMMANDS } from "./auth-commands.js";
import type { CommandSpec } from "./command.js";
import { runConfigValidate } from "./config-command.js";
import { KV_COMMANDS } from "./kv-commands.js";
import { booleanOption } from "./options.js";
import { publishCommand } from "./publish-command.js";
import { subscribeCommand } from "./subscribe-command.js";
import { migrateWithOptions, POSTGRES_MIGRATE_OPTIONS } from "./postgres-command.js";
import { metricsNamespace } from "./metrics-command.js";
import { argumentAt } from "./command.js";

const configValidate: CommandSpec = {
  group: "config",
  name: "validate",
  synopsis: "FILE",
  minArgs: 1,
  maxArgs: 1,
  summary: "check a configuration file without starting a proxy",
  description: `Loads FILE as prism-proxy would, with the current environment's \${VAR} references and
PRISM_* overrides, and reports every problem as FILE:LINE:COLUMN: PATH: MESSAGE. With
--json it prints the issues as a JSON array, empty when the file is valid. This command
has its own exit codes: 0 valid, 1 invalid, 2 the file cannot be read.`,
  options: {},
  connects: false,
  examples: ["prismctl config validate config/demo.yaml"],
  run: (invocation) =>
    runConfigValidate(
      argumentAt(invocation, 0),
      { json: booleanOption(invocation.values, "json") },
      { stdout: invocation.io.stdout, stderr: invocation.io.stderr },
    ),
};

const postgresMigrate: CommandSpec = {
  group: "postgres",
  name: "migrate",
  synopsis: "",
  minArgs: 0,
  maxArgs: 0,
  summary: "create or repair the PostgreSQL key-value table, its row-level security and grants",
  description: `Creates or repairs, in one transaction, the schema, the table, its expiry index,
enabled and forced row-level security, the tenant policy, the cleanup function and the
proxy role's grants. Running it again is safe. The administrator URL comes from --url or
PRISM_POSTGRES_ADMIN_URL. Exit codes: 0 ready, 2 usage error, 3 rejected by the server or
unsafe roles, 4 cannot connect, 5 prismctl failed.`,
  options: POSTGRES_MIGRATE_OPTIONS,
  connects: false,
  examples: [
    "prismctl postgres migrate --url postgres://postgres@127.0.0.1:5432/test --proxy-role prism_proxy --create-roles",
  ],
  run: (invocation) => migrateWithOptions(invocation.values, invocation.io),
};

/** Every prismctl command, in the order the help lists them. */
export const COMMANDS: readonly CommandSpec[] = [
  ...KV_COMMANDS,
  publishCommand,
  subscribeCommand,
  ...AUTH_COMMANDS,
  configValidate,
  postgresMigrate,
  metricsNamespace,
];

export const GROUPS: readonly string[] = [...new Set(COMMANDS.map((spec) => spec.group))];
