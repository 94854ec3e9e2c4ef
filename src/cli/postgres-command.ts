/**
 * `prismctl postgres migrate`: creates or repairs the PostgreSQL key-value table, its
 * row-level security and the grants of the proxy role, as an administrator.
 */

import { parseArgs } from "node:util";

import { failureKind, sqlState } from "../backends/postgres/postgres-errors.js";
import { MigrationError, migratePostgres, type MigrationReport } from "../backends/postgres/postgres-migration.js";
import { DEFAULT_SCHEMA, DEFAULT_TABLE, DEFAULT_TENANT_COLUMN } from "../backends/postgres/postgres-options.js";
import { Output, type CliIo } from "./cli-io.js";
import { ExitCode } from "./exit-codes.js";
import { reportFailure, type Failure } from "./failure.js";
import { booleanOption, stringOption, toParseArgsOptions, type OptionTable, type OptionValues } from "./options.js";
import { UsageError } from "./usage-error.js";

/** Environment variable with the administrator's postgres:// URL, so a password stays off the command line. */
export const ADMIN_URL_ENV = "PRISM_POSTGRES_ADMIN_URL";

const HELP_TOPIC = "postgres migrate";

export const POSTGRES_MIGRATE_USAGE =
  "prismctl postgres migrate --proxy-role ROLE [--url URL] [--schema NAME] [--table NAME] [--tenant-column NAME] " +
  "[--owner-role ROLE] [--create-roles] [--proxy-password-env VAR] [--json]";

/** Options of `prismctl postgres migrate` besides --json and --help. */
export const POSTGRES_MIGRATE_OPTIONS: OptionTable = {
  url: {
    type: "string",
    valueName: "URL",
    help: `postgres:// URL of an administrator or of the owner role (env ${ADMIN_URL_ENV}, which ps cannot show; required)`,
  },
  "proxy-role": {
    type: "string",
    valueName: "ROLE",
    help: "role the proxy connects as; it gets SELECT, INSERT, UPDATE and DELETE and must not own the table (required)",
  },
  "owner-role": {
    type: "string",
    valueName: "ROLE",
    help: "role that owns the schema, table and cleanup function (default: the role of --url)",
  },
  schema: { type: "string", valueName: "NAME", help: `schema of the table (default ${DEFAULT_SCHEMA})` },
  table: { type: "string", valueName: "NAME", help: `table name, at most 48 characters (default ${DEFAULT_TABLE})` },
  "tenant-column": {
    type: "string",
    valueName: "NAME",
    help: `column holding the tenant id; must match backends.postgres.isolation.tenant_column (default ${DEFAULT_TENANT_COLUMN})`,
  },
  "create-roles": {
    type: "boolean",
    help: "create the proxy role (LOGIN) and the owner role (NOLOGIN) when they do not exist",
  },
  "proxy-password-env": {
    type: "string",
    valueName: "VAR",
    help: "environment variable holding the password of a proxy role that --create-roles creates",
  },
};

const OPTIONS: OptionTable = {
  ...POSTGRES_MIGRATE_OPTIONS,
  json: { type: "boolean", help: "write the result as one JSON object on stdout" },
  help: { type: "boolean", short: "h", help: "print this help and exit" },
};

/** Renders `prismctl postgres migrate --help`. */
export function postgresMigrateHelp(): string {
  const lines = Object.entries(OPTIONS).map(([name, spec]) => {
    const flag = `  ${spec.short === undefined ? "    " : `-${spec.short}, `}--${name}${spec.valueName === undefined ? "" : ` ${spec.valueName}`}`;
    return `${flag.padEnd(30)}${spec.help}`;
  });
  return `Usage: ${POSTGRES_MIGRATE_USAGE}

Creates or repairs the key-value table of the PostgreSQL backend in one transaction:
the schema, the table, its expiry index, enabled and forced row-level security, the
tenant policy, the cleanup function (SECURITY DEFINER, owned by the owner role) and the
proxy role's grants. Running it again is safe and restores settings changed since.

Options:
${lines.join("\n")}

Exit codes:
  0  the table is ready
  2  usage error: invalid or missing options; nothing was changed
  3  the server rejected the migration, or the roles are unsafe; nothing was changed
  4  cannot connect to the server
  5  prismctl itself failed
`;
}

/**
 * Runs `prismctl postgres migrate` with the arguments after "postgres migrate".
 * Returns the exit code.
 */
