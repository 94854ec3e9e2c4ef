import type { BackendHealth, KeyValueEntry, KeyValueStore } from "../driver.js";
import type { IsolationLevel } from "../../config/model.js";
import type { ConnectionFactory } from "../../pools/connection-factory.js";
import type { PooledKeyValueDriver } from "../pooled-keyvalue.js";
import { invalidArgument } from "../../errors/prism-error.js";
import { byteLength } from "../../isolation/names.js";
import { combinedHealth } from "./redis-health.js";
import { RedisConnection } from "./redis-connection.js";
import { toRedisError } from "./redis-errors.js";
import { resolveRedisOptions, type RedisDriverOptions, type ResolvedRedisOptions } from "./redis-options.js";
import { createTenantConnection } from "./tenant-connection.js";

/** Maximum key length Redis accepts, in bytes: a key is a bulk string of at most 512 MiB. */
export const REDIS_MAX_KEY_BYTES = 512 * 1024 * 1024;

/**
 * Key-value operations on Redis strings. Keys are rewritten with the tenant's keyspace
 * prefix, and values are bytes. Without tenant ACLs, every tenant shares the main
 * connection. With them, each tenant's commands go over a connection authenticated as
 * the tenant's ACL user, opened on first use.
 */
/** A pooled Redis connection and the server's CLIENT ID for it. */
export interface PooledRedisConnection {
  connection: RedisConnection;
  id: string;
}

export class RedisKeyValueDriver implements PooledKeyValueDriver<PooledRedisConnection> {
  readonly name = "redis";
  readonly pooledBackend = "redis";
  readonly #options: ResolvedRedisOptions;
  readonly #main: RedisConnection;
  readonly #tenantConnections = new Map<string, RedisConnection>();
  #closing: Promise<void> | undefined;

  constructor(options: RedisDriverOptions) {
    this.#options = resolveRedisOptions(options);
    this.#main = new RedisConnection({ options: this.#options, role: "keyvalue" });
  }

