/**
 * Validators for identifiers and addresses in the configuration file. Each returns an
 * error message that names the value and the allowed form, or undefined when valid.
 */

/** Characters a tenant id may contain. A prefix separator needs at least one character outside them. */
export const TENANT_ID_CHARACTERS = /^[a-z0-9_-]*$/;
const TENANT_ID = /^[a-z0-9][a-z0-9_-]{0,62}$/;
const POOL_NAME = /^[a-z0-9][a-z0-9_-]{0,62}$/;
const API_KEY_NAME = /^[A-Za-z0-9][A-Za-z0-9._@:-]{0,127}$/;
const API_KEY_HASH = /^sha256:[0-9a-f]{64}$/;
const SQL_IDENTIFIER = /^[a-z_][a-z0-9_]{0,62}$/;
const PROMETHEUS_LABEL = /^[a-zA-Z_][a-zA-Z0-9_]*$/;
const HOST_NAME = /^[A-Za-z0-9]([A-Za-z0-9.-]{0,251}[A-Za-z0-9])?$/;
const IPV6_HOST = /^\[[0-9A-Fa-f:.]+\]$/;
const PORT = /^\d{1,5}$/;

export function validateTenantId(id: string): string | undefined {
  if (TENANT_ID.test(id)) {
    return undefined;
  }
  return `invalid tenant id ${JSON.stringify(id)}. A tenant id is 1 to 63 characters of lowercase letters, digits, '-' and '_', starting with a letter or digit`;
}

export function validatePoolName(name: string): string | undefined {
  if (POOL_NAME.test(name)) {
    return undefined;
  }
  return `invalid pool name ${JSON.stringify(name)}. A pool name is 1 to 63 characters of lowercase letters, digits, '-' and '_', starting with a letter or digit`;
}

export function validateApiKeyName(name: string): string | undefined {
  if (API_KEY_NAME.test(name)) {
    return undefined;
  }
  return `invalid API key name ${JSON.stringify(name)}. A name is 1 to 128 characters of letters, digits, '.', '_', '@', ':' and '-', starting with a letter or digit`;
}

export function validateApiKeyHash(hash: string): string | undefined {
  if (API_KEY_HASH.test(hash)) {
    return undefined;
  }
  // The value is not repeated, because a wrong value may be the key itself, pasted by mistake.
  return 'invalid API key hash. Expected "sha256:" followed by the 64 lowercase hex digits of the key\'s SHA-256 digest';
}

export function validateSqlIdentifier(identifier: string): string | undefined {
  if (SQL_IDENTIFIER.test(identifier)) {
    return undefined;
  }
  return `invalid column name ${JSON.stringify(identifier)}. Use a plain SQL identifier: 1 to 63 characters of lowercase letters, digits and '_', not starting with a digit`;
}

export function validatePrometheusLabel(label: string): string | undefined {
  if (PROMETHEUS_LABEL.test(label) && !label.startsWith("__")) {
    return undefined;
  }
  return `invalid label name ${JSON.stringify(label)}. A Prometheus label name has letters, digits and '_', does not start with a digit, and does not start with "__"`;
}

/** Validates a listen address "host:port", where host is a name, an IPv4 address or [IPv6]. Port 0 picks a free port. */
export function validateListenAddress(address: string): string | undefined {
  const problem = hostPortProblem(address);
  if (problem === undefined) {
    return undefined;
  }
  return `invalid listen address ${JSON.stringify(address)}: ${problem}. Use host:port, for example "127.0.0.1:8080", "0.0.0.0:8080" or "[::1]:8080"`;
}

/**
 * Validates a backend endpoint: a URL with a scheme, or one or more host:port entries
 * separated by commas. URL credentials are never repeated in the message.
 */
export function validateEndpoint(endpoint: string): string | undefined {
  if (endpoint.includes("://")) {
    return validateEndpointUrl(endpoint);
  }

  for (const entry of endpoint.split(",")) {
    const problem = hostPortProblem(entry);
    if (problem !== undefined) {
      const message = `invalid endpoint ${JSON.stringify(endpoint)}: ${problem}. Use host:port, a comma-separated list of host:port, or a URL such as "redis://host:6379"`;
      return hideCredentials(message);
    }
  }
  return undefined;
}

/** Replaces "user:password@" in text with "***@", so that a message never repeats credentials. */
function hideCredentials(text: string): string {
  return text.replace(/[^\s",/@]+@/g, "***@");
}

function validateEndpointUrl(endpoint: string): string | undefined {
  let url: URL;
  try {
    url = new URL(endpoint);
  } catch {
    return "invalid endpoint URL. Use a URL such as \"redis://host:6379\", or host:port";
  }

  if (url.hostname === "") {
    return `invalid endpoint URL with scheme ${JSON.stringify(url.protocol)}: the host is missing`;
  }
  return undefined;
}

/** Returns why `address` is not host:port, or undefined. */
function hostPortProblem(address: string): string | undefined {
  const colon = address.lastIndexOf(":");
  if (colon <= 0) {
    return address.startsWith(":") ? "the host is missing" : "the port is missing";
  }

  const host = address.slice(0, colon);
  const port = address.slice(colon + 1);
  if (!PORT.test(port) || Number(port) > 65_535) {
    return `port ${JSON.stringify(port)} is not a number from 0 to 65535`;
  }
  if (!HOST_NAME.test(host) && !IPV6_HOST.test(host)) {
    return `host ${JSON.stringify(host)} is not a host name, an IPv4 address or a bracketed IPv6 address`;
  }
  return undefined;
}

/** URL schemes an audit_backend may use besides the plain value "stdout". */
export const AUDIT_BACKEND_SCHEMES = ["file:", "postgres:", "postgresql:", "s3:", "gs:"] as const;

/** Validates an audit destination: "stdout", or a file, PostgreSQL or object-store (s3, gs) URL. */
export function validateAuditBackend(destination: string): string | undefined {
  if (destination === "stdout") {
    return undefined;
  }

  const allowed = 'Use "stdout", "file:///path", a postgres:// URL, or an s3:// or gs:// URL';
  let url: URL;
  try {
    url = new URL(destination);
  } catch {
    return `invalid audit backend. ${allowed}`;
  }

  const scheme = url.protocol as (typeof AUDIT_BACKEND_SCHEMES)[number];
  if (!AUDIT_BACKEND_SCHEMES.includes(scheme)) {
    return `unsupported audit backend scheme ${JSON.stringify(url.protocol)}. ${allowed}`;
  }
  return undefined;
}
