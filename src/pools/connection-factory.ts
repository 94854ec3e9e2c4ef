/**
 * The operations a pool uses to open, check, identify and close the connections of one
 * backend. A driver implements it over its client library, and the pool touches a
 * connection in no other way.
 */
export interface ConnectionFactory<C> {
  /**
   * Opens one connection. The signal aborts when the pool closes, and an implementation
   * should then give up and reject. A connection that resolves after the abort is closed.
   */
  create(signal: AbortSignal): Promise<C>;

  /**
   * Closes the connection and resolves once it is closed. The pool counts it as closed
   * even if this rejects. close() and closeSession() wait for it, so an implementation
   * should bound its wait, for example by destroying the socket after a timeout.
   */
  destroy(connection: C): Promise<void>;

  /** Whether the connection can serve a request now. Called when it is taken from, or returned to, the idle list. */
  isHealthy(connection: C): boolean;

  /** The identity reported in events and stats, such as the server's client id or backend process id. */
  describe(connection: C): { id: string };
}
