import type { Pool, QueryResult, QueryResultRow } from "pg";

import { invalidArgument, unavailable, type PrismError } from "../../errors/prism-error.js";
import type { Logger } from "../../observability/logger.js";
import { backoffDelayMs } from "../backoff.js";
import type { BackendHealth, BackendState, KeyValueDriver, KeyValueStore } from "../driver.js";
import { checkKeyValueTable } from "./postgres-checks.js";
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
import { runInTenantTransaction, type TenantStatement } from "./tenant-transaction.js";

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

/**
 * Key-value operations on one PostgreSQL table shared by all tenants and isolated by
 * row-level security: each operation runs in a transaction that first sets
 * prism.tenant_id, which the table's policy compares with the tenant column. The driver
 * serves requests only after its startup checks have shown that the policy binds the
 * role it connects as. Until then, and while the server is unreachable, health() is not
 * ready and requests fail with UNAVAILABLE naming the problem and its fix.
 */
export class PostgresKeyValueDriver implements KeyValueDriver {
  readonly name = "postgres";
  readonly #options: ResolvedPostgresOptions;
  readonly #pool: Pool;
  readonly #sql: KeyValueStatements;
  readonly #log: Logger;
  readonly #cleanupTimer: NodeJS.Timeout | undefined;

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
    if (tenantId === "") {
      // The policy compares with an unset prism.tenant_id as '', so '' must never name a tenant.
      throw invalidArgument("tenant id must not be empty");
    }
    return new PostgresTenantStore(tenantId, this.#sql, (statements, write) => this.#execute(tenantId, statements, write));
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

  #execute(tenantId: string, statements: readonly TenantStatement[], write: boolean): Promise<QueryResult<QueryResultRow>[]> {
    if (this.#closing !== undefined) {
      return Promise.reject(driverClosedError(this.#options.connection.endpoint));
    }
    // close() waits for the requests it finds here before it ends the pool.
    const request = this.#executeChecked(tenantId, statements, write);
    this.#inFlight.add(request);
    void request.catch(() => undefined).finally(() => this.#inFlight.delete(request));
    return request;
  }

  async #executeChecked(
    tenantId: string,
    statements: readonly TenantStatement[],
    write: boolean,
  ): Promise<QueryResult<QueryResultRow>[]> {
    await this.#requireChecked();

    const results = await runInTenantTransaction(this.#pool, tenantId, statements, {
      fail: (error, commitSent) => this.#onRequestFailure(error, write, commitSent),
      onRetry: (error) =>
        this.#log.warn({ err: sanitizedCause(error) }, "postgres pooled connection was broken; retrying on a new connection"),
    });
    if (this.#state === "degraded" && this.#checked) {
      this.#setState("ready", undefined);
    }
    return results;
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
