/**
 * One PostgreSQL connection owned by the proxy's pool layer: a connected pg.Client with
 * the driver's connection settings, identified by the server's backend process id.
 */

import pg from "pg";

import { postgresClientConfig } from "./postgres-pool.js";
import type { ResolvedPostgresOptions } from "./postgres-options.js";

interface PidRow {
  pid: number;
}

export interface OpenConnectionOptions {
  options: ResolvedPostgresOptions;
  /** Aborting it ends a connection that is still being opened. */
  signal: AbortSignal;
  /**
   * Receives the client's 'error' events, such as the server ending the connection while
   * it is idle. The connection counts as unusable from then on.
   */
  onError: (error: Error, connection: PostgresConnection) => void;
}

export class PostgresConnection {
  readonly client: pg.Client;
  readonly #endTimeoutMs: number;
  #pid = 0;
  #failure: Error | undefined;
  #ended = false;
  #retired = false;
  #running = 0;
  /** The end of the last operation queued by exclusive(). */
  #tail: Promise<unknown> = Promise.resolve();
  #closing: Promise<void> | undefined;

  private constructor(options: ResolvedPostgresOptions, onError: (error: Error, connection: PostgresConnection) => void) {
    this.client = new pg.Client(postgresClientConfig(options));
    this.#endTimeoutMs = options.connectionEndTimeoutMs;
    // Listening before connect(): an 'error' event without a listener would end the process.
    this.client.on("error", (error) => {
      this.#failure ??= error;
      onError(error, this);
    });
    this.client.on("end", () => {
      this.#ended = true;
    });
  }

  /**
   * Opens a connection and reads its backend process id. Rejects with pg's error when
   * the connection cannot be opened, and with the signal's reason when it aborts.
   */
  static async open(request: OpenConnectionOptions): Promise<PostgresConnection> {
    request.signal.throwIfAborted();
    const connection = new PostgresConnection(request.options, request.onError);
    const abort = (): void => void connection.close();
    request.signal.addEventListener("abort", abort, { once: true });

    try {
      await connection.client.connect();
      const result = await connection.client.query<PidRow>("SELECT pg_backend_pid() AS pid");
      const row = result.rows[0];
      if (row === undefined) {
        throw new Error("SELECT pg_backend_pid() returned no row");
      }
      connection.#pid = row.pid;
      request.signal.throwIfAborted();
      return connection;
    } catch (error) {
      await connection.close();
      throw error;
    } finally {
      request.signal.removeEventListener("abort", abort);
    }
  }

  /** The server's process id for this connection (pg_backend_pid()). */
  get pid(): number {
    return this.#pid;
  }

  get id(): string {
    return String(this.#pid);
  }

  /** The first 'error' event of the client, if any. */
  get failure(): Error | undefined {
    return this.#failure;
  }

  /**
   * Whether no transaction is open and no error has happened: the state in which the
   * connection may start a transaction for any tenant.
   */
  get idle(): boolean {
    if (this.#failure !== undefined || this.#ended || this.#retired || this.#closing !== undefined) {
      return false;
    }
    return this.client.getTransactionStatus() === "I";
  }

  /** Whether the pool may lend the connection: idle, and with no operation running. */
  get usable(): boolean {
    return this.idle && this.#running === 0;
  }

  /** Marks the connection unusable, so the pool closes it instead of lending it again. */
  retire(): void {
    this.#retired = true;
  }

  /**
   * Runs the operation once the operations queued before it have ended, so two
   * transactions never interleave on the connection.
   */
  exclusive<T>(operation: (client: pg.Client) => Promise<T>): Promise<T> {
    this.#running++;
    const run = this.#tail.then(() => operation(this.client));
    this.#tail = run.then(
      () => this.#finishOne(),
      () => this.#finishOne(),
    );
    return run;
  }

  /**
   * Ends the connection and resolves once it is closed, or once its socket was destroyed
   * because the graceful end took longer than connectionEndTimeoutMs. Idempotent.
   */
  close(): Promise<void> {
    this.#closing ??= this.#close();
    return this.#closing;
  }

  #finishOne(): void {
    this.#running--;
  }

  async #close(): Promise<void> {
    const ended = this.client.end().then(
      () => true,
      () => true,
    );
    let timer: NodeJS.Timeout | undefined;
    const timedOut = new Promise<boolean>((resolve) => {
      timer = setTimeout(() => resolve(false), this.#endTimeoutMs);
    });

    const endedInTime = await Promise.race([ended, timedOut]);
    clearTimeout(timer);
    if (!endedInTime) {
      // A server that stopped responding never closes its side of the socket, so the client destroys it.
      this.client.connection.stream.destroy();
    }
  }
}
