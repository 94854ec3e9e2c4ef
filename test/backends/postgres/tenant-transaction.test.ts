import { describe, it } from "node:test";
import assert from "node:assert/strict";
import { EventEmitter } from "node:events";
import { DatabaseError, type Pool } from "pg";
import { runInTenantTransaction, type TransactionHandlers } from "../../../src/backends/postgres/tenant-transaction.js";

type Reply = { command: string; rows: unknown[] } | Error;

/** A stand-in for a pooled pg client that replies to each statement from a script. */
class ScriptedClient extends EventEmitter {
  readonly statements: string[] = [];
  releasedWith: Error | undefined | "not released" = "not released";
  status: "I" | "T" | "E" = "I";

  constructor(private readonly reply: (text: string) => Reply) {
    super();
  }

  query(text: string): Promise<{ command: string; rows: unknown[] }> {
    this.statements.push(text);
    const reply = this.reply(text);
    if (text === "BEGIN" && !(reply instanceof Error)) {
      this.status = "T";
    }
    if (reply instanceof Error) {
      if (this.status === "T") {
        this.status = "E";
      }
      return Promise.reject(reply);
    }
    if (text === "COMMIT" || text === "ROLLBACK") {
      this.status = "I";
    }
    return Promise.resolve(reply);
  }

  release(error?: Error): void {
    this.releasedWith = error;
  }

  getTransactionStatus(): string {
    return this.status;
  }
}

function poolOf(clients: ScriptedClient[]): { pool: Pool; handedOut: () => number } {
  let next = 0;
  const pool = {
    connect: () => {
      const client = clients[next];
      next += 1;
      return client === undefined ? Promise.reject(new Error("no more clients")) : Promise.resolve(client);
    },
  };
  return { pool: pool as unknown as Pool, handedOut: () => next };
}

function terminated(): DatabaseError {
  const error = new DatabaseError("terminating connection due to administrator command", 0, "error");
  error.code = "57P01";
  return error;
}

const ok = (command: string): Reply => ({ command, rows: [] });

/** Replies with success to every statement, except those the override replies to. */
function script(override: (text: string) => Reply | undefined = () => undefined): (text: string) => Reply {
  return (text) => override(text) ?? ok(text.split(" ")[0] ?? "");
}

interface Recorded {
  handlers: TransactionHandlers;
  failures: { error: unknown; commitSent: boolean }[];
  retries: unknown[];
}

function recordingHandlers(): Recorded {
  const recorded: Recorded = {
    failures: [],
    retries: [],
    handlers: {
      fail: (error, commitSent) => {
        recorded.failures.push({ error, commitSent });
        return new Error("mapped");
      },
      onRetry: (error) => recorded.retries.push(error),
    },
  };
  return recorded;
}

const STATEMENT = [{ text: "SELECT value FROM t WHERE key = $2", values: ["tenant", "k"] }];

describe("tenant transaction", () => {
  it("sets the tenant inside the transaction and commits", async () => {
    const client = new ScriptedClient(script());
    const { pool } = poolOf([client]);
    const results = await runInTenantTransaction(pool, "tenant", STATEMENT, recordingHandlers().handlers);

    assert.equal(results.length, 1);
    assert.deepEqual(client.statements, [
      "BEGIN",
      "SELECT set_config('prism.tenant_id', $1, true)",
      "SELECT value FROM t WHERE key = $2",
      "COMMIT",
    ]);
    assert.equal(client.releasedWith, undefined);
  });

  it("retries once when BEGIN meets a connection the server closed", async () => {
    const broken = new ScriptedClient(script((text) => (text === "BEGIN" ? terminated() : terminated())));
    const healthy = new ScriptedClient(script());
    const { pool } = poolOf([broken, healthy]);
    const recorded = recordingHandlers();

    await runInTenantTransaction(pool, "tenant", STATEMENT, recorded.handlers);

    assert.equal(recorded.retries.length, 1);
    assert.ok(broken.releasedWith instanceof Error, "the broken connection went back to the pool");
    assert.equal(healthy.releasedWith, undefined);
  });

  it("gives up after one retry", async () => {
    const clients = [1, 2, 3].map(() => new ScriptedClient(script(() => terminated())));
    const { pool, handedOut } = poolOf(clients);
    const recorded = recordingHandlers();

    await assert.rejects(runInTenantTransaction(pool, "tenant", STATEMENT, recorded.handlers), /mapped/);
    assert.equal(handedOut(), 2);
    assert.equal(recorded.failures[0]?.commitSent, false);
  });

  it("does not retry a statement that failed after BEGIN", async () => {
    const client = new ScriptedClient(script((text) => (text.startsWith("SELECT value") ? terminated() : undefined)));
    const { pool, handedOut } = poolOf([client, new ScriptedClient(script())]);
    const recorded = recordingHandlers();

    await assert.rejects(runInTenantTransaction(pool, "tenant", STATEMENT, recorded.handlers), /mapped/);
    assert.equal(handedOut(), 1);
    assert.equal(recorded.failures[0]?.error instanceof DatabaseError, true);
  });

  it("rolls back and destroys the connection when a statement fails", async () => {
    const failure = Object.assign(new DatabaseError("division by zero", 0, "error"), { code: "22012" });
    const client = new ScriptedClient(script((text) => (text.startsWith("SELECT value") ? failure : undefined)));
    const { pool } = poolOf([client]);
    const recorded = recordingHandlers();

    await assert.rejects(runInTenantTransaction(pool, "tenant", STATEMENT, recorded.handlers), /mapped/);
    assert.equal(client.statements.at(-1), "ROLLBACK");
    assert.equal(client.statements.includes("COMMIT"), false);
    assert.equal(client.releasedWith, failure);
    assert.deepEqual(recorded.failures, [{ error: failure, commitSent: false }]);
  });

  it("fails when COMMIT ends as ROLLBACK", async () => {
    const client = new ScriptedClient(script((text) => (text === "COMMIT" ? ok("ROLLBACK") : undefined)));
    const { pool } = poolOf([client]);
    const recorded = recordingHandlers();

    await assert.rejects(runInTenantTransaction(pool, "tenant", STATEMENT, recorded.handlers), /mapped/);
    assert.equal(recorded.failures[0]?.commitSent, true);
    assert.ok(client.releasedWith instanceof Error);
  });

  it("survives a socket error event while the connection is checked out", async () => {
    const client = new ScriptedClient(
      script((text) => {
        if (text.startsWith("SELECT value")) {
          client.emit("error", new Error("Connection terminated unexpectedly"));
          return new Error("Connection terminated unexpectedly");
        }
        return undefined;
      }),
    );
    const { pool } = poolOf([client]);

    await assert.rejects(runInTenantTransaction(pool, "tenant", STATEMENT, recordingHandlers().handlers), /mapped/);
    assert.equal(client.statements.includes("ROLLBACK"), false, "a rollback was sent on a broken connection");
    assert.equal(client.listenerCount("error"), 0, "the error listener stayed on the released connection");
  });
});
