/** Schemas of the backends and interfaces sections, including each backend's isolation. */

import * as z from "zod";

import {
  DEFAULT_ENABLE_RLS,
  DEFAULT_KAFKA_TOPIC_FORMAT,
  DEFAULT_MEMORY_KEY_FORMAT,
  DEFAULT_NATS_SUBJECT_FORMAT,
  DEFAULT_REDIS_KEY_FORMAT,
  DEFAULT_RLS_TENANT_COLUMN,
} from "./defaults.js";
import { validatePrefixFormat, type PrefixBackend } from "./isolation-format.js";
import { describeValue } from "./issue-messages.js";
import type { BackendIsolation, BackendKind, DataInterface, PrefixIsolation } from "./model.js";
import { validateEndpoint, validateSqlIdentifier } from "./names.js";
import { checkedString, durationMs, positiveInteger, strictObject, trimmedString } from "./schema-helpers.js";

/** Backends that can serve each data interface. */
export const INTERFACE_BACKENDS = {
  keyvalue: ["memory", "redis", "postgres"],
  pubsub: ["memory", "redis", "nats", "kafka"],
} as const satisfies Record<DataInterface, readonly BackendKind[]>;

export const SSL_MODES = ["disable", "prefer", "require", "verify-ca", "verify-full"] as const;

const physicalIsolation = strictObject({ type: z.literal("physical") });

function prefixIsolation<Type extends PrefixIsolation["type"]>(backend: PrefixBackend, type: Type, defaultFormat: string) {
  return strictObject({
    type: z.literal(type),
    format: checkedString((format) => validatePrefixFormat(format, backend)).default(defaultFormat),
  });
}

const rowLevelSecurityIsolation = strictObject({
  type: z.literal("row_level_security"),
  enable_rls: z.boolean().default(DEFAULT_ENABLE_RLS),
  tenant_column: checkedString(validateSqlIdentifier).default(DEFAULT_RLS_TENANT_COLUMN),
});

/**
 * Builds the schema of an isolation setting: the string "physical" (where the backend
 * allows it) or a mapping whose `type` is one of `options`. Each caller adds the default.
 */
function isolationSchema<Options extends readonly [z.core.$ZodTypeDiscriminable, ...z.core.$ZodTypeDiscriminable[]]>(
  backend: BackendKind,
  allowedTypes: readonly BackendIsolation["type"][],
  options: Options,
) {
  const allowed = allowedTypes.join(", ");

  const union = z.discriminatedUnion("type", options, {
    error: (issue) => {
      if (issue.code === "invalid_union") {
        const type = isRecord(issue.input) ? issue.input["type"] : undefined;
        if (type === undefined) {
          return `required key "type" is missing. Allowed types for the ${backend} backend: ${allowed}`;
        }
        return `isolation type ${JSON.stringify(type)} does not fit the ${backend} backend. Allowed types: ${allowed}`;
      }
      if (issue.code === "invalid_type" && issue.input !== undefined) {
        const shorthand = allowedTypes.includes("physical") ? '"physical" or ' : "";
        return `expected ${shorthand}a mapping with a type key (${allowed}), got ${describeValue(issue.input)}`;
      }
      return undefined;
    },
  });

  return z.preprocess((value) => (value === "physical" ? { type: "physical" } : value), union);
}

const redisIsolation = isolationSchema(
  "redis",
  ["keyspace_prefix", "physical"],
  [prefixIsolation("redis", "keyspace_prefix", DEFAULT_REDIS_KEY_FORMAT), physicalIsolation],
).default(() => ({ type: "keyspace_prefix" as const, format: DEFAULT_REDIS_KEY_FORMAT }));

const natsIsolation = isolationSchema(
  "nats",
  ["subject_hierarchy", "physical"],
  [prefixIsolation("nats", "subject_hierarchy", DEFAULT_NATS_SUBJECT_FORMAT), physicalIsolation],
).default(() => ({ type: "subject_hierarchy" as const, format: DEFAULT_NATS_SUBJECT_FORMAT }));

const postgresIsolation = isolationSchema(
  "postgres",
  ["row_level_security", "physical"],
  [rowLevelSecurityIsolation, physicalIsolation],
).default(() => ({ type: "row_level_security" as const, enable_rls: DEFAULT_ENABLE_RLS, tenant_column: DEFAULT_RLS_TENANT_COLUMN }));

