import { validateNamespaceName } from "../config/namespace-pattern.js";
import {
  ADDRESS_ENV,
  API_KEY_ENV,
  DEFAULT_ADDRESS,
  DEFAULT_CALL_TIMEOUT_SECONDS,
  NAMESPACE_ENV,
  parseSecondsToMs,
  stringOption,
  type OptionValues,
} from "./options.js";
import { UsageError } from "./usage-error.js";

export type Protocol = "grpc" | "connect";

/** The proxy address, namespace, credentials, protocol and deadline of a command, from options and environment. */
export interface ConnectionSettings {
  /** Base URL of the data listener, without a trailing slash. */
  baseUrl: string;
  namespace: string;
  /** Absent when neither --api-key nor PRISM_API_KEY is set; the proxy then rejects the call. */
  apiKey: string | undefined;
  protocol: Protocol;
  /** Deadline of each unary call; 0 means none. */
  timeoutMs: number;
}

/** Printable ASCII without spaces: what an HTTP header value and a bearer token both allow. */
const HEADER_TOKEN = /^[\x21-\x7e]+$/;

/** Returns the option, else the environment variable; an empty value counts as unset. */
function optionOrEnv(values: OptionValues, name: string, env: NodeJS.ProcessEnv, variable: string): string | undefined {
  const value = stringOption(values, name) ?? env[variable];
  return value === undefined || value === "" ? undefined : value;
}

/**
 * Returns the proxy's base URL from --address, PRISM_ADDRESS or the default. An
 * address without a scheme, such as "127.0.0.1:8080", means http://.
 */
export function resolveBaseUrl(values: OptionValues, env: NodeJS.ProcessEnv, helpTopic = ""): string {
  const address = optionOrEnv(values, "address", env, ADDRESS_ENV) ?? DEFAULT_ADDRESS;
  const withScheme = address.includes("://") ? address : `http://${address}`;

  let url: URL;
  try {
    url = new URL(withScheme);
  } catch {
    throw new UsageError(`address "${address}" is not a valid URL; use for example ${DEFAULT_ADDRESS}`, helpTopic);
  }

  if (url.protocol !== "http:" && url.protocol !== "https:") {
    throw new UsageError(`address "${address}" must use http:// or https://`, helpTopic);
  }
  if (url.username !== "" || url.password !== "") {
    throw new UsageError("the address must not contain credentials; pass the API key with --api-key", helpTopic);
  }
  return `${url.origin}${url.pathname}`.replace(/\/+$/, "");
}

/** Resolves every connection option and checks it before anything is sent. */
export function resolveConnection(values: OptionValues, env: NodeJS.ProcessEnv, helpTopic: string): ConnectionSettings {
  const baseUrl = resolveBaseUrl(values, env, helpTopic);

  const namespace = optionOrEnv(values, "namespace", env, NAMESPACE_ENV);
  if (namespace === undefined) {
    throw new UsageError(`missing namespace; pass --namespace NS or set ${NAMESPACE_ENV}`, helpTopic);
  }
  if (validateNamespaceName(namespace) !== undefined) {
    throw new UsageError(
      `namespace ${JSON.stringify(namespace)} is not valid; use lowercase letters, digits, ".", "_" and "-" (at most 128 characters)`,
      helpTopic,
    );
  }

  const apiKey = optionOrEnv(values, "api-key", env, API_KEY_ENV);
  if (apiKey !== undefined && !HEADER_TOKEN.test(apiKey)) {
    // The key itself stays out of the message.
    throw new UsageError("the API key contains spaces or characters that an HTTP header cannot carry", helpTopic);
  }

  const protocol = stringOption(values, "protocol") ?? "grpc";
  if (protocol !== "grpc" && protocol !== "connect") {
    throw new UsageError(`--protocol "${protocol}" is not supported; use grpc or connect`, helpTopic);
  }

  const timeout = stringOption(values, "timeout");
  const timeoutMs =
    timeout === undefined ? DEFAULT_CALL_TIMEOUT_SECONDS * 1000 : parseSecondsToMs(timeout, "--timeout", helpTopic);

  return { baseUrl, namespace, apiKey, protocol, timeoutMs };
}
