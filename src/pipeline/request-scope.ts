import { createContextKey } from "@connectrpc/connect";
import type { Principal } from "../auth/principal.js";
import type { KeyValueStore, PubSubChannel } from "../backends/driver.js";
import type { RequestLimitsConfig } from "../config/model.js";
import type { NameLimit } from "../isolation/names.js";
import type { AdmissionTicket } from "../limits/admission.js";
import type { Logger } from "../observability/logger.js";
import type { ClientConnection, Session } from "../sessions/session-registry.js";
import type { Tenant } from "../tenancy/tenant-registry.js";

/** The client connection a request arrived on, set by the server for every request. */
export const CONNECTION = createContextKey<ClientConnection | undefined>(undefined, {
  description: "client connection",
});

export type Action =
  | "kv.set"
  | "kv.get"
  | "kv.delete"
  | "kv.exists"
  | "kv.expire"
  | "kv.get_ttl"
  | "kv.persist"
  | "kv.batch_set"
  | "kv.batch_get"
  | "kv.batch_delete"
  | "pubsub.publish"
  | "pubsub.subscribe"
  | "pubsub.unsubscribe";

/** Everything a handler may use for one admitted request, bound to one tenant. */
export interface RequestScope {
  readonly requestId: string;
  readonly action: Action;
  readonly principal: Principal;
  readonly tenant: Tenant;
  readonly namespace: string;
  readonly session: Session;
  /** The request's admission against its namespace's limits; released by the pipeline when the request ends. */
  readonly admission: AdmissionTicket;
  readonly log: Logger;
  readonly signal: AbortSignal;
  readonly limits: RequestLimitsConfig;
  keyValue(): KeyValueStore;
  pubSub(): PubSubChannel;
  /** The tighter of request_limits.max_key_bytes and the key-value backend's own limit. */
  keyLimit(): NameLimit;
  /** The tighter of request_limits.max_topic_bytes and the PubSub backend's own limit. */
  topicLimit(): NameLimit;
  /** Releases what the request holds (admission, session activity); the pipeline calls it once when the request ends. */
  finish(): void;
}
