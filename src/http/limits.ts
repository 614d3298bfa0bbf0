/** Limits on what a client may send and how long it may take, in one place. */
export const limits = {
  /** Largest request body, in bytes (a task is at most 500 characters; GraphiQL's introspection query is ~3 KB). */
  maxBodyBytes: 64 * 1024,
  /** Largest request head (request line + headers), in bytes; beyond it Node answers 431. */
  maxHeaderBytes: 16 * 1024,
  /** Milliseconds a client has to send the complete request head. */
  headersTimeoutMs: 10_000,
  /** Milliseconds a client has to send the complete request. */
  requestTimeoutMs: 30_000,
  /** Milliseconds an idle keep-alive connection is kept open (below common load-balancer idle timeouts). */
  keepAliveTimeoutMs: 5_000,
};

export type Limits = typeof limits;
