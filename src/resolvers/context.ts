/**
 * The context every resolver gets, built the same way for a REST route and for /graphql: the database,
 * the caller (the verified token's `sub`), and what bounds the cost of whole lists.
 */
import type { Db, PrismaClient } from '../db/client.js';
import type { ReadRouter } from '../db/replicas.js';
import type { ChangeFeed } from '../events/feed.js';
import type { StreamRegistry } from '../events/registry.js';
import type { Metrics } from '../metrics.js';
import type { PerUserLimit } from '../per-user-limit.js';

/**
 * A change's condition on the task's version: the versions it may apply to (an If-Match list, or GraphQL's
 * `expectedVersion`), or 'any' (`If-Match: *`: the task must exist, as it must anyway). Undefined: none;
 * 'missing': none, where REQUIRE_IF_MATCH asks for one (428, once the task is known to be the caller's).
 */
export type Precondition = { versions: readonly number[] } | 'any' | 'missing' | undefined;

/** Most tasks one GraphQL answer may hold from unpaged `tasks` fields, all aliases together. */
export const MAX_UNPAGED_TASKS = 10_000;

export interface Context {
  /** The client, or the transaction of a request with an Idempotency-Key: writes, and what must be current. */
  prisma: Db;
  /**
   * Where the caller's reads go: `prisma`, or with read replicas one that has every write of theirs
   * (../db/replicas.ts), chosen once per request.
   */
  read(): Db | Promise<Db>;
  /** A write resolver says it is about to write: once committed, the write is made known to every instance's reads. */
  wrote(): void;
  /** The verified JWT `sub`; null only where no token was required. */
  userId: string | null;
  /** Runs a whole (unpaged) list under its user's limit on such lists at once (UNPAGED_LIST_CONCURRENCY). */
  unpagedLists: PerUserLimit;
  /** Most tasks one user may have (MAX_TASKS_PER_USER). */
  maxTasksPerUser: number;
  /** Whether every change must be conditional (REQUIRE_IF_MATCH): If-Match on REST, expectedVersion on GraphQL. */
  requireIfMatch: boolean;
  /** A REST change's If-Match, for the resolver (GraphQL passes `expectedVersion` instead). */
  precondition?: Precondition;
  /** What live change streams need: the wake-ups, the places the instance has for streams, and where to read the log. */
  events: { prisma: PrismaClient; feed: ChangeFeed; streams: StreamRegistry; metrics: Metrics; reads?: ReadRouter | undefined };
  /** Milliseconds left on the request's token (a subscription ends there). */
  tokenExpiresInMs: () => number;
  /** Tasks this request may still return from unpaged lists (MAX_UNPAGED_TASKS at first). */
  unpagedBudget: { left: number };
  /** Whether the client has hung up (queued work is then dropped). */
  clientGone: () => boolean;
}

/** The context of a field that requires a signed-in caller (the `signedIn` auth scope). */
export type SignedInContext = Context & { userId: string };

/** What stays the same across requests. */
export type ContextDependencies = Pick<Context, 'unpagedLists' | 'maxTasksPerUser' | 'requireIfMatch' | 'events'> & {
  prisma: PrismaClient;
  /** Read replicas, when DATABASE_REPLICA_URLS names some. */
  reads?: ReadRouter | undefined;
  /** How long a response stored for an Idempotency-Key is replayed (IDEMPOTENCY_KEY_TTL). */
  idempotencyKeyTtlMs: number;
};

const connected = () => false;
const forever = () => 2 ** 31 - 1;
const unnoted = () => {};

export function createContext(
  dependencies: ContextDependencies,
  userId: string | null,
  options: {
    clientGone?: () => boolean;
    transaction?: Db | null;
    precondition?: Precondition;
    tokenExpiresInMs?: () => number;
    /** Called by a write resolver before it writes. */
    onWrite?: () => void;
    /** Where reads go, when another context of the same request has chosen already. */
    read?: Context['read'] | undefined;
  } = {},
): Context {
  const { prisma, unpagedLists, maxTasksPerUser, requireIfMatch, events, reads } = dependencies;
  let reader: Promise<Db> | undefined;
  const context: Context = {
    prisma: options.transaction ?? prisma,
    // Without replicas, or in a keyed write's transaction (given here, or put in `prisma` later by
    // ../graphql/idempotent-mutations.ts), reads use `prisma`, and nothing is asked.
    read:
      options.read ??
      (reads && userId !== null
        ? () => (context.prisma !== prisma ? context.prisma : (reader ??= reads.forUser(userId)))
        : () => context.prisma),
    wrote: options.onWrite ?? unnoted,
    unpagedLists,
    maxTasksPerUser,
    requireIfMatch,
    events,
    tokenExpiresInMs: options.tokenExpiresInMs ?? forever,
    userId,
    unpagedBudget: { left: MAX_UNPAGED_TASKS },
    clientGone: options.clientGone ?? connected,
    ...(options.precondition !== undefined && { precondition: options.precondition }),
  };
  return context;
}
