/**
 * The validated configuration model. Keys keep the YAML spelling (snake_case) so an
 * operator can map every field back to the file. Quantities are parsed once at load:
 * durations to milliseconds, memory sizes to bytes, CPU to cores.
 */

/** Milliseconds, parsed from strings such as "300s", "5m", "250ms" or a bare number of seconds. */
export type DurationMs = number;
/** Bytes, parsed from strings such as "1Gi", "512Mi", "64k" or a bare number of bytes. */
export type Bytes = number;
/** CPU cores, parsed from strings such as "0.5", "2" or "500m" (millicores). */
export type Cores = number;

export type DeploymentModel = "single_tenant" | "multi_tenant" | "hybrid";
export type IsolationLevel = "none" | "namespace" | "session";
export type BackendKind = "memory" | "redis" | "nats" | "postgres" | "kafka";
export type DataInterface = "keyvalue" | "pubsub";

export interface ResourcesConfig {
  cpu?: Cores;
  memory?: Bytes;
}

export interface DeploymentConfig {
  model: DeploymentModel;
  /** Required when model is single_tenant; the tenant that owns every namespace. */
  tenant_id?: string;
  control_plane?: "prism-bridge";
}

export interface BackendPoolConfig {
  max_connections?: number;
  shared?: boolean;
  connections_per_namespace?: number;
  max_total_connections?: number;
  per_session_limit?: number;
}

export interface ConnectionPoolsConfig {
  shared?: boolean;
  per_namespace?: boolean;
  /** Time an unused namespace or session pool stays open before it is closed. */
  idle_pool_timeout?: DurationMs;
  /** Time a request waits for a connection from its pool before RESOURCE_EXHAUSTED. */
  acquire_timeout?: DurationMs;
  /** Time an idle connection stays open before its pool closes it. */
  idle_connection_timeout?: DurationMs;
  redis?: BackendPoolConfig;
  nats?: BackendPoolConfig;
  postgres?: BackendPoolConfig;
  kafka?: BackendPoolConfig;
}

export interface SessionManagementConfig {
  connection_reuse: boolean;
  max_sessions: number;
  session_timeout: DurationMs;
  /** Maximum concurrent sessions one principal may hold. */
  max_sessions_per_principal: number;
}

export interface PerNamespaceLimits {
  cpu?: Cores;
  memory?: Bytes;
  max_rps?: number;
  /** Extra requests admitted at once above the steady max_rps rate. */
  burst?: number;
  max_in_flight?: number;
}

export interface ResourceLimitsConfig {
  per_namespace?: PerNamespaceLimits;
}

/** Limits that protect the proxy process itself; every field has a default. */
export interface RequestLimitsConfig {
  max_key_bytes: number;
  max_value_bytes: Bytes;
  max_batch_size: number;
  max_subscriptions_per_session: number;
  max_topic_bytes: number;
  max_metadata_entries: number;
  max_metadata_bytes: Bytes;
}

/** One destination of the audit trail; the file and PostgreSQL keys apply only to their kind. */
export interface AuditSinkConfig {
  /** "stdout", "file:///path", "postgres://…"; s3:// and gs:// load, but the proxy refuses to start with them. */
  url: string;
  /** Label in metrics and logs, unique among the sinks; defaults to the kind ("stdout", "file", "postgres"). */
  name: string;
  /** File sink: size at which the active file is rotated. */
  max_file_bytes?: Bytes;
  /** File sink: rotated files kept. */
  max_files?: number;
  /** File sink: "batch" (fsync after every batch) or "never". */
  fsync?: "batch" | "never";
  /** PostgreSQL sink: schema of the prism_audit_events table. */
  schema?: string;
  /** PostgreSQL sink: resolved from a ${ENV_VAR} reference. */
  password?: string;
}

export interface AuditConfig {
  log_connection_lifecycle: boolean;
  log_session_lifecycle: boolean;
  log_requests: boolean;
  /** One-sink shorthand: "stdout", "file:///path", "postgres://…" or an object-store URL. */
  audit_backend?: string;
  /** The sinks, resolved at load from `sinks`, else from audit_backend, else one stdout sink. */
  sinks: AuditSinkConfig[];
  /** Policy when a sink's queue is full: drop the event, or reject new requests. */
  overflow_policy: "drop" | "reject";
  /** Capacity of each sink's queue, in events, before the overflow policy applies. */
  queue_capacity: number;
  /** Maximum number of events per sink write. */
  batch_size: number;
  /** Time the proxy's shutdown waits for the sinks to store queued events. */
  flush_timeout: DurationMs;
  /** Replace keys and topics in request records with their HMAC-SHA256. */
  redact_resources: boolean;
  /** HMAC key for redact_resources, resolved from a ${ENV_VAR} reference. */
  redaction_key?: string;
}

