import { create, toBinary } from "@bufbuild/protobuf";
import { createClient, type Transport } from "@connectrpc/connect";
import {
  GetRequestSchema,
  GetResponseSchema,
  KeyValueBasicInterface,
  SetRequestSchema,
  SetResponseSchema,
} from "../src/gen/prism/interfaces/keyvalue/keyvalue_basic_pb.js";
import type { Operation } from "./scenario.js";

const SERVICE_PATH = "/prism.interfaces.keyvalue.KeyValueBasicInterface";

/** The key every request of the KeyValue scenarios reads or writes. */
export const BENCH_KEY = "bench-key";

/** Size of the value Set writes and Get returns. */
export const BENCH_VALUE_BYTES = 128;

/** Returns a fixed value whose bytes differ, so no layer can shortcut an all-zero payload. */
export function benchValue(): Uint8Array {
  return Uint8Array.from({ length: BENCH_VALUE_BYTES }, (_, index) => (index * 31 + 7) % 256);
}

function sameBytes(left: Uint8Array, right: Uint8Array): boolean {
  return left.length === right.length && left.every((byte, index) => byte === right[index]);
}

/** KeyValueBasicInterface/Set of BENCH_KEY with the BENCH_VALUE_BYTES value. */
export function keyValueSet(): Operation {
  const value = benchValue();
  return {
    name: "Set",
    path: `${SERVICE_PATH}/Set`,
    requestMessage: toBinary(SetRequestSchema, create(SetRequestSchema, { key: BENCH_KEY, value })),
    responseMessageBytes: toBinary(SetResponseSchema, create(SetResponseSchema, { success: true })).length,
    async probe(transport: Transport, headers: Record<string, string>): Promise<void> {
      const client = createClient(KeyValueBasicInterface, transport);
      const response = await client.set({ key: BENCH_KEY, value }, { headers });
      if (!response.success || response.error !== "") {
        throw new Error(`Set probe returned success=${response.success} error=${JSON.stringify(response.error)}`);
      }
    },
  };
}

/** KeyValueBasicInterface/Get of BENCH_KEY; the probe stores the key first, so every Get finds it. */
export function keyValueGet(): Operation {
  const value = benchValue();
  return {
    name: "Get",
    path: `${SERVICE_PATH}/Get`,
    requestMessage: toBinary(GetRequestSchema, create(GetRequestSchema, { key: BENCH_KEY })),
    responseMessageBytes: toBinary(GetResponseSchema, create(GetResponseSchema, { found: true, value })).length,
    async probe(transport: Transport, headers: Record<string, string>): Promise<void> {
      const client = createClient(KeyValueBasicInterface, transport);
      await client.set({ key: BENCH_KEY, value }, { headers });
      const response = await client.get({ key: BENCH_KEY }, { headers });
      if (!response.found || !sameBytes(response.value, value) || response.error !== "") {
        throw new Error(
          `Get probe returned found=${response.found}, ${response.value.length} value bytes, error=${JSON.stringify(response.error)}`,
        );
      }
    },
  };
}
