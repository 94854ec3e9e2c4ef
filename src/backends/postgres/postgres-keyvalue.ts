import type { Pool, QueryResult, QueryResultRow } from "pg";

import { RateLimitedWarning } from "../../audit/rate-limited-warning.js";
import type { IsolationLevel } from "../../config/model.js";
import { invalidArgument, unavailable, type PrismError } from "../../errors/prism-error.js";
import type { Logger } from "../../observability/logger.js";
import type { ConnectionFactory } from "../../pools/connection-factory.js";
import { backoffDelayMs } from "../backoff.js";
import type { BackendHealth, BackendState, KeyValueStore } from "../driver.js";
import type { PooledKeyValueDriver } from "../pooled-keyvalue.js";
import { checkKeyValueTable } from "./postgres-checks.js";
import { PostgresConnection } from "./postgres-connection.js";
import {
  driverClosedError,
  failureKind,
  sanitizedCause,
  toPostgresError,
  type PostgresCallContext,
} from "./postgres-errors.js";
import {
  DEFAULT_CLEANUP_MAX_BATCHES,
  MAX_KEY_BYTES,
  resolvePostgresOptions,
  type PostgresKeyValueOptions,
  type ResolvedPostgresOptions,
} from "./postgres-options.js";
import { createPostgresPool } from "./postgres-pool.js";
import { buildStatements, type KeyValueStatements } from "./postgres-sql.js";
import { PostgresTenantStore } from "./postgres-tenant-store.js";
import { runInTenantTransaction, runOnConnection, type TransactionHandlers } from "./tenant-transaction.js";

export interface PostgresDriverDependencies {
  /**
   * A pool made by createPostgresPool, for callers that need to reach the same
   * connections, such as tests. The driver takes it over and ends it on close().
   */
  pool?: Pool;
}

interface CleanupRow {
  deleted: number;
}

type StatementResults = QueryResult<QueryResultRow>[];

/** Log fields of the pool a connection belongs to; "level" is pino's own field, hence isolationLevel. */
interface ConnectionLabels {
  isolationLevel: IsolationLevel;
  /** The pool's tenant; absent at level none, whose shared pool serves every tenant. */
  tenant?: string;
}

/**
 * Key-value operations on one PostgreSQL table shared by all tenants and isolated by
 * row-level security: each operation runs in a transaction that first sets
 * prism.tenant_id, which the table's policy compares with the tenant column. The driver
 * serves requests only after its startup checks have shown that the policy binds the
 * role it connects as. Until then, and while the server is unreachable, health() is not
 * ready and requests fail with UNAVAILABLE naming the problem and its fix.
 *
 * In the proxy, the pool layer owns the connections that serve requests
 * (connectionFactory and storeOn). The driver's own pg.Pool runs the startup checks and
 * the cleanup, and serves forTenant for callers outside the proxy.
 */
export class PostgresKeyValueDriver implements PooledKeyValueDriver<PostgresConnection> {
  readonly name = "postgres";
  readonly pooledBackend = "postgres";
  readonly #options: ResolvedPostgresOptions;
  readonly #pool: Pool;
  readonly #sql: KeyValueStatements;
  readonly #log: Logger;
  readonly #cleanupTimer: NodeJS.Timeout | undefined;
  readonly #connectionWarning: RateLimitedWarning;

  #state: BackendState = "connecting";
  #detail: string | undefined = "running startup checks";
  /** The role the checks saw as current_user; the configured user until then. */
  #role: string;

  #checked = false;
  #checking: Promise<void> | undefined;
  #checkFailure: PrismError | undefined;
  #lastCheckAtMs = 0;
  #recheckAttempt = 0;
  #recheckTimer: NodeJS.Timeout | undefined;

  readonly #inFlight = new Set<Promise<unknown>>();
  #cleanupUsable = false;
  #cleanupRunning: Promise<void> | undefined;
  #closing: Promise<void> | undefined;

