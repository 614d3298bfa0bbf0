/**
 * Idempotency-Key (draft-ietf-httpapi-idempotency-key-header) for both faces. A keyed request runs in one
 * database transaction that first takes a lock on (user, key) and, if the key is new, makes the write and
 * stores the response beside it, so a crash leaves both or neither. A retry of the same request (method,
 * path and body: their SHA-256) is answered with the stored response; another request with the key is a
 * 422; one that arrives while the first still runs finds the lock taken and is a 409 at once.
 *
 * REST runs its work in one call (`runIdempotent`); /graphql opens the run before Yoga executes a mutation
 * and ends it once Yoga's answer is serialised (`beginKeyedRun`, from ./graphql/idempotent-mutations.ts).
 * Both go through the same lock, lookup and store: BEGIN, the lock and lookup in one statement, the
 * write, the store, COMMIT (each statement through Prisma costs ~250 µs of CPU, which is what a key costs).
 *
 * Stored rows outlive IDEMPOTENCY_KEY_TTL only until the next pruning pass (`pruneIdempotencyKeys`, on a
 * timer: ./db/pruning.ts, along the created_at index); a lookup ignores an expired row, so pruning late is harmless.
 */
import { createHash } from 'node:crypto';
import type { Db, PrismaClient } from './db/client.js';
import { isWriteConflict } from './database-errors.js';
import { BadUserInputError, IdempotencyKeyInProgressError, IdempotencyKeyReusedError } from './errors.js';

export interface StoredResponse {
  status: number;
  /** The headers replayed with the body: content-type, etag, location. */
  headers: Record<string, string>;
  body: string;
}

export interface IdempotentRequest {
  userId: string;
  key: string;
  fingerprint: string;
  ttlMs: number;
}

/**
 * What the work produced, and whether it is an outcome to replay. One that is not (an error: nothing was
 * done) is answered as it is, and everything the work wrote is rolled back.
 */
export interface Outcome {
  response: StoredResponse;
  store: boolean;
}

const KEY = /^[\x21-\x7e]{1,255}$/;

/** The request's Idempotency-Key, if it has one: 1–255 visible ASCII characters, else a 400. */
export function idempotencyKeyOf(headers: Record<string, string | string[] | undefined>): string | undefined {
  const value = headers['idempotency-key'];
  if (value === undefined) return undefined;
  if (typeof value !== 'string' || !KEY.test(value)) {
    throw new BadUserInputError('Idempotency-Key must be 1 to 255 visible ASCII characters (no spaces), sent once');
  }
  return value;
}

/** What makes two requests "the same": method, path with query, and the body's bytes. */
export function fingerprintOf(method: string, url: string, body: Buffer | string | null | undefined): string {
  return createHash('sha256')
    .update(`${method} ${url}\n`)
    .update(body ?? '')
    .digest('base64url');
}

/**
 * Runs `work` at most once per (user, key): in a transaction holding the key's lock, unless a stored
 * response answers it. `replayed` tells the caller to add `Idempotent-Replayed: true`.
 */
export async function runIdempotent(
  prisma: PrismaClient,
  request: IdempotentRequest,
  work: (transaction: Db) => Promise<Outcome>,
): Promise<{ response: StoredResponse; replayed: boolean }> {
  for (let attempt = 1; ; attempt++) {
    try {
      const run = await beginKeyedRun(prisma, request);
      if (run.replay) return { response: run.replay, replayed: true };
      let outcome: Outcome;
      try {
        outcome = await work(run.transaction);
      } catch (error) {
        await run.abandon();
        throw error;
      }
      await run.finish(outcome);
      return { response: outcome.response, replayed: false };
    } catch (error) {
      // A write conflict or deadlock rolled everything back: run it again, twice at most, then answer 503.
      if (attempt < 3 && isWriteConflict(error)) continue;
      throw error;
    }
  }
}

/** A keyed request's run: the stored answer to replay, or the key's transaction, held open for the work. */
export type KeyedRun = { replay: StoredResponse } | OpenKeyedRun;

export interface OpenKeyedRun {
  replay?: undefined;
  /** Where the work writes, under the key's lock. */
  transaction: Db;
  /**
   * Ends the run. An outcome to store is stored beside the writes, and all of it committed (if the commit
   * fails, nothing was written and this rejects: a write conflict or deadlock is the database's 503, to
   * retry); any other outcome is rolled back with everything the work wrote.
   */
  finish(outcome: Outcome): Promise<void>;
  /** Rolls back everything the work wrote; never fails. The first of `finish` and `abandon` ends the run, the rest do nothing. */
  abandon(): Promise<void>;
}

/**
 * Opens a keyed run, to be ended by the caller: a transaction whose callback takes the key's lock, looks
 * up a stored answer and, if there is none, waits (holding the lock) until the run is finished or
 * abandoned. Rejects with IDEMPOTENCY_KEY_IN_PROGRESS (409) while another run holds the key, with
 * IDEMPOTENCY_KEY_REUSED (422) if the key answered a different request, or with the database's error.
 * An open run must always be ended, or its transaction holds a connection until Prisma's timeout.
 */
