import type { BackendHealth, BackendState } from "../driver.js";
import type { RedisConnection } from "./redis-connection.js";

/** Order of precedence when connections disagree: the worst state wins. */
const SEVERITY: Readonly<Record<BackendState, number>> = { ready: 0, connecting: 1, degraded: 2, closed: 3 };

/**
 * Combines the states of a driver's connections: "closed" once the driver is closed,
 * otherwise the worst state of a started connection, with that connection's detail.
 */
export function combinedHealth(backend: string, closed: boolean, connections: readonly RedisConnection[]): BackendHealth {
  if (closed) {
    return { backend, state: "closed" };
  }

  let worst: RedisConnection | undefined;
  for (const connection of connections) {
    if (connection.idle) {
      continue;
    }
    if (worst === undefined || SEVERITY[connection.state] > SEVERITY[worst.state]) {
      worst = connection;
    }
  }
  if (worst === undefined || worst.state === "ready") {
    return { backend, state: "ready" };
  }

  const owner = worst.tenantId === undefined ? worst.role : `${worst.role} of tenant ${worst.tenantId}`;
  return { backend, state: worst.state, detail: `${owner} connection: ${worst.detail ?? worst.state}` };
}
