import type { AddressInfo } from "node:net";

export interface HostPort {
  host: string;
  port: number;
}

/** Parses "host:port", "[::1]:port" or ":port" (all interfaces). */
export function parseHostPort(address: string): HostPort {
  const match = /^(?:\[([^\]]+)\]|([^:]*)):(\d{1,5})$/.exec(address);
  const port = Number(match?.[3]);
  if (match === null || !Number.isInteger(port) || port > 65535) {
    throw new TypeError(`listen address ${JSON.stringify(address)} is not valid; use host:port, for example 127.0.0.1:8080`);
  }
  const host = match[1] ?? match[2] ?? "";
  return { host: host === "" ? "0.0.0.0" : host, port };
}

/** Formats a bound address as host:port, bracketing IPv6 hosts. */
export function formatAddress(address: AddressInfo | string | null): string {
  if (address === null || typeof address === "string") {
    return String(address);
  }
  const host = address.family === "IPv6" ? `[${address.address}]` : address.address;
  return `${host}:${address.port}`;
}
