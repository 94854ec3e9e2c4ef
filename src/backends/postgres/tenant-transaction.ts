/**
 * Runs statements for one tenant in one transaction on a connection. The tenant is set
 * with set_config(..., true), which lasts until the end of the transaction, so a
 * connection that goes back to a pool carries no tenant into the next request.
 *
 * On the driver's own pg.Pool, any failure rolls back and destroys the connection, so
 * nothing of a failed request (an open transaction, a reply still on its way) reaches
 * another tenant's request either. On a connection of the proxy's pool layer, a failure
 * whose ROLLBACK completed leaves the connection idle and reusable, and any other
 * failure retires it, so the pool closes it instead of lending it again.
 */

import type { ClientBase, Pool, PoolClient, QueryResult, QueryResultRow } from "pg";

import type { PostgresConnection } from "./postgres-connection.js";
import { failureKind, isBrokenConnection } from "./postgres-errors.js";
import { TENANT_SETTING } from "./postgres-sql.js";

export interface TenantStatement {
  text: string;
  values: readonly unknown[];
}

export interface TransactionHandlers {
  /** Turns a failure into the error the caller throws; `commitSent` is set once COMMIT was on its way. */
  fail: (error: unknown, commitSent: boolean) => Error;
  /** Called before the transaction is retried on a new connection because its pooled one had broken. */
  onRetry?: (error: unknown) => void;
}

/**
 * Retries after BEGIN itself failed on a broken connection. Nothing of the transaction
 * ran then, so a retry cannot apply anything twice. It covers connections that the
 * server closed while they sat idle in the pool, such as after a restart.
 */
export const MAX_BROKEN_CONNECTION_RETRIES = 1;

const SET_TENANT_SQL = `SELECT set_config('${TENANT_SETTING}', $1, true)`;

type Attempt =
  | { ok: true; results: QueryResult<QueryResultRow>[] }
  | {
      ok: false;
      error: unknown;
      commitSent: boolean;
      beganOnBrokenConnection: boolean;
      /** Whether the connection ended up outside any transaction, with no error on its socket. */
      clean: boolean;
    };

/** The pg client methods that a transaction uses. */
type TransactionClient = Pick<ClientBase, "query" | "getTransactionStatus" | "on" | "removeListener">;

/**
 * Runs the statements in one transaction for the tenant and returns their results in
 * order. The pool's connections run in pipeline mode, so BEGIN, set_config and the
 * statements go out together and cost one round trip; COMMIT follows only when every
 * one of them succeeded, which costs a second.
 */
export async function runInTenantTransaction(
  pool: Pool,
  tenantId: string,
  statements: readonly TenantStatement[],
  handlers: TransactionHandlers,
): Promise<QueryResult<QueryResultRow>[]> {
  for (let retries = 0; ; retries++) {
    let client: PoolClient;
    try {
      client = await pool.connect();
    } catch (error) {
      throw handlers.fail(error, false);
    }

    const attempt = await attemptTransaction(client, tenantId, statements);
    if (attempt.ok) {
      return attempt.results;
    }
    if (!attempt.beganOnBrokenConnection || retries >= MAX_BROKEN_CONNECTION_RETRIES) {
      throw handlers.fail(attempt.error, attempt.commitSent);
    }
    handlers.onRetry?.(attempt.error);
  }
}

/**
 * Runs the statements in one transaction on a connection of the proxy's pool layer and
 * returns their results in order. Operations on one connection run one at a time. A
 * connection that is not idle when the operation starts, or that the failure may have
 * left inside a transaction, is retired. The pool's health check then refuses it, even
 * when the error's code does not make the lease holder destroy it.
 */
