/**
 * The audit trail's metrics, declared in one table. Every event passed to record() is
 * counted once in recorded and, for each sink, ends up in exactly one of written,
 * dropped or the queue, so recorded = written + dropped + queued for every sink.
 */

/** Reason an event did not reach a sink. */
export type DropReason =
  /** overflow_policy drop: the sink's queue was full. */
  | "queue_full"
  /** overflow_policy reject: the queue and its reserve for admitted requests were both full. */
  | "reserve_full"
  /** The event was recorded after close(). */
  | "closed"
  /** The event was still queued when close() reached its deadline. */
  | "close_timeout";

export const DROP_REASONS: readonly DropReason[] = ["queue_full", "reserve_full", "closed", "close_timeout"];

export interface MetricDefinition {
  name: string;
  type: "counter" | "gauge";
  help: string;
  labels: readonly string[];
}

export const AUDIT_METRICS = {
  recorded: {
    name: "prism_audit_events_recorded_total",
    type: "counter",
    help: "Audit events passed to the audit log, of every enabled type.",
    labels: [],
  },
  rejectedRequests: {
    name: "prism_audit_requests_rejected_total",
    type: "counter",
    help: "Requests rejected with UNAVAILABLE because the audit trail was behind (overflow_policy reject).",
    labels: [],
  },
  written: {
    name: "prism_audit_events_written_total",
    type: "counter",
    help: "Audit events a sink stored.",
    labels: ["sink"],
  },
  dropped: {
    name: "prism_audit_events_dropped_total",
    type: "counter",
    help: "Audit events that never reached a sink, by reason.",
    labels: ["sink", "reason"],
  },
  sinkErrors: {
    name: "prism_audit_sink_errors_total",
    type: "counter",
    help: "Failed batch writes of a sink; each failed batch is retried.",
    labels: ["sink"],
  },
  queued: {
    name: "prism_audit_queue_events",
    type: "gauge",
    help: "Audit events waiting for a sink.",
    labels: ["sink"],
  },
} as const satisfies Record<string, MetricDefinition>;

export interface SinkMetrics {
  written: number;
  dropped: Record<DropReason, number>;
  errors: number;
  queued: number;
}

/** A snapshot of every audit counter. */
export interface AuditMetrics {
  recorded: number;
  rejectedRequests: number;
  /** Keyed by sink name. */
  sinks: Record<string, SinkMetrics>;
}

export function emptyDropCounts(): Record<DropReason, number> {
  return { queue_full: 0, reserve_full: 0, closed: 0, close_timeout: 0 };
}

/** Total drops of a sink across reasons. */
export function totalDropped(metrics: SinkMetrics): number {
  return DROP_REASONS.reduce((sum, reason) => sum + metrics.dropped[reason], 0);
}

/** Renders a snapshot in the Prometheus text exposition format (version 0.0.4). */
export function formatAuditMetrics(snapshot: AuditMetrics): string {
  const lines: string[] = [];
  const header = (metric: MetricDefinition): void => {
    lines.push(`# HELP ${metric.name} ${metric.help}`, `# TYPE ${metric.name} ${metric.type}`);
  };
  const sinks = Object.entries(snapshot.sinks);

  header(AUDIT_METRICS.recorded);
  lines.push(`${AUDIT_METRICS.recorded.name} ${snapshot.recorded}`);
  header(AUDIT_METRICS.rejectedRequests);
  lines.push(`${AUDIT_METRICS.rejectedRequests.name} ${snapshot.rejectedRequests}`);

  header(AUDIT_METRICS.written);
  for (const [sink, metrics] of sinks) {
    lines.push(`${AUDIT_METRICS.written.name}{sink=${labelValue(sink)}} ${metrics.written}`);
  }
  header(AUDIT_METRICS.dropped);
  for (const [sink, metrics] of sinks) {
    for (const reason of DROP_REASONS) {
      lines.push(`${AUDIT_METRICS.dropped.name}{sink=${labelValue(sink)},reason="${reason}"} ${metrics.dropped[reason]}`);
    }
  }
  header(AUDIT_METRICS.sinkErrors);
  for (const [sink, metrics] of sinks) {
    lines.push(`${AUDIT_METRICS.sinkErrors.name}{sink=${labelValue(sink)}} ${metrics.errors}`);
  }
  header(AUDIT_METRICS.queued);
  for (const [sink, metrics] of sinks) {
    lines.push(`${AUDIT_METRICS.queued.name}{sink=${labelValue(sink)}} ${metrics.queued}`);
  }
  return `${lines.join("\n")}\n`;
}

function labelValue(value: string): string {
  return `"${value.replace(/\\/g, "\\\\").replace(/"/g, '\\"').replace(/\n/g, "\\n")}"`;
}
