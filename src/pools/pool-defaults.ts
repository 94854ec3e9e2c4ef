/**
 * Defaults of the connection-pool layer. Each applies once, when its key or option is
 * absent, so an explicit value in the configuration is kept as written.
 */

/** connection_pools.<backend>.max_connections: the shared pool's size, and the total of all session connections. */
export const DEFAULT_MAX_CONNECTIONS = 100;

/** connection_pools.<backend>.connections_per_namespace: the size of each namespace's pool. */
export const DEFAULT_CONNECTIONS_PER_NAMESPACE = 10;

/** connection_pools.<backend>.max_total_connections: the total of all namespace pools of one backend. */
export const DEFAULT_MAX_TOTAL_CONNECTIONS = 500;

/** connection_pools.<backend>.per_session_limit: the connections one session may hold at once. */
export const DEFAULT_PER_SESSION_LIMIT = 5;

/** connection_pools.shared (or connection_pools.<backend>.shared): whether isolation level none may use the shared pool. */
export const DEFAULT_SHARED = true;

/** connection_pools.per_namespace: whether isolation level namespace may create per-namespace pools. */
export const DEFAULT_PER_NAMESPACE = true;

/** idle_pool_timeout: time a namespace or session pool stays open with no connection in use and no request waiting. */
export const DEFAULT_IDLE_POOL_TIMEOUT_MS = 300_000;

/** Time an acquire waits in the queue for a connection before it fails. */
export const DEFAULT_ACQUIRE_TIMEOUT_MS = 5_000;

/** Time an idle connection stays open before the pool closes it. */
export const DEFAULT_IDLE_CONNECTION_TIMEOUT_MS = 30_000;

/** Time close() waits for leased connections to come back before it closes them in use. */
export const DEFAULT_CLOSE_TIMEOUT_MS = 5_000;

/**
 * Time closeSession() waits for the session's leased connections to come back. It is
 * short because the client is gone, and it keeps the whole close well under a second.
 */
export const DEFAULT_SESSION_CLOSE_GRACE_MS = 250;
