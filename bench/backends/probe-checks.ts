import type { Operation } from "../scenario.js";

export function sameBytes(left: Uint8Array, right: Uint8Array): boolean {
  return left.length === right.length && left.every((byte, index) => byte === right[index]);
}

/** Resolves like `promise`, or rejects once `timeoutMs` has passed without it settling. */
export async function withTimeout<T>(promise: Promise<T>, timeoutMs: number, waitingFor: string): Promise<T> {
  let timer: NodeJS.Timeout | undefined;
  const timeout = new Promise<never>((_, reject) => {
    timer = setTimeout(() => reject(new Error(`timed out after ${timeoutMs} ms waiting for ${waitingFor}`)), timeoutMs);
  });
  try {
    return await Promise.race([promise, timeout]);
  } finally {
    clearTimeout(timer);
  }
}

/**
 * Returns the operation with a probe that, after the original probe passed, also
 * checks the backend directly. A KeyValue probe through the proxy alone would pass
 * on any backend, so this shows that the proxy wrote to the one under test.
 */
export function withBackendCheck(operation: Operation, check: () => Promise<void>): Operation {
  return {
    ...operation,
    async probe(transport, headers): Promise<void> {
      await operation.probe(transport, headers);
      await check();
    },
  };
}
