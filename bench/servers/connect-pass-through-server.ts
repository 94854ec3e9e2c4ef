// A second baseline for the benchmarks: KeyValueBasicInterface served by the same
// server stack as the proxy (connectNodeAdapter from @connectrpc/connect-node on a
// node:http2 h2c server) over the same MemoryKeyValueDriver, without the tenancy
// pipeline: no authentication, namespace resolution, sessions, limits, name checks or
// logging. Between the grpc-js pass-through and the proxy, it shows how much of the
// difference is the server stack and how much is the pipeline.
//
// Usage: node dist/bench/servers/connect-pass-through-server.js --listen 127.0.0.1:PORT
import { createServer } from "node:http2";
import { once } from "node:events";
import { parseArgs } from "node:util";
import type { ConnectRouter } from "@connectrpc/connect";
import { connectNodeAdapter } from "@connectrpc/connect-node";
import { KeyValueBasicInterface } from "../../src/gen/prism/interfaces/keyvalue/keyvalue_basic_pb.js";
import { MemoryKeyValueDriver } from "../../src/backends/memory/memory-keyvalue.js";
import { DEFAULT_KEY_FORMAT, PrefixStrategy } from "../../src/isolation/prefix-strategy.js";
import { parseHostPort } from "../../src/server/listen-address.js";

/** The fixed tenant every request is stored under; the pass-through does no tenant resolution. */
const BASELINE_TENANT_ID = "bench";

async function main(): Promise<void> {
  const { values } = parseArgs({ options: { listen: { type: "string" } } });
  if (values.listen === undefined) {
    process.stderr.write("Usage: connect-pass-through-server --listen HOST:PORT\n");
    process.exitCode = 2;
    return;
  }

  const driver = new MemoryKeyValueDriver(new PrefixStrategy(DEFAULT_KEY_FORMAT, "key"));
  const store = driver.forTenant(BASELINE_TENANT_ID);

  const routes = (router: ConnectRouter): void => {
    router.service(KeyValueBasicInterface, {
      set: async (request) => {
        await store.set(request.key, request.value);
        return { success: true };
      },
      get: async (request) => {
        const value = await store.get(request.key);
        return value === undefined ? { found: false } : { found: true, value };
      },
      delete: async (request) => {
        await store.delete(request.key);
        return { success: true };
      },
      exists: async (request) => ({ exists: await store.exists(request.key) }),
    });
  };

  const server = createServer(connectNodeAdapter({ routes }));
  const { host, port } = parseHostPort(values.listen);
  server.listen(port, host);
  await once(server, "listening");

  const stop = (): void => {
    server.close();
    void driver.close();
    // Open client sessions would keep close() waiting; the benchmark has finished with them.
    setTimeout(() => process.exit(0), 1000).unref();
  };
  process.once("SIGTERM", stop);
  process.once("SIGINT", stop);
}

main().catch((error: unknown) => {
  process.stderr.write(`connect-pass-through-server: ${error instanceof Error ? error.message : String(error)}\n`);
  process.exitCode = 1;
});
