// The shared services of the development machine that the real-backend scenarios use.
// Each scenario works only on names of its own (see bench-tenant.ts) and removes what
// it created, so these servers are left as the scenario found them.

/** Redis, without a password. */
export const BENCH_REDIS = { host: "127.0.0.1", port: 6379 } as const;

/** Redis as the proxy configuration spells its endpoint. */
export const BENCH_REDIS_ENDPOINT = `${BENCH_REDIS.host}:${BENCH_REDIS.port}`;

/** NATS, without authentication. */
export const BENCH_NATS_ENDPOINT = "127.0.0.1:4222";

/** PostgreSQL: host, port and database, with trust authentication. */
export const BENCH_POSTGRES = { host: "127.0.0.1", port: 5432, database: "test" } as const;

/** The superuser that creates and drops each run's schema and roles. */
export const BENCH_POSTGRES_SUPERUSER = "postgres";

/** Time a probe waits for a message published through the proxy to reach a direct subscriber. */
export const PROBE_DELIVERY_TIMEOUT_MS = 5000;