const kafkaIsolation = isolationSchema(
  "kafka",
  ["topic_prefix", "physical"],
  [prefixIsolation("kafka", "topic_prefix", DEFAULT_KAFKA_TOPIC_FORMAT), physicalIsolation],
).default(() => ({ type: "topic_prefix" as const, format: DEFAULT_KAFKA_TOPIC_FORMAT }));

/** The embedded store has no physical form, because every tenant lives in one process. */
const memoryIsolation = isolationSchema(
  "memory",
  ["keyspace_prefix"],
  [prefixIsolation("memory", "keyspace_prefix", DEFAULT_MEMORY_KEY_FORMAT)],
).default(() => ({ type: "keyspace_prefix" as const, format: DEFAULT_MEMORY_KEY_FORMAT }));

// The loader has already rejected literals, so this message only covers non-strings.
const secretReference = () => z.string({ error: "must be a ${VAR} reference to an environment variable" });

function backendSchema<Isolation extends z.ZodType, Extra extends z.core.$ZodLooseShape>(isolation: Isolation, extra: Extra) {
  return strictObject({
    endpoint: checkedString(validateEndpoint),
    isolation,
    database: trimmedString().optional(),
    username: trimmedString().optional(),
    password: secretReference().optional(),
    ssl_mode: z.enum(SSL_MODES).optional(),
    client_cert_auth: z.boolean().optional(),
    ...extra,
  });
}

const reconnectSchema = strictObject({
  initial_delay: durationMs().optional(),
  max_delay: durationMs().optional(),
});

/** Settings of the Redis driver; each default is named in src/backends/redis/redis-options.ts. */
const redisSettings = {
  command_timeout: durationMs().optional(),
  connect_timeout: durationMs().optional(),
  reconnect: reconnectSchema.optional(),
  tenant_acl: strictObject({
    enabled: z.boolean().default(false),
    secret: secretReference().optional(),
    previous_secrets: z.array(secretReference()).optional(),
    user_prefix: trimmedString().optional(),
    manage_users: z.boolean().optional(),
  }).optional(),
};

/** Settings of the NATS driver; each default is named in src/backends/nats/nats-options.ts. */
const natsSettings = {
  operation_timeout: durationMs().optional(),
  connect_timeout: durationMs().optional(),
  max_subject_bytes: positiveInteger().optional(),
  reconnect: reconnectSchema.optional(),
  tenant_credentials: strictObject({
    enabled: z.boolean().default(false),
    secret: secretReference().optional(),
    user_prefix: trimmedString().optional(),
  }).optional(),
};

/** Settings of the PostgreSQL driver; each default is named in src/backends/postgres/postgres-options.ts. */
const postgresSettings = {
  schema: checkedString(validateSqlIdentifier).optional(),
  table: checkedString(validateSqlIdentifier).optional(),
  statement_timeout: durationMs().optional(),
  query_timeout: durationMs().optional(),
  connect_timeout: durationMs().optional(),
  cleanup_interval: durationMs().optional(),
};

export const backendsSchema = strictObject({
  memory: strictObject({ isolation: memoryIsolation }).prefault({}),
  redis: backendSchema(redisIsolation, redisSettings).optional(),
  nats: backendSchema(natsIsolation, natsSettings).optional(),
  postgres: backendSchema(postgresIsolation, postgresSettings).optional(),
  kafka: backendSchema(kafkaIsolation, {}).optional(),
});

function interfaceBinding(dataInterface: DataInterface) {
  const backends = INTERFACE_BACKENDS[dataInterface];
  const allowed = backends.join(", ");

  return strictObject({
    backend: z.enum(backends, {
      error: (issue) => {
        if (issue.code !== "invalid_value") {
          return undefined;
        }
        const quotedInput = typeof issue.input === "string" ? JSON.stringify(issue.input) : describeValue(issue.input);
        return `backend ${quotedInput} cannot serve ${dataInterface}. Allowed backends: ${allowed}`;
      },
    }),
  });
}

export const interfacesSchema = strictObject({
  keyvalue: interfaceBinding("keyvalue").optional(),
  pubsub: interfaceBinding("pubsub").optional(),
});

function isRecord(value: unknown): value is Record<string, unknown> {
  return typeof value === "object" && value !== null && !Array.isArray(value);
}
