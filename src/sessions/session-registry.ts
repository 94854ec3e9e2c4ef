import { randomUUID } from "node:crypto";
import type { EventEmitter } from "node:events";
import { resourceExhausted } from "../errors/prism-error.js";
import type { Logger } from "../observability/logger.js";
import type { Principal } from "../auth/principal.js";
import type { AuditLog } from "../audit/audit-log.js";
import { sessionCreatedEvent, sessionDestroyedEvent } from "../audit/audit-event.js";

/** A client connection: a TCP socket (HTTP/1.1) or an HTTP/2 session. */
export interface ClientConnection {
  readonly handle: EventEmitter;
  readonly remoteAddress: string;
}

export type SessionState = "active" | "closed";

/**
 * One authenticated client connection of one principal. It begins with the first
 * authenticated request on the connection and ends when the connection closes or when
 * it has had nothing in flight for the session timeout.
 */
export class Session {
  readonly id = randomUUID();
  readonly createdAt = Date.now();
  lastActivityAt = this.createdAt;
  requestsHandled = 0;
  #subscriptions = 0;
  #state: SessionState = "active";

  #inFlight = 0;

  constructor(
    readonly principal: Principal,
    readonly remoteAddress: string,
    /** The namespace of the request that opened the session. */
    readonly namespace: string,
    private readonly maxSubscriptions: number,
  ) {}

  /** Requests and streams of the session still running; a session with any is never idle. */
  get inFlight(): number {
    return this.#inFlight;
  }

  get state(): SessionState {
    return this.#state;
  }

  get subscriptions(): number {
    return this.#subscriptions;
  }

  /** Counts a request or stream that starts; returns its idempotent end, which also marks activity. */
  beginRequest(): () => void {
    this.requestsHandled++;
    this.#inFlight++;
    this.lastActivityAt = Date.now();
    let ended = false;
    return () => {
      if (!ended) {
        ended = true;
        this.#inFlight--;
        this.lastActivityAt = Date.now();
      }
    };
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
  /** A session with nothing in flight for this long is destroyed (session_management.session_timeout). */
  sessionTimeoutMs: number;
  audit: AuditLog;
  logger: Logger;
}

export type SessionEndReason = "connection_closed" | "idle_timeout" | "shutdown";

/** Bounds of the interval at which idle sessions are looked for. */
const MIN_IDLE_SWEEP_MS = 50;
const MAX_IDLE_SWEEP_MS = 5000;

/**
 * Creates sessions for connections and destroys them when their connection closes or
 * when they idle past the session timeout. Listeners learn of every end, so the pool
 * layer can close a session's dedicated backend connections.
 */
export class SessionRegistry {
  readonly #byConnection = new WeakMap<EventEmitter, Map<string, Session>>();
  readonly #sessions = new Map<Session, Map<string, Session>>();
  readonly #perPrincipal = new Map<string, number>();
  readonly #endListeners: ((session: Session, reason: SessionEndReason) => void)[] = [];
  readonly #idleSweep: NodeJS.Timeout;

  constructor(private readonly options: SessionRegistryOptions) {
    const interval = Math.min(MAX_IDLE_SWEEP_MS, Math.max(MIN_IDLE_SWEEP_MS, options.sessionTimeoutMs / 4));
    this.#idleSweep = setInterval(() => this.#destroyIdle(), interval);
    this.#idleSweep.unref();
  }

  get activeCount(): number {
    return this.#sessions.size;
  }

  sessionsOf(principalName: string): number {
    return this.#perPrincipal.get(principalName) ?? 0;
  }

  /** Active sessions opened by a request of this namespace. */
  sessionsIn(namespace: string): number {
    let count = 0;
    this.#sessions.forEach((_sessions, session) => (count += session.namespace === namespace ? 1 : 0));
    return count;
  }

  /** Calls the listener once for every session that ends, after it is closed. */
  onSessionEnd(listener: (session: Session, reason: SessionEndReason) => void): void {
    this.#endListeners.push(listener);
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
      connection.handle.once("close", () => {
        [...created.values()].forEach((session) => this.#destroy(session, "connection_closed"));
      });
    }

    const session = new Session(principal, connection.remoteAddress, namespace, this.options.maxSubscriptionsPerSession);
    sessions.set(principal.name, session);
    this.#sessions.set(session, sessions);
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

  /** Destroys every session; for shutdown. Idempotent. */
  close(): void {
    clearInterval(this.#idleSweep);
    [...this.#sessions.keys()].forEach((session) => this.#destroy(session, "shutdown"));
  }

  #checkCaps(principal: Principal): void {
    if (this.#sessions.size >= this.options.maxSessions) {
      throw resourceExhausted(
        `the proxy has ${this.#sessions.size} sessions, the limit (session_management.max_sessions); retry later`,
      );
    }
    const held = this.sessionsOf(principal.name);
    if (held >= this.options.maxSessionsPerPrincipal) {
      throw resourceExhausted(
        `principal ${principal.name} already holds ${held} sessions, the limit (session_management.max_sessions_per_principal); reuse an open connection`,
      );
    }
  }

  #destroyIdle(): void {
    const now = Date.now();
    for (const session of this.#sessions.keys()) {
      if (session.inFlight === 0 && now - session.lastActivityAt >= this.options.sessionTimeoutMs) {
        this.#destroy(session, "idle_timeout");
      }
    }
  }

  /** The one place a session ends: it leaves every index, is audited, and its listeners run. */
  #destroy(session: Session, reason: SessionEndReason): void {
    const connectionSessions = this.#sessions.get(session);
    if (connectionSessions === undefined || !session.markClosed()) {
      return;
    }
    this.#sessions.delete(session);
    connectionSessions.delete(session.principal.name);

    const held = this.sessionsOf(session.principal.name) - 1;
    if (held > 0) {
      this.#perPrincipal.set(session.principal.name, held);
    } else {
      this.#perPrincipal.delete(session.principal.name);
    }

    const durationMs = Date.now() - session.createdAt;
    this.options.logger.debug(
      { session: session.id, principal: session.principal.name, durationMs, requestsHandled: session.requestsHandled, reason },
      "session active -> closed",
    );
    if (this.options.audit.records("session_destroyed")) {
      this.options.audit.record(
        sessionDestroyedEvent({ session_id: session.id, duration_ms: durationMs, requests_handled: session.requestsHandled }),
      );
    }
    for (const listener of this.#endListeners) {
      try {
        listener(session, reason);
      } catch (error) {
        this.options.logger.error({ err: error, session: session.id }, "session end listener failed");
      }
    }
  }
}
