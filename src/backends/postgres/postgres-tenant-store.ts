import type { QueryResult, QueryResultRow } from "pg";

import { Code, PrismError } from "../../errors/prism-error.js";
import type { KeyValueEntry, KeyValueStore } from "../driver.js";
import type { KeyValueStatements } from "./postgres-sql.js";
import type { TenantStatement } from "./tenant-transaction.js";

/** Runs statements in one transaction for the store's tenant; `write` tells whether they change data. */
export type TenantExecutor = (statements: readonly TenantStatement[], write: boolean) => Promise<QueryResult<QueryResultRow>[]>;

interface ValueRow {
  value: Buffer;
}

interface LiveRow {
  live: boolean;
}

interface TtlRow {
  ttl: number;
}

interface PositionedValueRow {
  position: number;
  value: Buffer;
}

interface DeletedKeyRow {
  key: string;
  live: boolean;
}

/**
 * The key-value operations of one tenant. Each operation is one statement in its own
 * transaction, batches included, and every statement names the tenant as $1.
 */
export class PostgresTenantStore implements KeyValueStore {
  constructor(
    private readonly tenantId: string,
    private readonly sql: KeyValueStatements,
    private readonly execute: TenantExecutor,
  ) {}

  async set(key: string, value: Uint8Array): Promise<void> {
    await this.#run(this.sql.set, [key, toBuffer(value)], true);
  }

  async get(key: string): Promise<Uint8Array | undefined> {
    const result = await this.#run(this.sql.get, [key], false);
    const row = result.rows[0] as ValueRow | undefined;
    return row === undefined ? undefined : new Uint8Array(row.value);
  }

  async delete(key: string): Promise<boolean> {
    const result = await this.#run(this.sql.delete, [key], true);
    return (result.rows as LiveRow[]).some((row) => row.live);
  }

  async exists(key: string): Promise<boolean> {
    const result = await this.#run(this.sql.exists, [key], false);
    return result.rows.length > 0;
  }

  async expire(key: string, ttlSeconds: number): Promise<boolean> {
    // A TTL of 0 expires the key at once, as Redis EXPIRE does, so the row goes now.
    if (ttlSeconds <= 0) {
      return this.delete(key);
    }
    const result = await this.#run(this.sql.expire, [key, ttlSeconds], true);
    return (result.rowCount ?? 0) > 0;
  }

  async getTtl(key: string): Promise<number> {
    const result = await this.#run(this.sql.getTtl, [key], false);
    const row = result.rows[0] as TtlRow | undefined;
    return row === undefined ? -2 : row.ttl;
  }

  async persist(key: string): Promise<boolean> {
    const result = await this.#run(this.sql.persist, [key], true);
    return (result.rowCount ?? 0) > 0;
  }

  async batchSet(entries: readonly KeyValueEntry[]): Promise<void> {
    if (entries.length === 0) {
      return;
    }

    // One INSERT cannot update the same row twice, so the last value of a repeated key
    // wins, as it would with one Set after another. Sorting the keys makes concurrent
    // batches lock rows in the same order, so they cannot deadlock each other.
    const latest = new Map<string, Uint8Array>();
    for (const entry of entries) {
      latest.set(entry.key, entry.value);
    }
    const keys = [...latest.keys()].sort();
    const values = keys.map((key) => toBuffer(latest.get(key) ?? new Uint8Array()));

    await this.#run(this.sql.batchSet, [keys, values], true);
  }

  async batchGet(keys: readonly string[]): Promise<(Uint8Array | undefined)[]> {
    if (keys.length === 0) {
      return [];
    }

    const result = await this.#run(this.sql.batchGet, [[...keys]], false);
    const values: (Uint8Array | undefined)[] = keys.map(() => undefined);
    for (const row of result.rows as PositionedValueRow[]) {
      // WITH ORDINALITY counts from 1.
      values[row.position - 1] = new Uint8Array(row.value);
    }
    return values;
  }

  async batchDelete(keys: readonly string[]): Promise<boolean[]> {
    if (keys.length === 0) {
      return [];
    }

    const result = await this.#run(this.sql.batchDelete, [[...keys]], true);
    const existed = new Set((result.rows as DeletedKeyRow[]).filter((row) => row.live).map((row) => row.key));
    // A key named twice existed for its first delete only, as with one Delete after another.
    return keys.map((key) => existed.delete(key));
  }

  async #run(text: string, values: readonly unknown[], write: boolean): Promise<QueryResult<QueryResultRow>> {
    const [result] = await this.execute([{ text, values: [this.tenantId, ...values] }], write);
    if (result === undefined) {
      throw new PrismError(Code.Internal, "INTERNAL", "postgres returned no result for the statement; the proxy logged the cause");
    }
    return result;
  }
}

/** Wraps the bytes without copying; pg sends a Buffer as bytea. */
function toBuffer(value: Uint8Array): Buffer {
  return Buffer.from(value.buffer, value.byteOffset, value.byteLength);
}