  forTenant(tenantId: string): KeyValueStore {
    const strategy = this.#options.strategy;
    return new RedisTenantStore(this.#connectionFor(tenantId), (key) => strategy.toPhysical(tenantId, key));
  }

  /**
   * Opens pooled connections. They authenticate as the tenant's ACL user when tenant
   * ACLs are on and the level isolates namespaces or sessions; a shared pool (level none)
   * serves every tenant, so it uses the main user.
   */
  connectionFactory(tenantId: string, level: IsolationLevel): ConnectionFactory<PooledRedisConnection> {
    const role = `pool-${level}`;
    return {
      create: async (signal) => {
        const acl = this.#options.tenantAcl;
        const connection =
          acl !== undefined && level !== "none"
            ? createTenantConnection(this.#options, acl, this.#main, tenantId, role)
            : new RedisConnection({ options: this.#options, role });
        try {
          const id = await connection.run(false, (client) => client.client("ID"));
          signal.throwIfAborted();
          return { connection, id: String(id) };
        } catch (error) {
          await connection.close();
          throw error;
        }
      },
      destroy: (pooled) => pooled.connection.close(),
      isHealthy: (pooled) => pooled.connection.usable,
      describe: (pooled) => ({ id: pooled.id }),
    };
  }

  storeOn(tenantId: string, pooled: PooledRedisConnection): KeyValueStore {
    const strategy = this.#options.strategy;
    return new RedisTenantStore(pooled.connection, (key) => strategy.toPhysical(tenantId, key));
  }

  maxKeyBytes(tenantId: string): number {
    return REDIS_MAX_KEY_BYTES - byteLength(this.#options.strategy.toPhysical(tenantId, ""));
  }

  health(): BackendHealth {
    return combinedHealth(this.name, this.#closing !== undefined, [this.#main, ...this.#tenantConnections.values()]);
  }

  /** Closes the main connection and every tenant connection. Idempotent. */
  close(): Promise<void> {
    this.#closing ??= this.#close();
    return this.#closing;
  }

  async [Symbol.asyncDispose](): Promise<void> {
    await this.close();
  }

  async #close(): Promise<void> {
    const connections = [...this.#tenantConnections.values(), this.#main];
    await Promise.all(connections.map((connection) => connection.close()));
  }

  #connectionFor(tenantId: string): RedisConnection {
    const acl = this.#options.tenantAcl;
    if (acl === undefined || this.#closing !== undefined) {
      return this.#main;
    }

    let connection = this.#tenantConnections.get(tenantId);
    if (connection === undefined) {
      connection = createTenantConnection(this.#options, acl, this.#main, tenantId, "keyvalue-tenant");
      this.#tenantConnections.set(tenantId, connection);
    }
    return connection;
  }
}

class RedisTenantStore implements KeyValueStore {
  constructor(
    private readonly connection: RedisConnection,
    private readonly physical: (key: string) => string,
  ) {}

  async set(key: string, value: Uint8Array): Promise<void> {
    // A plain SET drops any previous TTL.
    await this.connection.run(true, (client) => client.set(this.physical(key), toBuffer(value)));
  }

  async get(key: string): Promise<Uint8Array | undefined> {
    const value = await this.connection.run(false, (client) => client.getBuffer(this.physical(key)));
    return value ?? undefined;
  }

  async delete(key: string): Promise<boolean> {
    // UNLINK frees a large value in the background instead of blocking the server.
    const removed = await this.connection.run(true, (client) => client.unlink(this.physical(key)));
    return removed > 0;
  }

  async exists(key: string): Promise<boolean> {
    const count = await this.connection.run(false, (client) => client.exists(this.physical(key)));
    return count > 0;
  }

  async expire(key: string, ttlSeconds: number): Promise<boolean> {
    if (!Number.isSafeInteger(ttlSeconds) || ttlSeconds < 0) {
      throw invalidArgument(`ttl_seconds ${ttlSeconds} is invalid; use a whole number of seconds from 0`);
    }
    // EXPIRE with 0 deletes the key at once and still reports that it existed.
    const applied = await this.connection.run(true, (client) => client.expire(this.physical(key), ttlSeconds));
    return applied === 1;
  }

  getTtl(key: string): Promise<number> {
    return this.connection.run(false, (client) => client.ttl(this.physical(key)));
  }

  async persist(key: string): Promise<boolean> {
    const removed = await this.connection.run(true, (client) => client.persist(this.physical(key)));
    return removed === 1;
  }

  async batchSet(entries: readonly KeyValueEntry[]): Promise<void> {
    if (entries.length === 0) {
      return;
    }
    // MSET writes every entry atomically in one round trip and, like SET, drops old TTLs.
    const args = entries.flatMap((entry) => [this.physical(entry.key), toBuffer(entry.value)]);
    await this.connection.run(true, (client) => client.mset(args));
  }

  async batchGet(keys: readonly string[]): Promise<(Uint8Array | undefined)[]> {
    if (keys.length === 0) {
      return [];
    }
    const physicalKeys = keys.map((key) => this.physical(key));
    const values = await this.connection.run(false, (client) => client.mgetBuffer(physicalKeys));
    return values.map((value) => value ?? undefined);
  }

  /** Sends one UNLINK per key, pipelined in one round trip, so each key reports whether it existed. */
  async batchDelete(keys: readonly string[]): Promise<boolean[]> {
    if (keys.length === 0) {
      return [];
    }

    const results = await this.connection.run(true, async (client) => {
      const pipeline = client.pipeline();
      keys.forEach((key) => pipeline.unlink(this.physical(key)));
      return (await pipeline.exec()) ?? [];
    });

    const failure = results.find(([error]) => error !== null)?.[0];
    if (failure !== undefined && failure !== null) {
      this.connection.noteFailure(failure);
      const someApplied = results.some(([error]) => error === null);
      throw toRedisError(failure, { ...this.connection.callContext(true), partOfBatchApplied: someApplied });
    }
    return results.map(([, removed]) => typeof removed === "number" && removed > 0);
  }
}

/** Wraps the bytes in a Buffer without copying, because ioredis writes Buffers as raw bytes and stringifies anything else. */
function toBuffer(value: Uint8Array): Buffer {
  return Buffer.isBuffer(value) ? value : Buffer.from(value.buffer, value.byteOffset, value.byteLength);
}
