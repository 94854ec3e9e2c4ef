// The minimal gRPC baseline for the benchmarks: KeyValueBasicInterface served by plain
// @grpc/grpc-js over h2c on the same MemoryKeyValueDriver as the proxy, with no
// authentication, no tenant resolution, no limits and no logging. Messages are
// (de)serialized with the protobuf-es schemas the proxy uses, so the difference between
// the two servers is the tenancy pipeline plus the server stack.
//
// Usage: node dist/bench/servers/pass-through-server.js --listen 127.0.0.1:PORT
import { parseArgs } from "node:util";
import { Server, ServerCredentials, type ServiceDefinition, type UntypedServiceImplementation } from "@grpc/grpc-js";
import { create, fromBinary, toBinary, type DescMessage, type MessageInitShape, type MessageShape } from "@bufbuild/protobuf";
import {
  DeleteRequestSchema,
  DeleteResponseSchema,
  ExistsRequestSchema,
  ExistsResponseSchema,
  GetRequestSchema,
  GetResponseSchema,
  SetRequestSchema,
  SetResponseSchema,
} from "../../src/gen/prism/interfaces/keyvalue/keyvalue_basic_pb.js";
import { MemoryKeyValueDriver } from "../../src/backends/memory/memory-keyvalue.js";
import { DEFAULT_KEY_FORMAT, PrefixStrategy } from "../../src/isolation/prefix-strategy.js";

const SERVICE_PATH = "/prism.interfaces.keyvalue.KeyValueBasicInterface";

/** The fixed tenant every request is stored under; the pass-through does no tenant resolution. */
const BASELINE_TENANT_ID = "bench";

type Callback<T> = (error: Error | null, response?: T) => void;

/** One unary method of a grpc-js service definition whose codec is a protobuf-es schema. */
function unaryMethod<I extends DescMessage, O extends DescMessage>(name: string, input: I, output: O) {
  return {
    path: `${SERVICE_PATH}/${name}`,
    requestStream: false,
    responseStream: false,
    originalName: name,
    requestSerialize: (message: MessageShape<I>) => Buffer.from(toBinary(input, message)),
    requestDeserialize: (bytes: Buffer) => fromBinary(input, bytes),
    // Handlers return partial messages, as Connect handlers do; create() fills defaults.
    responseSerialize: (message: MessageInitShape<O>) => Buffer.from(toBinary(output, create(output, message))),
    responseDeserialize: (bytes: Buffer) => fromBinary(output, bytes),
  };
}

const keyValueBasicDefinition = {
  Set: unaryMethod("Set", SetRequestSchema, SetResponseSchema),
  Get: unaryMethod("Get", GetRequestSchema, GetResponseSchema),
  Delete: unaryMethod("Delete", DeleteRequestSchema, DeleteResponseSchema),
  Exists: unaryMethod("Exists", ExistsRequestSchema, ExistsResponseSchema),
} satisfies ServiceDefinition;

type Request<M extends keyof typeof keyValueBasicDefinition> = ReturnType<
  (typeof keyValueBasicDefinition)[M]["requestDeserialize"]
>;
type Response<M extends keyof typeof keyValueBasicDefinition> = Parameters<
  (typeof keyValueBasicDefinition)[M]["responseSerialize"]
>[0];

/**
 * Adapts a promise-returning handler to grpc-js's callback form. Store failures become
 * an UNKNOWN status, which is enough for a baseline that never expects them.
 */
function unary<M extends keyof typeof keyValueBasicDefinition>(
  handle: (request: Request<M>) => Promise<Response<M>>,
) {
  return (call: { request: Request<M> }, callback: Callback<Response<M>>): void => {
    handle(call.request).then(
      (response) => callback(null, response),
      (error: unknown) => callback(error instanceof Error ? error : new Error(String(error))),
    );
  };
}

async function main(): Promise<void> {
  const { values } = parseArgs({ options: { listen: { type: "string" } } });
  if (values.listen === undefined) {
    process.stderr.write("Usage: pass-through-server --listen HOST:PORT\n");
    process.exitCode = 2;
    return;
  }

  const driver = new MemoryKeyValueDriver(new PrefixStrategy(DEFAULT_KEY_FORMAT, "key"));
  const store = driver.forTenant(BASELINE_TENANT_ID);

  const implementation: UntypedServiceImplementation = {
    Set: unary<"Set">(async (request) => {
      await store.set(request.key, request.value);
      return { success: true };
    }),
    Get: unary<"Get">(async (request) => {
      const value = await store.get(request.key);
      return value === undefined ? { found: false } : { found: true, value };
    }),
    Delete: unary<"Delete">(async (request) => {
      await store.delete(request.key);
      return { success: true };
    }),
    Exists: unary<"Exists">(async (request) => ({ exists: await store.exists(request.key) })),
  };

  const server = new Server();
  server.addService(keyValueBasicDefinition, implementation);
  await new Promise<number>((resolve, reject) => {
    server.bindAsync(values.listen ?? "", ServerCredentials.createInsecure(), (error, port) =>
      error === null ? resolve(port) : reject(error),
    );
  });

  const stop = (): void => {
    server.forceShutdown();
    void driver.close();
  };
  process.once("SIGTERM", stop);
  process.once("SIGINT", stop);
}

main().catch((error: unknown) => {
  process.stderr.write(`pass-through-server: ${error instanceof Error ? error.message : String(error)}\n`);
  process.exitCode = 1;
});
