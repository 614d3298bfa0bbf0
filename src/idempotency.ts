/**
 * Idempotency-Key (draft-ietf-httpapi-idempotency-key-header) for both faces. A keyed request runs in one
 * database transaction that first takes a lock on (user, key) and, if the key is new, makes the write and
 * stores the response beside it, so a crash leaves both or neither. A retry of the same request (method,
 * path and body: their SHA-256) is answered with the stored response; another request with the key is a
 * 422; one that arrives while the first still runs finds the lock taken and is a 409 at once.
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
  const { userId, key, fingerprint, ttlMs } = request;
  for (let attempt = 1; ; attempt++) {
    try {
      return await prisma.$transaction(
        async (tx) => {
          // Held until commit; a second request with the key does not wait behind it but is told (409).
          const [lock] = await tx.$queryRaw<{ locked: boolean }[]>`
            SELECT pg_try_advisory_xact_lock(hashtextextended(${userId} || chr(10) || ${key}, 0)) AS locked`;
          if (!lock?.locked) throw new IdempotencyKeyInProgressError();
          const stored = await tx.idempotencyKey.findUnique({ where: { userId_key: { userId, key } } });
          if (stored && stored.createdAt.getTime() > Date.now() - ttlMs) {
            if (stored.fingerprint !== fingerprint) throw new IdempotencyKeyReusedError();
            return { response: { status: stored.status, headers: stored.headers as Record<string, string>, body: stored.body }, replayed: true };
          }
          const { response, store } = await work(tx);
          // Not to be stored: an answer that says nothing was done, so nothing may stay done.
          if (!store) throw new Unstored(response);
          const row = { fingerprint, status: response.status, headers: response.headers, body: response.body, createdAt: new Date() };
          await tx.idempotencyKey.upsert({ where: { userId_key: { userId, key } }, create: { userId, key, ...row }, update: row });
          return { response, replayed: false };
        },
        // Read committed whatever the server's default: after the lock, the lookup must see the commit that released it.
        // A keyed write waits for a connection as long as any request may, and runs no longer than one.
        { isolationLevel: 'ReadCommitted', maxWait: 10_000, timeout: 30_000 },
      );
    } catch (error) {
      if (error instanceof Unstored) return { response: error.response, replayed: false };
      // A write conflict or deadlock rolled everything back: run it again, twice at most, then answer 503.
      if (attempt < 3 && isWriteConflict(error)) continue;
      throw error;
    }
  }
}

/** Carries an answer out of a transaction that is rolled back. */
class Unstored extends Error {
  constructor(readonly response: StoredResponse) {
    super('not stored');
  }
}

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