export async function beginKeyedRun(prisma: PrismaClient, request: IdempotentRequest): Promise<KeyedRun> {
  let transaction: Db | undefined;
  let markOpen!: () => void;
  const opened = new Promise<undefined>((resolve) => (markOpen = () => resolve(undefined)));
  let end!: (outcome: Outcome | null) => void;
  const ended = new Promise<Outcome | null>((resolve) => (end = resolve));
  const settled = prisma.$transaction(
    async (tx): Promise<StoredResponse | undefined> => {
      const stored = await storedAnswer(tx, request);
      if (stored) return stored;
      transaction = tx;
      markOpen();
      const outcome = await ended;
      // Not to be stored: an answer that says nothing was done, so nothing may stay done.
      if (!outcome?.store) throw ROLLED_BACK;
      await storeAnswer(tx, request, outcome.response);
      return undefined;
    },
    // The server's isolation level, whatever it is (one statement fewer than naming one): the store
    // below, not the lookup, is what keeps a key from answering twice (see storedAnswer). A keyed write
    // waits for a connection as long as any request may, and runs no longer than one.
    { maxWait: 10_000, timeout: 30_000 },
  );
  // The transaction ends at once with a stored answer (or an error); otherwise it is open, waiting for `end`.
  const replay = await Promise.race([opened, settled]);
  if (replay) return { replay };
  let ending: Promise<void> | undefined;
  const finish = (outcome: Outcome | null): Promise<void> => {
    if (!ending) {
      end(outcome);
      ending = settled.then(
        () => undefined,
        (error: unknown) => {
          // Rolled back as asked (or anyway: a transaction that failed is gone); only a failed commit is news.
          if (outcome?.store) throw error;
        },
      );
    }
    return ending;
  };
  return { transaction: transaction as Db, finish, abandon: () => finish(null).catch(() => undefined) };
}

/**
 * The stored answer for the request's key, taking the key's lock first (held until the transaction ends),
 * in one statement. Its snapshot is taken before the lock, so a run that released the key between the two
 * may have stored an answer this lookup cannot see; then storeAnswer finds that live row instead of
 * writing over it, and the whole run is rolled back and tried again, when this lookup sees it.
 */
async function storedAnswer(tx: Db, { userId, key, fingerprint, ttlMs }: IdempotentRequest): Promise<StoredResponse | undefined> {
  const [row] = await tx.$queryRaw<
    { locked: boolean; fingerprint: string | null; status: number | null; headers: unknown; body: string | null }[]
  >`
    SELECT pg_try_advisory_xact_lock(hashtextextended(${userId} || chr(10) || ${key}, 0)) AS locked,
           k.fingerprint, k.status, k.headers, k.body
    FROM (VALUES (1)) AS one
    LEFT JOIN idempotency_keys k ON k.user_id = ${userId} AND k.key = ${key} AND k.created_at > ${liveAfter(ttlMs)}`;
  // A second request with the key does not wait behind the first but is told (409).
  if (!row?.locked) throw new IdempotencyKeyInProgressError();
  if (row.fingerprint === null) return undefined;
  if (row.fingerprint !== fingerprint) throw new IdempotencyKeyReusedError();
  return { status: row.status ?? 0, headers: row.headers as Record<string, string>, body: row.body ?? '' };
}

/**
 * Stores the answer beside the run's writes: a new row, or over an expired one. A live row means another
 * run stored its answer after this run's lookup: a write conflict, so the run is rolled back and retried.
 */
async function storeAnswer(tx: Db, { userId, key, fingerprint, ttlMs }: IdempotentRequest, response: StoredResponse): Promise<void> {
  const headers = JSON.stringify(response.headers);
  const stored = await tx.$executeRaw`
    INSERT INTO idempotency_keys (user_id, key, fingerprint, status, headers, body, created_at)
    VALUES (${userId}, ${key}, ${fingerprint}, ${response.status}, ${headers}::jsonb, ${response.body}, ${new Date()})
    ON CONFLICT (user_id, key) DO UPDATE
      SET fingerprint = excluded.fingerprint, status = excluded.status, headers = excluded.headers,
          body = excluded.body, created_at = excluded.created_at
      WHERE idempotency_keys.created_at <= ${liveAfter(ttlMs)}`;
  if (stored === 0) throw new KeyStoredMeanwhileError();
}

/** A stored answer is live while created after this. */
function liveAfter(ttlMs: number): Date {
  return new Date(Date.now() - ttlMs);
}

/** Another run stored an answer for the key between this run's lookup and its store: retried (40001). */
class KeyStoredMeanwhileError extends Error {
  readonly code = '40001';
  constructor() {
    super('the idempotency key was answered by another run meanwhile');
  }
}

/** Thrown in a keyed run's transaction to roll it back. */
const ROLLED_BACK = new Error('rolled back: not to be stored');

/** Deletes expired keys, a batch at a time along the created_at index; returns how many. */
export async function pruneIdempotencyKeys(prisma: PrismaClient, ttlMs: number, batch = 5_000): Promise<number> {
  const before = new Date(Date.now() - ttlMs);
  let total = 0;
  for (;;) {
    // Rows found along the created_at index, deleted by their physical address (a tid scan, no join).
    const deleted = await prisma.$executeRaw`
      DELETE FROM idempotency_keys
      WHERE ctid = ANY(ARRAY(SELECT ctid FROM idempotency_keys WHERE created_at < ${before} LIMIT ${batch}))`;
    total += deleted;
    if (deleted < batch) return total;
  }
}
