import type { ConformanceTarget } from "../conformance-target.js";
import { memoryTarget } from "./memory.js";

/** Every backend the isolation conformance suite runs against. */
export function conformanceTargets(): ConformanceTarget[] {
  return [memoryTarget()];
}