export interface ProxyConfig {
  /** Data plane listener, host:port. */
  listen: string;
  /** Admin listener for /healthz, /readyz and /metrics, host:port. */
  admin_listen: string;
  /** Time SIGTERM waits for in-flight requests before closing connections. */
  shutdown_grace: DurationMs;
  replicas?: number;
  resources?: ResourcesConfig;
  cluster?: { mode?: "dedicated" | "shared"; load_balancer?: "haproxy" | "nginx" | "envoy" };
  /** Deployment-wide default isolation level, overridden by pools, routing rules and tenants. */
  isolation_level: IsolationLevel;
  connection_pools?: ConnectionPoolsConfig;
  session_management: SessionManagementConfig;
  resource_limits?: ResourceLimitsConfig;
  request_limits: RequestLimitsConfig;
  audit?: AuditConfig;
}

export interface PrefixIsolation {
  type: "keyspace_prefix" | "subject_hierarchy" | "topic_prefix";
  /** Contains {tenant_id} before the name placeholder ({key}, {subject} or {topic}). */
  format: string;
}

export interface RowLevelSecurityIsolation {
  type: "row_level_security";
  enable_rls: boolean;
  tenant_column: string;
}

export interface PhysicalIsolation {
  type: "physical";
}

export type BackendIsolation = PrefixIsolation | RowLevelSecurityIsolation | PhysicalIsolation;

export interface BackendConfig {
  /** host:port, or a URL for backends that take one. */
  endpoint: string;
  isolation: BackendIsolation;
  database?: string;
  username?: string;
  /** Resolved from a ${ENV_VAR} reference; a literal in the file is rejected. */
  password?: string;
  ssl_mode?: "disable" | "prefer" | "require" | "verify-ca" | "verify-full";
  client_cert_auth?: boolean;
}

export interface MemoryBackendConfig {
  isolation: PrefixIsolation;
}

export interface BackendsConfig {
  memory: MemoryBackendConfig;
  redis?: BackendConfig;
  nats?: BackendConfig;
  postgres?: BackendConfig;
  kafka?: BackendConfig;
}

/** Which backend serves each data interface; defaults are resolved at load. */
export interface InterfacesConfig {
  keyvalue: { backend: BackendKind };
  pubsub: { backend: BackendKind };
}

export interface ObservabilityConfig {
  metrics_endpoint?: string;
  traces_endpoint?: string;
  logs_endpoint?: string;
  tenant_label: string;
  log_level: "fatal" | "error" | "warn" | "info" | "debug" | "trace";
}

export interface BridgeConfig {
  listen_addr?: string;
  namespace_routing?: { namespace: string; pool: string; weight?: number }[];
  load_balancer?: { type: "haproxy" | "nginx" | "envoy"; config_path?: string; reload_command?: string };
  service_discovery?: { type: "kubernetes" | "nomad" | "static"; label_selector?: string };
}

export interface ProxyPoolConfig {
  replicas?: number;
  resources?: ResourcesConfig;
  isolation_level?: IsolationLevel;
}

/** A comparison on a numeric tenant attribute, parsed from strings such as ">100000". */
export interface NumericComparison {
  op: ">" | ">=" | "<" | "<=" | "=";
  value: number;
}

export interface RoutingMatch {
  tier?: string;
  annual_revenue?: NumericComparison;
  contracts?: string[];
}

export interface RoutingAction {
  deployment?: "single_tenant" | "multi_tenant";
  pool?: string;
  isolation_level?: IsolationLevel;
  connection_pools?: ConnectionPoolsConfig;
}

export interface RoutingRule {
  match: RoutingMatch;
  action: RoutingAction;
}

export interface TenantRoutingConfig {
  rules: RoutingRule[];
}

export interface ComplianceConfig {
  frameworks?: string[];
  pii_encryption?: boolean;
  audit_retention_days?: number;
}

export interface ApiKeyConfig {
  /** Principal name used in logs and audit records; never the key itself. */
  name: string;
  /** "sha256:" followed by 64 lowercase hex digits of the key's SHA-256. */
  hash: string;
  /** Optional narrowing to a subset of the tenant's namespaces (exact names or globs). */
  namespaces?: string[];
}

export interface TenantConfig {
  id: string;
  /** Exact names or globs with "*" (for example "tenant-a-*"). */
  namespaces: string[];
  tier?: string;
  annual_revenue?: number;
  contracts?: string[];
  pool?: string;
  isolation_level?: IsolationLevel;
  limits?: PerNamespaceLimits;
  /** Backends for this tenant's data, overriding the deployment-wide interfaces section. */
  interfaces?: { keyvalue?: { backend: BackendKind }; pubsub?: { backend: BackendKind } };
  api_keys: ApiKeyConfig[];
}

export interface PrismConfig {
  deployment: DeploymentConfig;
  proxy: ProxyConfig;
  backends: BackendsConfig;
  interfaces: InterfacesConfig;
  observability: ObservabilityConfig;
  prism_bridge?: BridgeConfig;
  proxy_pools?: Record<string, ProxyPoolConfig>;
  tenant_routing?: TenantRoutingConfig;
  compliance?: ComplianceConfig;
  tenants: TenantConfig[];
}
