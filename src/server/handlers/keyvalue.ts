import type { ServiceImpl } from "@connectrpc/connect";
import { KeyValueBasicInterface } from "../../gen/prism/interfaces/keyvalue/keyvalue_basic_pb.js";
import { KeyValueBatchInterface } from "../../gen/prism/interfaces/keyvalue/keyvalue_batch_pb.js";
import { KeyValueTTLInterface } from "../../gen/prism/interfaces/keyvalue/keyvalue_ttl_pb.js";
import { invalidArgument } from "../../errors/prism-error.js";
import { validateKey } from "../../isolation/names.js";
import { checkBatchSize, checkMetadata, checkValueSize } from "../../limits/request-limits.js";
import type { Pipeline } from "../../pipeline/pipeline.js";
import type { RequestScope } from "../../pipeline/request-scope.js";

/** Largest TTL whose expiry time in milliseconds is still an exact JavaScript number. */
export const MAX_TTL_SECONDS = Math.floor(Number.MAX_SAFE_INTEGER / 1000);

function checkKey(scope: RequestScope, key: string, field = "key"): void {
  validateKey(key, scope.keyLimit(), field);
}

function checkTtl(ttlSeconds: bigint): number {
  if (ttlSeconds < 0n || ttlSeconds > BigInt(MAX_TTL_SECONDS)) {
    throw invalidArgument(
      `ttl_seconds ${ttlSeconds} is out of range; use 0 (expire now) up to ${MAX_TTL_SECONDS}`,
    );
  }
  return Number(ttlSeconds);
}

export function keyValueBasicHandlers(pipeline: Pipeline): ServiceImpl<typeof KeyValueBasicInterface> {
  return {
    set: (request, context) =>
      pipeline.run(context, "kv.set", request, async (scope) => {
        checkKey(scope, request.key);
        checkValueSize(request.value, scope.limits);
        checkMetadata(request.tags?.tags ?? {}, scope.limits, "tags");
        await scope.keyValue().set(request.key, request.value);
        return { success: true };
      }),

    get: (request, context) =>
      pipeline.run(context, "kv.get", request, async (scope) => {
        checkKey(scope, request.key);
        const value = await scope.keyValue().get(request.key);
        return value === undefined ? { found: false } : { found: true, value };
      }),

    delete: (request, context) =>
      pipeline.run(context, "kv.delete", request, async (scope) => {
        checkKey(scope, request.key);
        // Deleting a missing key succeeds, so retries and concurrent deletes are safe.
        await scope.keyValue().delete(request.key);
        return { success: true };
      }),

    exists: (request, context) =>
      pipeline.run(context, "kv.exists", request, async (scope) => {
        checkKey(scope, request.key);
        return { exists: await scope.keyValue().exists(request.key) };
      }),
  };
}

export function keyValueTtlHandlers(pipeline: Pipeline): ServiceImpl<typeof KeyValueTTLInterface> {
  return {
    expire: (request, context) =>
      pipeline.run(context, "kv.expire", request, async (scope) => {
        checkKey(scope, request.key);
        const ttlSeconds = checkTtl(request.ttlSeconds);
        const keyExisted = await scope.keyValue().expire(request.key, ttlSeconds);
        return { success: true, keyExisted };
      }),

    getTTL: (request, context) =>
      pipeline.run(context, "kv.get_ttl", request, async (scope) => {
        checkKey(scope, request.key);
        return { ttlSeconds: BigInt(await scope.keyValue().getTtl(request.key)) };
      }),

    persist: (request, context) =>
      pipeline.run(context, "kv.persist", request, async (scope) => {
        checkKey(scope, request.key);
        return { success: true, expirationRemoved: await scope.keyValue().persist(request.key) };
      }),
  };
}

export function keyValueBatchHandlers(pipeline: Pipeline): ServiceImpl<typeof KeyValueBatchInterface> {
  return {
    batchSet: (request, context) =>
      pipeline.run(context, "kv.batch_set", request, async (scope) => {
        // Every entry is checked before any is written, so a rejected batch changes nothing.
        checkBatchSize(request.requests.length, scope.limits, "requests");
        request.requests.forEach((entry, index) => {
          checkKey(scope, entry.key, `requests[${index}].key`);
          checkValueSize(entry.value, scope.limits, `requests[${index}].value`);
          checkMetadata(entry.tags?.tags ?? {}, scope.limits, `requests[${index}].tags`);
        });

        await scope.keyValue().batchSet(request.requests.map(({ key, value }) => ({ key, value })));
        return { results: request.requests.map(() => ({ success: true })), allSuccess: true };
      }),

    batchGet: (request, context) =>
      pipeline.run(context, "kv.batch_get", request, async (scope) => {
        checkBatchSize(request.keys.length, scope.limits, "keys");
        request.keys.forEach((key, index) => checkKey(scope, key, `keys[${index}]`));

        const values = await scope.keyValue().batchGet(request.keys);
        const results = values.map((value) => (value === undefined ? { found: false } : { found: true, value }));
        return { results, foundCount: results.filter((result) => result.found).length };
      }),

    batchDelete: (request, context) =>
      pipeline.run(context, "kv.batch_delete", request, async (scope) => {
        checkBatchSize(request.keys.length, scope.limits, "keys");
        request.keys.forEach((key, index) => checkKey(scope, key, `keys[${index}]`));

        await scope.keyValue().batchDelete(request.keys);
        return { results: request.keys.map(() => ({ success: true })), allSuccess: true };
      }),
  };
}