export async function runOnConnection(
  connection: PostgresConnection,
  tenantId: string,
  statements: readonly TenantStatement[],
  handlers: TransactionHandlers,
): Promise<QueryResult<QueryResultRow>[]> {
  // NOTE: unlike runInTenantTransaction, a BEGIN that fails because the server closed the
  // connection while it sat idle is not retried, because the lease holds this one
  // connection. The pool's health check refuses a connection once its 'error' or 'end'
  // event has arrived, which covers most of these before they are lent.
  return connection.exclusive(async (client) => {
    if (!connection.idle) {
      connection.retire();
      const cause = connection.failure ?? new Error("the pooled connection was not idle when a transaction was to begin");
      throw handlers.fail(cause, false);
    }

    const attempt = await transact(client, tenantId, statements);
    if (attempt.ok) {
      return attempt.results;
    }
    if (!attempt.clean) {
      connection.retire();
    }
    throw handlers.fail(attempt.error, attempt.commitSent);
  });
}

/** Runs one transaction on a client of the driver's pool and releases it: to the pool on success, destroyed on failure. */
async function attemptTransaction(client: PoolClient, tenantId: string, statements: readonly TenantStatement[]): Promise<Attempt> {
  const attempt = await transact(client, tenantId, statements);
  if (attempt.ok) {
    client.release();
  } else {
    // Releasing with an error makes the pool destroy the connection instead of reusing it.
    client.release(asError(attempt.error));
  }
  return attempt;
}

/** Runs one transaction; after a failure, rolls back unless the connection broke. */
async function transact(client: TransactionClient, tenantId: string, statements: readonly TenantStatement[]): Promise<Attempt> {
  // pg reports a broken socket as an 'error' event on the client as well as by failing
  // the queries. A pg.Pool does not listen while the client is checked out, and an
  // unheard 'error' event would end the process.
  let socketError: Error | undefined;
  const onSocketError = (error: Error): void => {
    socketError ??= error;
  };
  client.on("error", onSocketError);

  let commitSent = false;
  let beganOnBrokenConnection = false;
  try {
    const settled = await Promise.allSettled([
      client.query("BEGIN"),
      client.query(SET_TENANT_SQL, [tenantId]),
      ...statements.map((statement) => client.query(statement.text, [...statement.values])),
    ]);
    const begin = settled[0];
    beganOnBrokenConnection = begin?.status === "rejected" && isBrokenConnection(begin.reason);
    // The first failure is the cause; the statements after it fail only because the transaction is aborted.
    const failure = settled.find((outcome) => outcome.status === "rejected");
    if (failure !== undefined) {
      throw failure.reason;
    }

    commitSent = true;
    const commit = await client.query("COMMIT");
    if (commit.command !== "COMMIT") {
      // The server replies ROLLBACK to a COMMIT of an aborted transaction.
      throw new Error(`the transaction ended with ${commit.command} instead of COMMIT`);
    }

    client.removeListener("error", onSocketError);
    const results = settled.slice(2).map((outcome) => (outcome as PromiseFulfilledResult<QueryResult<QueryResultRow>>).value);
    return { ok: true, results };
  } catch (error) {
    // A broken connection cannot roll back, and destroying it ends the transaction anyway.
    let clean = false;
    if (socketError === undefined && failureKind(error) !== "connection") {
      clean = await rollBack(client);
    }
    client.removeListener("error", onSocketError);
    return { ok: false, error, commitSent, beganOnBrokenConnection, clean: clean && socketError === undefined };
  }
}

/**
 * Ends an open transaction if the connection still has one, and returns whether the
 * connection is now outside any transaction.
 */
async function rollBack(client: TransactionClient): Promise<boolean> {
  const status = client.getTransactionStatus();
  if (status === "I") {
    return true;
  }
  if (status !== "T" && status !== "E") {
    return false;
  }
  try {
    await client.query("ROLLBACK");
  } catch {
    // The caller destroys or retires the connection, which ends the transaction on the server as well.
    return false;
  }
  return client.getTransactionStatus() === "I";
}

function asError(value: unknown): Error {
  return value instanceof Error ? value : new Error(String(value));
}
