import { createServer, type IncomingMessage, type Server, type ServerResponse } from "node:http";
import { once } from "node:events";
import type { BackendHealth } from "../backends/driver.js";
import { Code, toPrismError } from "../errors/prism-error.js";
import { formatAddress, parseHostPort } from "./listen-address.js";

export interface AdminStatus {
  /** False while starting and once draining. */
  accepting(): boolean;
  backends(): BackendHealth[];
  sessions(): number;
  /** The namespace's use of its limits; throws a PrismError for an invalid or unknown namespace. */
  namespace(name: string): unknown;
}

const NAMESPACE_PATH = /^\/v1\/namespaces\/([^/]+)$/;

/** Maps the codes the namespace report can fail with to HTTP statuses. */
function httpStatusOf(code: Code): number {
  switch (code) {
    case Code.NotFound:
      return 404;
    case Code.InvalidArgument:
      return 400;
    default:
      return 500;
  }
}

/**
 * Serves /healthz (the process is alive) and /readyz on the admin listener, apart from
 * tenant traffic. Readiness follows whether the proxy accepts requests: a backend outage
 * affects only the tenants on that backend, so it shows as "degraded" in the body with
 * each backend's state instead of taking the whole proxy out of its load balancer.
 */
export class AdminServer {
  readonly #server: Server;

  constructor(private readonly status: AdminStatus) {
    this.#server = createServer((request, response) => this.#handle(request, response));
    this.#server.keepAliveTimeout = 5000;
  }

  async listen(address: string): Promise<string> {
    const { host, port } = parseHostPort(address);
    this.#server.listen(port, host);
    await once(this.#server, "listening");
    return formatAddress(this.#server.address());
  }

  async close(): Promise<void> {
    if (!this.#server.listening) {
      return;
    }
    const closed = once(this.#server, "close");
    this.#server.close();
    this.#server.closeAllConnections();
    await closed;
  }

  #handle(request: IncomingMessage, response: ServerResponse): void {
    const path = (request.url ?? "/").split("?")[0];
    if (request.method !== "GET" && request.method !== "HEAD") {
      this.#send(response, 405, { error: `method ${request.method ?? ""} is not allowed; use GET` });
      return;
    }

    const namespace = NAMESPACE_PATH.exec(path ?? "");
    if (namespace?.[1] !== undefined) {
      this.#sendNamespace(response, decodeURIComponent(namespace[1]));
      return;
    }

    switch (path) {
      case "/healthz":
        this.#send(response, 200, { status: "ok" });
        return;
      case "/readyz":
        this.#sendReadiness(response);
        return;
      default:
        this.#send(response, 404, { error: `no such endpoint ${path ?? ""}; use /healthz, /readyz or /v1/namespaces/NAME` });
    }
  }

  #sendNamespace(response: ServerResponse, name: string): void {
    try {
      this.#send(response, 200, this.status.namespace(name));
    } catch (error) {
      const failure = toPrismError(error);
      this.#send(response, httpStatusOf(failure.code), { error: failure.rawMessage });
    }
  }

  #sendReadiness(response: ServerResponse): void {
    const backends = this.status.backends();
    const accepting = this.status.accepting();
    let status = "not_ready";
    if (accepting) {
      status = backends.every((backend) => backend.state === "ready") ? "ready" : "degraded";
    }
    this.#send(response, accepting ? 200 : 503, {
      status,
      accepting,
      sessions: this.status.sessions(),
      backends,
    });
  }

  #send(response: ServerResponse, status: number, body: unknown): void {
    const text = `${JSON.stringify(body)}\n`;
    response.writeHead(status, { "content-type": "application/json", "content-length": Buffer.byteLength(text) });
    response.end(text);
  }
}