  constructor(options: PostgresKeyValueOptions, dependencies: PostgresDriverDependencies = {}) {
    this.#options = resolvePostgresOptions(options);
    this.#sql = buildStatements(this.#options.table);
    this.#role = this.#options.connection.user ?? "(default user)";
    this.#log = options.logger.child({ component: "postgres", endpoint: this.#options.connection.endpoint });
    this.#connectionWarning = new RateLimitedWarning(this.#log, "warn");

    this.#pool = dependencies.pool ?? createPostgresPool(this.#options);
    // An idle connection that breaks is dropped by the pool; without a listener the event would end the process.
    this.#pool.on("error", (error) => this.#onIdleConnectionError(error));

    if (this.#options.cleanupIntervalMs > 0) {
      this.#cleanupTimer = setInterval(() => void this.#cleanExpired(), this.#options.cleanupIntervalMs);
      this.#cleanupTimer.unref();
    }
    void this.#check();
  }

  forTenant(tenantId: string): KeyValueStore {
    requireTenantId(tenantId);
    return new PostgresTenantStore(tenantId, this.#sql, (statements, write) =>
      this.#execute(write, (handlers) => runInTenantTransaction(this.#pool, tenantId, statements, handlers)),
    );
  }

  /**
   * Opens connections for a pool of the proxy's pool layer. Every connection logs in as
   * the configured role, whatever the tenant and level, because row-level security
   * separates tenants per transaction. The tenant and level only label log records.
   */
  connectionFactory(tenantId: string, level: IsolationLevel): ConnectionFactory<PostgresConnection> {
    const labels: ConnectionLabels = level === "none" ? { isolationLevel: level } : { isolationLevel: level, tenant: tenantId };
    return {
      create: (signal) => this.#openConnection(signal, labels),
      destroy: (connection) => connection.close(),
      isHealthy: (connection) => connection.usable,
      describe: (connection) => ({ id: connection.id }),
    };
  }

  /**
   * Binds the tenant's store to one leased connection. Each operation runs in its own
   * transaction, as forTenant's do. A failure whose ROLLBACK completed leaves the
   * connection reusable, and any other failure retires it. The codes UNAVAILABLE,
   * DEADLINE_EXCEEDED and INTERNAL also make the lease holder destroy it.
   */
  storeOn(tenantId: string, connection: PostgresConnection): KeyValueStore {
    requireTenantId(tenantId);
    return new PostgresTenantStore(tenantId, this.#sql, (statements, write) =>
      this.#execute(write, (handlers) => runOnConnection(connection, tenantId, statements, handlers)),
    );
  }

  maxKeyBytes(_tenantId: string): number {
    return MAX_KEY_BYTES;
  }

  health(): BackendHealth {
    return { backend: this.name, state: this.#state, ...(this.#detail === undefined ? {} : { detail: this.#detail }) };
  }

  /** Waits for the startup checks in progress, if any, and returns the health that follows. */
  async ready(): Promise<BackendHealth> {
    await this.#checking;
    return this.health();
  }

  /** Idempotent: rejects new requests, stops the timers, waits for running requests and work, and ends the pool. */
  close(): Promise<void> {
    this.#closing ??= this.#close();
    return this.#closing;
  }

  async [Symbol.asyncDispose](): Promise<void> {
    await this.close();
  }

  /** Runs one operation's transaction once the startup checks have passed; `write` marks an operation that changes data. */
  #execute(write: boolean, transaction: (handlers: TransactionHandlers) => Promise<StatementResults>): Promise<StatementResults> {
    if (this.#closing !== undefined) {
      return Promise.reject(driverClosedError(this.#options.connection.endpoint));
    }
    // close() waits for the requests it finds here before it ends the pool.
    const request = this.#executeChecked(write, transaction);
    this.#inFlight.add(request);
    void request.catch(() => undefined).finally(() => this.#inFlight.delete(request));
    return request;
  }

  async #executeChecked(
    write: boolean,
    transaction: (handlers: TransactionHandlers) => Promise<StatementResults>,
  ): Promise<StatementResults> {
    await this.#requireChecked();

    const results = await transaction({
      fail: (error, commitSent) => this.#onRequestFailure(error, write, commitSent),
      onRetry: (error) =>
        this.#log.warn({ err: sanitizedCause(error) }, "postgres pooled connection was broken; retrying on a new connection"),
    });
    if (this.#state === "degraded" && this.#checked) {
      this.#setState("ready", undefined);
    }
    return results;
  }

  /**
   * Opens one connection for the pool layer. A failure becomes the PrismError that the
   * waiting request receives, and a connection failure marks the backend degraded.
   */
  async #openConnection(signal: AbortSignal, labels: ConnectionLabels): Promise<PostgresConnection> {
    if (this.#closing !== undefined) {
      throw driverClosedError(this.#options.connection.endpoint);
    }
    try {
      return await PostgresConnection.open({
        options: this.#options,
        signal,
        onError: (error, connection) => this.#onPooledConnectionError(error, connection, labels),
      });
    } catch (error) {
      if (signal.aborted) {
        throw error;
      }
      const failure = this.#mapError(error, "check", false);
      if (failureKind(error) === "connection") {
        this.#setState("degraded", failure.rawMessage);
        this.#scheduleRecheck();
      }
      throw failure;
    }
  }

  /** Logs a pooled connection's 'error' event, such as the server ending it while idle; repeats are rate-limited. */
  #onPooledConnectionError(error: Error, connection: PostgresConnection, labels: ConnectionLabels): void {
    this.#connectionWarning.report(
      { err: sanitizedCause(error), connectionId: connection.id, ...labels },
      "postgres pooled connection failed; the pool closes it instead of lending it again",
    );
  }

