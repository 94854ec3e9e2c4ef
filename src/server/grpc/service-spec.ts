import type { DescService } from "@bufbuild/protobuf";
import { createServiceImplSpec, type ConnectRouter, type ServiceImpl, type ServiceImplSpec } from "@connectrpc/connect";

/**
 * Pairs a service descriptor with its implementation. The data server registers the
 * same spec, and so the same handler functions, on the Connect router and the gRPC router.
 */
export function implementService<S extends DescService>(service: S, implementation: ServiceImpl<S>): ServiceImplSpec {
  return createServiceImplSpec<S>(service, implementation);
}

/** Registers every method of the specs on a Connect router, as router.service() would. */
export function routeServices(router: ConnectRouter, services: readonly ServiceImplSpec[]): void {
  for (const service of services) {
    for (const spec of Object.values(service.methods)) {
      switch (spec.kind) {
        case "unary":
          router.rpc(spec.method, spec.impl);
          break;
        case "server_streaming":
          router.rpc(spec.method, spec.impl);
          break;
        case "client_streaming":
          router.rpc(spec.method, spec.impl);
          break;
        case "bidi_streaming":
          router.rpc(spec.method, spec.impl);
          break;
      }
    }
  }
}
