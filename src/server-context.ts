import type { RestRoute } from './rest/routes.js';

/** What the HTTP layer learns about a request before GraphQL runs it. */
export interface ServerContext {
  /** The verified JWT `sub`. */
  userId?: string;
  /** Set when the request came in through a REST route. */
  restRoute?: RestRoute;
  /**
   * Where a paged list notes its next page (REST only). An object, because SOFA hands resolvers a copy
   * of this context whose own properties do not come back; a shared object's do.
   */
  page?: { nextCursor: string | null };
  /** This request's id (`x-request-id`), for the log and the response. */
  requestId?: string;
  /** performance.now() when the request arrived; unset for requests that are not logged. */
  startedAt?: number;
}
