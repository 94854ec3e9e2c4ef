import { randomUUID } from "node:crypto";
import type { EventEmitter } from "node:events";
import { resourceExhausted } from "../errors/prism-error.js";
import type { Logger } from "../observability/logger.js";
import type { Principal } from "../auth/principal.js";
import type { AuditLog } from "../audit/audit-log.js";
import { sessionCreatedEvent, sessionDestroyedEvent } from "../audit/audit-event.js";

/** A client connection as the server sees it: a TCP socket (HTTP/1.1) or an HTTP/2 session. */
export interface ClientConnection {
  readonly handle: EventEmitter;
  readonly remoteAddress: string;
}

export type SessionState = "active" | "closed";

/**
 * One authenticated client connection of one principal. It begins with the first
 * authenticated request on the connection and ends when the connection closes.
 */
export class Session {
  readonly id = randomUUID();
  readonly createdAt = Date.now();
  lastActivityAt = this.createdAt;
  requestsHandled = 0;
  #subscriptions = 0;
  #state: SessionState = "active";

  constructor(
    readonly principal: Principal,
    readonly remoteAddress: string,
    private readonly maxSubscriptions: number,
  ) {}

  get state(): SessionState {
    return this.#state;
  }

  get subscriptions(): number {
    return this.#subscriptions;
  }

  recordRequest(): void {
    this.requestsHandled++;
    this.lastActivityAt = Date.now();
  }

  /** Counts a new subscription against the session's limit; returns its idempotent release. */
  openSubscription(): () => void {
    if (this.#subscriptions >= this.maxSubscriptions) {
      throw resourceExhausted(
        `this session already has ${this.#subscriptions} subscriptions, the limit (request_limits.max_subscriptions_per_session is ${this.maxSubscriptions}); end a subscription or open a new connection`,
      );
    }

    this.#subscriptions++;
    let released = false;
    return () => {
      if (!released) {
        released = true;
        this.#subscriptions--;
      }
    };
  }

  /** Returns false when the session was already closed. */
  markClosed(): boolean {
    if (this.#state === "closed") {
      return false;
    }
    this.#state = "closed";
    return true;
  }
}

export interface SessionRegistryOptions {
  maxSessions: number;
  maxSessionsPerPrincipal: number;
  maxSubscriptionsPerSession: number;
  audit: AuditLog;
  logger: Logger;
}

/** Creates sessions for connections and destroys them when their connection closes. */
export class SessionRegistry {
  readonly #byConnection = new WeakMap<EventEmitter, Map<string, Session>>();
  readonly #perPrincipal = new Map<string, number>();
  #active = 0;

  constructor(private readonly options: SessionRegistryOptions) {}

  get activeCount(): number {
    return this.#active;
  }

  sessionsOf(principalName: string): number {
    return this.#perPrincipal.get(principalName) ?? 0;
  }

  /**
   * Returns the principal's session on this connection, creating it on first use.
   * `namespace` is the namespace of the request that opens the session.
   */
  acquire(connection: ClientConnection, principal: Principal, namespace: string): Session {
    let sessions = this.#byConnection.get(connection.handle);
    const existing = sessions?.get(principal.name);
    if (existing !== undefined) {
      return existing;
    }

    this.#checkCaps(principal);

    if (sessions === undefined) {
      const created = new Map<string, Session>();
      sessions = created;
      this.#byConnection.set(connection.handle, created);
      connection.handle.once("close", () => this.#destroyAll(created));
    }

    const session = new Session(principal, connection.remoteAddress, this.options.maxSubscriptionsPerSession);
    sessions.set(principal.name, session);
    this.#active++;
    this.#perPrincipal.set(principal.name, this.sessionsOf(principal.name) + 1);
    this.options.logger.debug(
      { session: session.id, principal: principal.name, tenant: principal.tenantId },
      "session created",
    );
    if (this.options.audit.records("session_created")) {
      this.options.audit.record(
        sessionCreatedEvent(
          { session_id: session.id, client_id: principal.name, namespace, tenant_id: principal.tenantId },
          session.createdAt,
        ),
      );
    }
    return session;
  }

  #checkCaps(principal: Principal): void {
    if (this.#active >= this.options.maxSessions) {
      throw resourceExhausted(
        `the proxy has ${this.#active} sessions, the limit (session_management.max_sessions); retry later`,
      );
    }
    const held = this.sessionsOf(principal.name);
    if (held >= this.options.maxSessionsPerPrincipal) {
      throw resourceExhausted(
        `principal ${principal.name} already holds ${held} sessions, the limit (session_management.max_sessions_per_principal); reuse an open connection`,
      );
    }
  }

  #destroyAll(sessions: Map<string, Session>): void {
    for (const session of sessions.values()) {
      if (!session.markClosed()) {
        continue;
      }
      this.#active--;
      const held = this.sessionsOf(session.principal.name) - 1;
      if (held > 0) {
        this.#perPrincipal.set(session.principal.name, held);
      } else {
        this.#perPrincipal.delete(session.principal.name);
      }
      const durationMs = Date.now() - session.createdAt;
      this.options.logger.debug(
        { session: session.id, principal: session.principal.name, durationMs, requestsHandled: session.requestsHandled },
        "session destroyed",
      );
      if (this.options.audit.records("session_destroyed")) {
        this.options.audit.record(
          sessionDestroyedEvent({ session_id: session.id, duration_ms: durationMs, requests_handled: session.requestsHandled }),
        );
      }
    }
    sessions.clear();
  }
}
