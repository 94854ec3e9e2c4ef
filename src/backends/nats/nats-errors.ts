/**
 * The one place where failures of the NATS client and of the nats-server become
 * PrismErrors. The client (@nats-io/nats-core 3.x) raises one error class per condition
 * and parses the server's -ERR lines into them, so this file branches on classes only.
 */

import {
  AuthorizationError,
  ClosedConnectionError,
  ConnectionError,
  DrainingConnectionError,
  InvalidArgumentError,
  InvalidSubjectError,
  NoRespondersError,
  PermissionViolationError,
  ProtocolError,
  RequestError,
  TimeoutError,
  UserAuthenticationExpiredError,
} from "@nats-io/transport-node";

import { Code, PrismError, invalidArgument, resourceExhausted, unavailable } from "../../errors/prism-error.js";

/** Description of a failed call, for the message the client receives. */
export interface NatsCallContext {
  /** The server address without credentials. */
  endpoint: string;
  operation: "publish" | "subscribe" | "unsubscribe" | "connect";
  /** The confirmation timeout in force, for the timeout message. */
  timeoutMs: number;
  /** False when the call failed before anything was handed to the connection. */
  sent?: boolean;
}

/** Socket error codes that Node reports when no connection could be made or it broke. */
const SOCKET_FAILURES: Readonly<Record<string, string>> = {
  ECONNREFUSED: "the connection was refused",
  ECONNRESET: "the connection was reset",
  EPIPE: "the connection was closed by the server",
  ETIMEDOUT: "the connection timed out",
  EHOSTUNREACH: "the host is unreachable",
  ENETUNREACH: "the network is unreachable",
  ENOTFOUND: "the host name was not found",
  EAI_AGAIN: "the host name could not be resolved",
};

/** Turns any value thrown by a NATS client call into a PrismError. */
export function toNatsError(error: unknown, context: NatsCallContext): PrismError {
  if (error instanceof PrismError) {
    return error;
  }

  if (error instanceof PermissionViolationError) {
    return natsPermissionDenied(context, error);
  }

  if (error instanceof TimeoutError) {
    return natsTimeout(context, error);
  }

  if (error instanceof InvalidSubjectError) {
    return new PrismError(Code.InvalidArgument, "INVALID_NAME", "the topic is not a valid NATS subject", { cause: error });
  }

  if (error instanceof InvalidArgumentError && error.message.includes("max_payload")) {
    const message = resourceExhausted("the message is larger than the NATS server's max_payload");
    return new PrismError(message.code, message.reason, message.rawMessage, { cause: error });
  }

  const detail = describeUnavailable(error);
  if (detail !== undefined) {
    return natsUnavailable(context, detail, error);
  }

  return new PrismError(Code.Internal, "INTERNAL", "internal error; the proxy logged the cause", { cause: error });
}

/** Creates the error for an unreachable server or an unusable connection, after which a retry can succeed. */
export function natsUnavailable(context: NatsCallContext, detail: string, cause?: unknown): PrismError {
  return unavailable(`nats ${context.endpoint} is unavailable: ${detail}; ${outcome(context)}`, "BACKEND_UNAVAILABLE", cause);
}

/** Creates the error for a call the server did not confirm in time, so its effect is unknown. */
export function natsTimeout(context: NatsCallContext, cause?: unknown): PrismError {
  return unavailable(
    `nats ${context.endpoint} is unavailable: no confirmation within ${context.timeoutMs} ms; ${outcome(context)}`,
    "BACKEND_TIMEOUT",
    cause,
  );
}

/** Creates the error for a call made after close(), while the proxy shuts down. */
export function natsClosed(context: NatsCallContext): PrismError {
  return unavailable(
    `nats ${context.endpoint} is unavailable: the proxy is shutting down and closed its NATS connections`,
    "SHUTTING_DOWN",
  );
}

/**
 * Creates the error for a subject that the server's permissions rejected. With per-tenant
 * users, the tenant's user lacks a permission the driver expected, so the server needs
 * the authorization block rendered for the current tenants.
 */
export function natsPermissionDenied(context: NatsCallContext, cause?: unknown): PrismError {
  const action = context.operation === "publish" ? "publish to" : "subscribe to";
  return new PrismError(
    Code.PermissionDenied,
    "PERMISSION_DENIED",
    `nats ${context.endpoint} denied the proxy's request to ${action} this topic (permissions violation); ` +
      "the server's authorization settings do not match the tenant's subject prefix, ask the operator to update them",
    { cause },
  );
}

/** Creates the error for a topic that NATS cannot carry, raised before anything is sent. */
export function natsInvalidTopic(message: string): PrismError {
  return invalidArgument(message, "INVALID_NAME");
}

/** Describes a connection failure in a few words, for health details and logs. */
export function describeNatsFailure(error: unknown): string {
  const detail = describeUnavailable(error);
  if (detail !== undefined) {
    return detail;
  }
  return error instanceof Error ? error.message : String(error);
}

/** Returns why the connection is unusable, or undefined when the error is something else. */
function describeUnavailable(error: unknown): string | undefined {
  if (error instanceof ClosedConnectionError) {
    return "the connection is closed";
  }
  if (error instanceof DrainingConnectionError) {
    return "the connection is closing";
  }
  if (error instanceof NoRespondersError || (error instanceof RequestError && error.isNoResponders())) {
    return "no responder is subscribed to the request subject";
  }
  if (error instanceof RequestError) {
    // The client rejects pending flushes with "connection disconnected" when the socket drops.
    return "the connection was lost before the server confirmed the call";
  }
  if (error instanceof AuthorizationError || error instanceof UserAuthenticationExpiredError) {
    return "the server rejected the proxy's credentials (authorization violation); check the NATS username and password or the tenant credentials secret";
  }
  if (error instanceof ConnectionError || error instanceof ProtocolError) {
    return socketDetail(error) ?? `the connection failed (${error.message})`;
  }
  return socketDetail(error);
}

/** Describes a Node socket error found on the value or in its cause chain. */
function socketDetail(error: unknown): string | undefined {
  let current: unknown = error;
  for (let depth = 0; depth < 5 && current instanceof Error; depth++) {
    const code = (current as NodeJS.ErrnoException).code;
    if (code !== undefined && code in SOCKET_FAILURES) {
      return `${SOCKET_FAILURES[code]} (${code})`;
    }
    current = current.cause;
  }
  return undefined;
}

function outcome(context: NatsCallContext): string {
  switch (context.operation) {
    case "publish":
      return context.sent === false
        ? "the message was not published; retry later"
        : "the message may or may not have reached the server, so a retry can deliver it twice";
    case "subscribe":
      return "the subscription was not started; retry later";
    case "unsubscribe":
      return "the subscription was removed locally and delivers no more messages";
    case "connect":
      return "retry later";
  }
}
