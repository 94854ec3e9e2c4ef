/** An authenticated caller. Later methods (JWT, client certificates) produce the same shape. */
export interface Principal {
  /** Stable name for logs and audit records; never a credential. */
  name: string;
  tenantId: string;
  method: "api_key";
  /** Namespace patterns this principal is narrowed to; undefined means all of its tenant's. */
  namespaces: readonly string[] | undefined;
}

/** One authentication method. Returns undefined when the request carries no credential it handles. */
export interface Authenticator {
  authenticate(headers: Headers): Principal | undefined;
}
