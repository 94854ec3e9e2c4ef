import type { Transport } from "@connectrpc/connect";

/**
 * One RPC the load generator repeats: its gRPC path, the pre-encoded request message,
 * the size of a successful response message, and a probe that sends it once through a
 * real gRPC client.
 */
export interface Operation {
  /** Short name used in reports and passed to in-process workers, for example "Set". */
  readonly name: string;
  /** gRPC path, for example "/prism.interfaces.keyvalue.KeyValueBasicInterface/Set". */
  readonly path: string;
  /** Protobuf encoding of the request message, without the gRPC length prefix. */
  readonly requestMessage: Uint8Array;
  /**
   * Protobuf size of the response a successful call returns. An error status travels in
   * trailers with no message, so the DATA bytes h2load receives show whether every call
   * succeeded.
   */
  readonly responseMessageBytes: number;
  /**
   * Sends the request once with a real gRPC client, leaves the state the load needs (Get
   * needs its key stored), and throws unless the response is the expected one.
   */
  probe(transport: Transport, headers: Record<string, string>): Promise<void>;
}

/** A server under test, started in its own process for the duration of one target's points. */
export interface ServerTarget {
  readonly kind: "server";
  /** Identifier used in result files and in ratios, for example "proxy". */
  readonly name: string;
  /** Column heading in the summary table. */
  readonly label: string;
  start(context: TargetContext): Promise<RunningServer>;
}

/**
 * A baseline without any network: a worker script that calls the backend in-process.
 * It runs once per point in a fresh Node.js process and prints one JSON result line.
 */
export interface InProcessTarget {
  readonly kind: "in-process";
  readonly name: string;
  readonly label: string;
  /** Compiled worker script, relative to the repository root. */
  readonly workerScript: string;
}

export type Target = ServerTarget | InProcessTarget;

export interface TargetContext {
  /** Repository root. */
  readonly root: string;
  /** Directory for server logs and generated files of this run. */
  readonly workDir: string;
  /** Extra Node.js flags for this target's process, for example --cpu-prof. */
  readonly nodeFlags: readonly string[];
}

export interface RunningServer {
  /** For example "http://127.0.0.1:41234". */
  readonly baseUrl: string;
  readonly pid: number;
  /** Stops the process and waits for it to exit. Idempotent. */
  stop(): Promise<void>;
}

/** Throughput of one target divided by that of another, at the same operation and concurrency. */
export interface RatioSpec {
  readonly numerator: string;
  readonly denominator: string;
}

/**
 * One entry of the scenario registry: a workload (operations × concurrency levels) and
 * the targets that run it. A new backend is one more entry whose targets start the proxy
 * with that backend configured.
 */
export interface Scenario {
  readonly name: string;
  readonly description: string;
  readonly operations: readonly Operation[];
  /** Concurrent callers per point. */
  readonly concurrencies: readonly number[];
  readonly targets: readonly Target[];
  /** Request headers every server target receives (namespace and credentials). */
  readonly headers: Readonly<Record<string, string>>;
  /** Throughput ratios to report; the first is the headline the summary line judges (aim: at least 1). */
  readonly ratios: readonly RatioSpec[];
}
