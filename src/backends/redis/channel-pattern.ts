/**
 * Mapping of topics to Redis channels. Topics are "."-separated tokens with NATS
 * wildcards ("*" is one token, a final ">" is the rest), validated before they reach a
 * driver. Redis has no tokens: its PSUBSCRIBE patterns are globs in which "*" also
 * matches ".", so a pattern subscription here is always wider than the topic pattern,
 * and every delivered channel is checked again with NATS semantics before delivery.
 */

import type { PrefixStrategy } from "../../isolation/prefix-strategy.js";

/** A Redis subscription: SUBSCRIBE to one channel, or PSUBSCRIBE to a glob pattern. */
export interface ChannelTarget {
  kind: "channel" | "pattern";
  /** The channel name or the glob pattern, as sent to Redis. */
  name: string;
}

const GLOB_CHARACTERS = /[*?[\]\\]/g;

/** Escapes the characters that Redis glob patterns (PSUBSCRIBE, SCAN MATCH, ACL) interpret. */
export function escapeGlob(text: string): string {
  return text.replace(GLOB_CHARACTERS, (character) => `\\${character}`);
}

/** Returns whether a topic pattern contains a wildcard token. */
export function hasWildcard(topicPattern: string): boolean {
  return topicPattern.split(".").some((token) => token === "*" || token === ">");
}

/** Builds the glob that matches every physical name of the tenant: its prefix, any name, the format's tail. */
export function tenantGlob(strategy: PrefixStrategy, tenantId: string): string {
  const prefix = strategy.prefixFor(tenantId);
  const tail = strategy.toPhysical(tenantId, "").slice(prefix.length);
  return `${escapeGlob(prefix)}*${escapeGlob(tail)}`;
}

/**
 * Chooses the Redis subscription that receives every message a topic pattern can match.
 * A pattern without wildcards is one channel. With `tenantWide`, every wildcard pattern
 * becomes the tenant's whole channel glob, because Redis ACLs accept a PSUBSCRIBE only
 * when its pattern equals an allowed channel pattern literally.
 */
export function channelTargetFor(
  strategy: PrefixStrategy,
  tenantId: string,
  topicPattern: string,
  tenantWide: boolean,
): ChannelTarget {
  if (!hasWildcard(topicPattern)) {
    return { kind: "channel", name: strategy.toPhysical(tenantId, topicPattern) };
  }
  if (tenantWide) {
    return { kind: "pattern", name: tenantGlob(strategy, tenantId) };
  }

  const prefix = strategy.prefixFor(tenantId);
  const tail = strategy.toPhysical(tenantId, "").slice(prefix.length);
  const glob = topicPattern
    .split(".")
    .map((token) => (token === "*" || token === ">" ? "*" : escapeGlob(token)))
    .join(".");
  return { kind: "pattern", name: `${escapeGlob(prefix)}${glob}${escapeGlob(tail)}` };
}
