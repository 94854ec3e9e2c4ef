import type { ConformanceTarget } from "../conformance-target.js";
import { memoryTarget } from "./memory.js";
import { natsTarget } from "./nats.js";
import { postgresTarget } from "./postgres.js";
import { redisTarget } from "./redis.js";

/** Every backend the isolation conformance suite runs against. */
export function conformanceTargets(): ConformanceTarget[] {
  return [memoryTarget(), redisTarget(), redisTarget({ tenantAcl: true }), natsTarget(), postgresTarget()];
}
