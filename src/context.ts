/**
 * The context every resolver gets, built the same way for a REST route and for /graphql: the database,
 * the caller (the verified token's `sub`), and the bulkhead for unpaged lists.
 */
import type { PrismaClient } from './db/client.js';

export interface Context {
  prisma: PrismaClient;
  /** The verified JWT `sub`; null only where no token was required. */
  userId: string | null;
  /**
   * Runs an unpaged list (every task of a user, 10,000 or more): at most a few at once, so memory stays
   * bounded however many arrive together; the rest wait their turn.
   */
  unpagedLists: <T>(list: () => Promise<T>) => Promise<T>;
  /** Present on REST requests: a paged list notes its next page here, for the route's Link header. */
  page?: { nextCursor: string | null };
}

/** What stays the same across requests. */
export type ContextDependencies = Pick<Context, 'prisma' | 'unpagedLists'>;

export function createContext(dependencies: ContextDependencies, userId: string | null, page?: Context['page']): Context {
  return { prisma: dependencies.prisma, unpagedLists: dependencies.unpagedLists, userId, ...(page && { page }) };
}

declare module 'fastify' {
  interface FastifyRequest {
    /** The verified token's `sub`, once a route's authentication hook has run; null before (or where none is needed). */
    userId: string | null;
  }
}
