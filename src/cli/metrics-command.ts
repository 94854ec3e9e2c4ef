import type { NamespaceReport } from "../proxy.js";
import { formatNamespaceUsage } from "../limits/usage-format.js";
import { argumentAt, type CommandSpec } from "./command.js";
import { ExitCode } from "./exit-codes.js";
import { stringOption } from "./options.js";
import { UsageError } from "./usage-error.js";

/** Environment variable with the admin address of the proxy. */
export const ADMIN_ADDRESS_ENV = "PRISM_ADMIN_ADDRESS";
export const DEFAULT_ADMIN_ADDRESS = "http://127.0.0.1:9090";
/** Time to wait for the admin API, in milliseconds. */
export const DEFAULT_ADMIN_TIMEOUT_MS = 5000;

function adminBaseUrl(value: string | undefined, helpTopic: string): URL {
  const text = value ?? DEFAULT_ADMIN_ADDRESS;
  try {
    const url = new URL(text);
    if (url.protocol === "http:") {
      return url;
    }
  } catch {
    // Reported below with the value.
  }
  throw new UsageError(`--admin-address ${JSON.stringify(text)} is not valid; use an http:// URL such as ${DEFAULT_ADMIN_ADDRESS}`, helpTopic);
}

function formatReport(report: NamespaceReport): string {
  const connections = report.connections.map(
    (pool) => `${pool.backend} ${pool.serves}=${pool.in_use}/${pool.limit} (${pool.open} open)`,
  );
  return [
    `Tenant: ${report.tenant} (isolation ${report.isolation_level})`,
    `Sessions: ${report.sessions}`,
    `Connections: ${connections.length === 0 ? "none pooled (embedded backend)" : connections.join(", ")}`,
    ...formatNamespaceUsage(report.usage),
  ].join("\n");
}

export const metricsNamespace: CommandSpec = {
  group: "metrics",
  name: "namespace",
  synopsis: "NAME",
  minArgs: 1,
  maxArgs: 1,
  summary: "print a namespace's sessions and use of its limits from a running proxy",
  description: `Asks a running proxy's admin listener (GET /v1/namespaces/NAME) for the namespace's
tenant, isolation level, sessions, and its use of each limit: requests per second over
the last second, requests in flight, CPU cores and bytes held, each against its limit,
and the rejections per limit. Exit codes: 0 printed, 1 no tenant owns the namespace,
2 usage error, 3 the proxy rejected the request, 4 the admin listener is unreachable.`,
  options: {
    "admin-address": {
      type: "string",
      valueName: "URL",
      help: `admin listener of the proxy (env ${ADMIN_ADDRESS_ENV}, default ${DEFAULT_ADMIN_ADDRESS})`,
    },
  },
  connects: false,
  examples: ["prismctl metrics namespace acme-prod", "prismctl metrics namespace acme-prod --json"],
  run: async (invocation) => {
    const namespace = argumentAt(invocation, 0);
    const base = adminBaseUrl(
      stringOption(invocation.values, "admin-address") ?? invocation.io.env[ADMIN_ADDRESS_ENV],
      invocation.helpTopic,
    );
    const url = new URL(`/v1/namespaces/${encodeURIComponent(namespace)}`, base);

    let response: Response;
    try {
      response = await fetch(url, { signal: AbortSignal.timeout(DEFAULT_ADMIN_TIMEOUT_MS) });
    } catch (error) {
      const reason = error instanceof Error ? error.message : String(error);
      invocation.io.stderr.write(`prismctl: cannot reach the admin listener at ${base.origin} (${reason}); is the proxy running?\n`);
      return ExitCode.Unreachable;
    }

    const body = (await response.json()) as Record<string, unknown>;
    if (!response.ok) {
      const message = typeof body["error"] === "string" ? body["error"] : `HTTP ${response.status}`;
      invocation.io.stderr.write(`prismctl: ${message}\n`);
      return response.status === 404 ? ExitCode.NotFound : ExitCode.Rejected;
    }

    if (invocation.output.json) {
      invocation.output.writeJson(body);
    } else {
      invocation.io.stdout.write(`${formatReport(body as unknown as NamespaceReport)}\n`);
    }
    return ExitCode.Success;
  },
};