export async function runPostgresMigrate(argv: readonly string[], io: CliIo): Promise<number> {
  let values: OptionValues;
  try {
    values = parseArgs({ args: [...argv], options: toParseArgsOptions(OPTIONS), strict: true, allowPositionals: false }).values;
  } catch (error) {
    const message = error instanceof Error ? error.message : String(error);
    return reportFailure(usageFailure(new UsageError(message, HELP_TOPIC)), new Output(io, argv.includes("--json")));
  }

  if (booleanOption(values, "help")) {
    io.stdout.write(postgresMigrateHelp());
    return ExitCode.Success;
  }
  return migrateWithOptions(values, io);
}

/** Runs the migration with options already parsed, as the prismctl dispatcher does. Returns the exit code. */
export async function migrateWithOptions(values: OptionValues, io: CliIo): Promise<number> {
  const output = new Output(io, booleanOption(values, "json"));
  let report: MigrationReport;
  try {
    const { url, options } = migrationArguments(values, io.env);
    report = await migratePostgres(url, options);
  } catch (error) {
    return reportFailure(describeMigrationFailure(error), output);
  }

  const created = report.createdRoles.length === 0 ? "" : `; created roles ${report.createdRoles.join(", ")}`;
  const table = report.tableCreated ? "created" : "updated";
  output.result(
    `${table} ${report.schema}.${report.table} (tenant column ${report.tenantColumn}): owner ${report.ownerRole}, proxy role ${report.proxyRole}${created}`,
    { ...report },
  );
  return ExitCode.Success;
}

function migrationArguments(
  values: OptionValues,
  env: NodeJS.ProcessEnv,
): { url: string; options: Parameters<typeof migratePostgres>[1] } {
  const url = stringOption(values, "url") ?? env[ADMIN_URL_ENV];
  if (url === undefined || url === "") {
    throw new UsageError(`missing the administrator's URL; pass --url postgres://… or set ${ADMIN_URL_ENV}`, HELP_TOPIC);
  }
  const proxyRole = stringOption(values, "proxy-role");
  if (proxyRole === undefined) {
    throw new UsageError("missing --proxy-role ROLE, the role the proxy connects as", HELP_TOPIC);
  }

  const createRoles = booleanOption(values, "create-roles");
  const passwordVariable = stringOption(values, "proxy-password-env");
  let proxyPassword: string | undefined;
  if (passwordVariable !== undefined) {
    proxyPassword = env[passwordVariable];
    if (proxyPassword === undefined || proxyPassword === "") {
      throw new UsageError(`environment variable ${passwordVariable} (--proxy-password-env) is not set`, HELP_TOPIC);
    }
  }

  return {
    url,
    options: {
      proxyRole,
      ownerRole: stringOption(values, "owner-role"),
      schema: stringOption(values, "schema"),
      table: stringOption(values, "table"),
      tenantColumn: stringOption(values, "tenant-column"),
      createProxyRole: createRoles,
      createOwnerRole: createRoles,
      proxyPassword,
    },
  };
}

/** Classifies a failed migration into an exit code and a message; never repeats the URL, which may hold a password. */
function describeMigrationFailure(error: unknown): Failure {
  if (error instanceof UsageError) {
    return usageFailure(error);
  }
  if (error instanceof TypeError) {
    // Invalid names and endpoints are rejected before anything is sent.
    return { exitCode: ExitCode.Usage, code: "invalid_argument", message: error.message, helpTopic: HELP_TOPIC };
  }
  if (error instanceof MigrationError) {
    return { exitCode: ExitCode.Rejected, code: "failed_precondition", message: error.message };
  }

  const message = error instanceof Error ? error.message : String(error);
  const state = sqlState(error);
  if (failureKind(error) === "connection") {
    const detail = state === undefined ? message : `${message} (SQLSTATE ${state})`;
    return { exitCode: ExitCode.Unreachable, code: "unavailable", message: `cannot connect to PostgreSQL: ${detail}` };
  }
  if (state !== undefined) {
    return {
      exitCode: ExitCode.Rejected,
      code: state === "42501" ? "permission_denied" : "failed_precondition",
      message: `PostgreSQL rejected the migration, which changed nothing: ${message} (SQLSTATE ${state})`,
    };
  }
  return { exitCode: ExitCode.Internal, code: "internal", message: `prismctl failed: ${message}` };
}

function usageFailure(error: UsageError): Failure {
  return { exitCode: ExitCode.Usage, code: "invalid_argument", message: error.message, helpTopic: error.helpTopic };
}
