import type { RunningServer, ServerTarget, TargetContext } from "../scenario.js";
import { proxyTarget, type ProxyTargetOptions } from "../targets/proxy-target.js";

export interface BackendProxyTargetOptions extends ProxyTargetOptions {
  /** Prepares the backend before the proxy starts, for example a schema and its roles. */
  setUp?: () => Promise<void>;
  /**
   * Removes everything the scenario created on the backend. It runs after the proxy has
   * stopped, and also when setUp or the proxy's start failed, so it must accept objects
   * that were never created.
   */
  tearDown?: () => Promise<void>;
}

/**
 * Creates the proxy target of a real-backend scenario: the same target as proxyTarget,
 * with the backend prepared before the proxy starts and cleaned after it stops. The
 * runner stops a server target after its last point or its first failure, so the
 * cleanup runs either way.
 */
export function backendProxyTarget(options: BackendProxyTargetOptions): ServerTarget {
  const proxy = proxyTarget({ configName: options.configName, configure: options.configure });
  return {
    kind: "server",
    name: proxy.name,
    label: proxy.label,
    async start(context: TargetContext): Promise<RunningServer> {
      let server: RunningServer;
      try {
        await options.setUp?.();
        server = await proxy.start(context);
      } catch (error) {
        await tearDownAfterFailure(options.tearDown);
        throw error;
      }

      let stopping: Promise<void> | undefined;
      return {
        baseUrl: server.baseUrl,
        pid: server.pid,
        stop: () => (stopping ??= stopThenTearDown(server, options.tearDown)),
      };
    },
  };
}

async function stopThenTearDown(server: RunningServer, tearDown: (() => Promise<void>) | undefined): Promise<void> {
  try {
    await server.stop();
  } finally {
    await tearDown?.();
  }
}

/** Runs the cleanup while another error is on its way out. A cleanup failure is printed rather than thrown over that error. */
async function tearDownAfterFailure(tearDown: (() => Promise<void>) | undefined): Promise<void> {
  try {
    await tearDown?.();
  } catch (error) {
    process.stderr.write(`bench: cleanup after a failed start failed too: ${error instanceof Error ? error.message : String(error)}\n`);
  }
}
