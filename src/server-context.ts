import type { RestRoute } from './rest/routes.js';

/** What the HTTP layer learns about a request before GraphQL runs it. */
export interface ServerContext {
  /** The verified JWT `sub`. */
  userId?: string;
  /** Set when the request came in through a REST route. */
  restRoute?: RestRoute;
}
