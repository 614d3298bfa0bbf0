import { GraphQLError } from 'graphql';

/**
 * Whether an error means "the database cannot serve us right now" (down, unreachable, overloaded, not
 * migrated yet) rather than a bug: ./errors.ts makes those 503 with Retry-After, never 500. Errors arrive in several
 * shapes: Prisma's codes, the driver adapter's error kinds, PostgreSQL's SQLSTATEs, node-postgres'
 * messages and Node's socket error codes, possibly wrapped as `cause`.
 */

/**
 * Prisma: can't reach, timed out, socket timeout, connection closed, pool timeout, too many connections,
 * table missing; a transaction that could not start or finish in time (P2028), a write conflict or
 * deadlock (P2034): each was rolled back, and a retry may go through.
 */
const PRISMA_CODES = new Set(['P1001', 'P1002', 'P1008', 'P1017', 'P2021', 'P2024', 'P2028', 'P2034', 'P2037']);
const ADAPTER_KINDS = new Set([
  'DatabaseNotReachable',
  'ConnectionClosed',
  'SocketTimeout',
  'TooManyConnections',
  'TableDoesNotExist',
  'TransactionWriteConflict',
]);
/**
 * SQLSTATE: admin/crash shutdown, cannot connect now, statement timeout, serialization failure, deadlock
 * (class 08, connection, and 53, out of resources, below).
 */
const SQLSTATES = new Set(['57P01', '57P02', '57P03', '57014', '40001', '40P01']);
/**
 * SQLSTATE classes: 08 connection exceptions; 53 insufficient resources (disk full, out of memory, too
 * many connections): the database cannot write or work now, which waiting may mend.
 */
const SQLSTATE_CLASSES = ['08', '53'];
const SOCKET_CODES = new Set(['ECONNREFUSED', 'ECONNRESET', 'ETIMEDOUT', 'EPIPE', 'EHOSTUNREACH', 'ENETUNREACH', 'ENOTFOUND', 'EAI_AGAIN']);
/** node-postgres reports its own timeouts and lost connections only in words. */
const PG_MESSAGES =
  /Connection terminated|timeout exceeded when trying to connect|Query read timeout|Client has encountered a connection error|Connection ended unexpectedly/;

export function isDatabaseUnavailable(error: unknown, depth = 0): boolean {
  if (error === null || typeof error !== 'object' || depth > 8) return false;
  const e = error as {
    code?: unknown;
    originalCode?: unknown;
    kind?: unknown;
    message?: unknown;
    cause?: unknown;
    originalError?: unknown;
    meta?: unknown;
  };
  for (const code of [e.code, e.originalCode]) {
    if (typeof code !== 'string') continue;
    if (PRISMA_CODES.has(code) || SOCKET_CODES.has(code)) return true;
    if (/^[0-9A-Z]{5}$/.test(code) && (SQLSTATES.has(code) || SQLSTATE_CLASSES.includes(code.slice(0, 2)))) return true;
  }
  if (typeof e.kind === 'string' && ADAPTER_KINDS.has(e.kind)) return true;
  // Only a driver's own error is read for words: a GraphQLError's message may quote the client's input.
  if (!(error instanceof GraphQLError) && typeof e.message === 'string' && PG_MESSAGES.test(e.message)) return true;
  const adapterError = (e.meta as { driverAdapterError?: unknown } | undefined)?.driverAdapterError;
  return [e.cause, e.originalError, adapterError].some((inner) => isDatabaseUnavailable(inner, depth + 1));
}

/** Whether a transaction failed on a write conflict or deadlock (rolled back: running it again is safe). */
export function isWriteConflict(error: unknown, depth = 0): boolean {
  if (error === null || typeof error !== 'object' || depth > 8) return false;
  const e = error as { code?: unknown; originalCode?: unknown; kind?: unknown; cause?: unknown; originalError?: unknown; meta?: unknown };
  if ([e.code, e.originalCode].some((code) => code === 'P2034' || code === '40001' || code === '40P01')) return true;
  if (e.kind === 'TransactionWriteConflict') return true;
  const adapterError = (e.meta as { driverAdapterError?: unknown } | undefined)?.driverAdapterError;
  return [e.cause, e.originalError, adapterError].some((inner) => isWriteConflict(inner, depth + 1));
}

/**
 * The schema engine reports a database it cannot use in Prisma's words only (P1001 "Can't reach database
 * server", P1002 "…was reached but timed out", also when another instance holds the migration lock, P1017
 * "Server has closed the connection"), or passes the driver's message on.
 */
const ENGINE_MESSAGES =
  /Can't reach database server|was reached but timed out|Timed out|Server has closed the connection|too many (clients|connections)|the database system is (starting up|shutting down|in recovery)|terminating connection/i;

/**
 * Whether applying migrations failed only because the database is not reachable right now. A driver's
 * error the engine reports only by number, with nothing kept to say what it was (./db/schema-engine.ts
 * resolves the others), is taken for one too: a migration's own SQL failing is always kept, a connection
 * cut under the engine not always.
 */
export function isMigrationRetryable(error: unknown): boolean {
  if (isDatabaseUnavailable(error)) return true;
  const message = (error as { message?: unknown } | null)?.message;
  return typeof message === 'string' && (ENGINE_MESSAGES.test(message) || /^External error id#\d+\s*$/.test(message));
}
