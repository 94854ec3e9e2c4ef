/**
 * The isolation benchmarks. They time single requests and paced traffic rather than
 * throughput points, so bench/isolation/run-isolation-bench.ts runs them instead of
 * bench/run-bench.ts.
 */
export const ISOLATION_SCENARIOS = [
  {
    name: "setup-latency",
    description:
      "First request of a new HTTP/2 connection (a new session) in a new namespace, and in a namespace already used, against the " +
      "second request on the same connection, per isolation level, for Redis Set, PostgreSQL Set and NATS Publish.",
  },
  {
    name: "noisy-neighbour",
    description:
      "Latency of a namespace sending 100 Set/s on Redis, alone and while another namespace of the tenant offers 2000 req/s " +
      "against its max_rps of 200, per isolation level.",
  },
] as const;
