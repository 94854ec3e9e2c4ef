/** Public entry point of the configuration module. */

export { ConfigError, formatConfigIssue, type ConfigIssue } from "./config-error.js";
export { compareNumber, parseNumericComparison } from "./comparison.js";
export { defaultKeyValueBackend, defaultPubSubBackend } from "./complete-config.js";
export * from "./defaults.js";
export { ENVIRONMENT_OVERRIDES, SECRET_KEYS } from "./environment.js";
export { validatePrefixFormat, NAME_PLACEHOLDERS } from "./isolation-format.js";
export { findRoutingRule, resolveIsolationLevel, routingRuleMatches } from "./isolation-level.js";
export { loadConfigFile, parseConfig } from "./load.js";
export type * from "./model.js";
export {
  matchesNamespacePattern,
  namespacePatternCovers,
  namespacePatternsOverlap,
  validateNamespaceName,
  validateNamespacePattern,
} from "./namespace-pattern.js";
export { parseByteSize, parseCpu, parseDuration, type ParseResult } from "./quantities.js";
export { prismConfigSchema } from "./schema.js";