  /** Throws the last check failure unless the checks have passed, running them again when due. */
  async #requireChecked(): Promise<void> {
    if (this.#checked) {
      return;
    }
    const due = Date.now() - this.#lastCheckAtMs >= this.#options.recheckIntervalMs;
    if (this.#checking !== undefined || this.#checkFailure === undefined || due) {
      await this.#check();
    }
    if (!this.#checked) {
      throw this.#checkFailure ?? unavailable(`postgres ${this.#options.connection.endpoint} is not ready`, "BACKEND_UNAVAILABLE");
    }
  }

  /** Runs the startup checks once at a time; never rejects. */
  #check(): Promise<void> {
    this.#checking ??= this.#runCheck().finally(() => {
      this.#checking = undefined;
    });
    return this.#checking;
  }

  async #runCheck(): Promise<void> {
    this.#lastCheckAtMs = Date.now();
    const endpoint = this.#options.connection.endpoint;
    let problems: string[];
    let warnings: string[];
    try {
      const result = await checkKeyValueTable(this.#pool, this.#options.table);
      this.#role = result.role;
      problems = result.problems;
      warnings = result.warnings;
    } catch (error) {
      const failure = this.#mapError(error, "check", false);
      this.#failCheck(failure, failure.rawMessage);
      return;
    }

    if (problems.length > 0) {
      const detail = problems.join("; ");
      this.#failCheck(unavailable(`postgres ${endpoint} is not ready: ${detail}`, "BACKEND_UNAVAILABLE"), detail);
      return;
    }

    for (const warning of warnings) {
      this.#log.warn({ table: this.#options.table.displayName }, warning);
    }
    this.#cleanupUsable = warnings.length === 0;
    this.#checked = true;
    this.#checkFailure = undefined;
    this.#recheckAttempt = 0;
    this.#setState("ready", undefined);
  }

  #failCheck(failure: PrismError, detail: string): void {
    this.#checked = false;
    this.#checkFailure = failure;
    this.#setState("degraded", detail);
    this.#scheduleRecheck();
  }

  #onRequestFailure(error: unknown, write: boolean, commitSent: boolean): PrismError {
    const failure = this.#mapError(error, write ? "write" : "read", commitSent);
    const kind = failureKind(error);
    if (kind === "connection") {
      this.#setState("degraded", failure.rawMessage);
      this.#scheduleRecheck();
    } else if (kind === "schema") {
      // The table or a column went away after the checks passed: check again before the next request.
      this.#failCheck(failure, failure.rawMessage);
    }
    return failure;
  }

  /** Schedules a background check while the backend is not ready, with backoff and jitter. */
  #scheduleRecheck(): void {
    if (this.#recheckTimer !== undefined || this.#closing !== undefined) {
      return;
    }
    this.#recheckAttempt += 1;
    const delayMs = backoffDelayMs(this.#recheckAttempt, this.#options.recheck);
    this.#recheckTimer = setTimeout(() => {
      this.#recheckTimer = undefined;
      void this.#check();
    }, delayMs);
    this.#recheckTimer.unref();
  }

  /** Deletes expired rows through the owner's SECURITY DEFINER function, in bounded batches. */
  #cleanExpired(): Promise<void> {
    if (this.#cleanupRunning !== undefined || !this.#checked || !this.#cleanupUsable || this.#closing !== undefined) {
      return Promise.resolve();
    }
    this.#cleanupRunning = this.#runCleanup().finally(() => {
      this.#cleanupRunning = undefined;
    });
    return this.#cleanupRunning;
  }

  async #runCleanup(): Promise<void> {
    const batchSize = this.#options.cleanupBatchSize;
    let total = 0;
    try {
      for (let batch = 0; batch < DEFAULT_CLEANUP_MAX_BATCHES; batch++) {
        const result = await this.#pool.query<CleanupRow>(this.#sql.cleanup, [batchSize]);
        const deleted = result.rows[0]?.deleted ?? 0;
        total += deleted;
        if (deleted < batchSize) {
          break;
        }
      }
    } catch (error) {
      const failure = this.#mapError(error, "write", false);
      this.#log.warn({ err: failure.cause, deleted: total }, `postgres cleanup of expired rows failed: ${failure.rawMessage}`);
      if (failureKind(error) === "connection") {
        // Without traffic, the cleanup is what notices that the server went away.
        this.#setState("degraded", failure.rawMessage);
        this.#scheduleRecheck();
      }
      return;
    }
    if (total > 0) {
      this.#log.debug({ deleted: total }, "postgres cleanup deleted expired rows");
    }
  }

  /** Runs one cleanup pass now; for tests and tools. Resolves when the pass ends. */
  cleanExpiredNow(): Promise<void> {
    return this.#cleanExpired();
  }

  #onIdleConnectionError(error: Error): void {
    this.#log.warn({ err: sanitizedCause(error) }, "postgres idle connection failed; the pool dropped it and opens a new one when needed");
  }

  #mapError(error: unknown, operation: PostgresCallContext["operation"], commitSent: boolean): PrismError {
    return toPostgresError(error, {
      endpoint: this.#options.connection.endpoint,
      table: this.#options.table.displayName,
      role: this.#role,
      statementTimeoutMs: this.#options.statementTimeoutMs,
      queryTimeoutMs: this.#options.queryTimeoutMs,
      connectTimeoutMs: this.#options.connectTimeoutMs,
      maxConnections: this.#options.maxConnections,
      operation,
      commitSent,
    });
  }

  /** The only place that changes the state; logs every change as `from -> to`. */
  #setState(next: BackendState, detail: string | undefined): void {
    if (this.#state === "closed") {
      return;
    }
    this.#detail = detail;
    if (next === this.#state) {
      return;
    }

    const previous = this.#state;
    this.#state = next;
    const fields = { from: previous, to: next, ...(detail === undefined ? {} : { detail }) };
    if (next === "degraded") {
      this.#log.warn(fields, `postgres backend ${previous} -> ${next}`);
    } else {
      this.#log.info(fields, `postgres backend ${previous} -> ${next}`);
    }
  }

  async #close(): Promise<void> {
    this.#setState("closed", "closed by the proxy");
    clearInterval(this.#cleanupTimer);
    clearTimeout(this.#recheckTimer);
    this.#recheckTimer = undefined;

    await Promise.allSettled([...this.#inFlight, this.#checking, this.#cleanupRunning]);
    // Ends idle connections at once and the others as their requests release them.
    await this.#pool.end();
  }
}

function requireTenantId(tenantId: string): void {
  if (tenantId === "") {
    // The policy compares with an unset prism.tenant_id as '', so '' must never name a tenant.
    throw invalidArgument("tenant id must not be empty");
  }
}
