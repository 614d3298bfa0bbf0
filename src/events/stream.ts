/**
 * One user's live change stream, for both faces: the events after a cursor, in commit order, each once,
 * then the new ones as they are committed (woken by ./feed.ts, read from ./log.ts). A cursor older than
 * what the log keeps yields a `reset` first (reload the list, then go on from its id); no cursor starts
 * at the user's latest event.
 */
import type { Db, PrismaClient } from '../db/client.js';
import { lsnValue, type ReadRouter } from '../db/replicas.js';
import type { ChangeFeed } from './feed.js';
import { eventsAfter, lastEventId, prunedThrough, type LoggedEvent } from './log.js';

export type StreamItem = { type: 'event'; event: LoggedEvent } | { type: 'reset'; id: bigint };

/** Events read from the log at a time. */
const BATCH = 100;

/**
 * Where a stream reads: the primary (where it starts, and the log whenever it cannot tell what it was
 * woken for), the wake-ups, and with read replicas where else the log may be read.
 */
export interface StreamSources {
  prisma: PrismaClient;
  feed: ChangeFeed;
  reads?: ReadRouter | undefined;
}

/**
 * Opens the stream: resolves once it watches and knows where it starts (so a client told that its stream
 * is open, after this, is sent every change committed from then on), and rejects if that read fails.
 */
export async function openTaskEventStream(
  sources: StreamSources,
  userId: string,
  after: bigint | null,
  signal: AbortSignal,
): Promise<AsyncGenerator<StreamItem, void, undefined>> {
  const stream = follow(sources, userId, after, signal);
  // Runs it to its first yield, STARTED; from then on, return() ends it (its watch included).
  await stream.next();
  return stream as AsyncGenerator<StreamItem, void, undefined>;
}

const STARTED = Symbol('started');

async function* follow(
  { prisma, feed, reads }: StreamSources,
  userId: string,
  after: bigint | null,
  signal: AbortSignal,
): AsyncGenerator<StreamItem | typeof STARTED, void, undefined> {
  // Watching before the first read: a change committed meanwhile wakes it again rather than being missed.
  let pending = true;
  let notify: (() => void) | undefined;
  // With replicas: the primary's WAL position the pending wake-ups were for, or null when one of them did
  // not say (then the primary is read: a replica may lack the change, and nothing could tell).
  const woken: { lsn: string | null } = { lsn: null };
  const wake = (lsn?: string) => {
    if (!pending) woken.lsn = lsn ?? null;
    else if (woken.lsn !== null) woken.lsn = lsn === undefined ? null : lsnValue(lsn) > lsnValue(woken.lsn) ? lsn : woken.lsn;
    pending = true;
    notify?.();
  };
  const unwatch = feed.watch(userId, wake);
  const onAbort = () => wake();
  signal.addEventListener('abort', onAbort);
  const stopped = () => signal.aborted;
  try {
    let cursor: bigint;
    let reset = false;
    if (after === null) {
      cursor = await lastEventId(prisma, userId);
    } else {
      const horizon = await prunedThrough(prisma);
      cursor = after;
      if (after < horizon) {
        // Go on from what the log still has: the user's last event, or where pruning stopped.
        const last = await lastEventId(prisma, userId);
        cursor = last > horizon ? last : horizon;
        reset = true;
      }
    }
    yield STARTED;
    if (reset) yield { type: 'reset', id: cursor };
    while (!stopped()) {
      if (!pending) {
        await new Promise<void>((resolve) => (notify = resolve));
        notify = undefined;
        continue;
      }
      pending = false;
      const position = woken.lsn;
      woken.lsn = null;
      // A replica only once it has replayed what the stream was woken for: it then has every event the
      // primary would give, so none is missed or comes late.
      const db: Db = reads && position !== null ? await reads.replayed(position) : prisma;
      for (let more = true; more && !stopped();) {
        const events = await eventsAfter(db, userId, cursor, BATCH);
        for (const event of events) {
          cursor = event.id;
          yield { type: 'event', event };
        }
        more = events.length === BATCH;
      }
    }
  } finally {
    unwatch();
    signal.removeEventListener('abort', onAbort);
  }
}

/** A cursor as clients send it back (Last-Event-ID, `after`): the decimal event id, or undefined if it is not one. */
export function parseCursor(value: string): bigint | undefined {
  return /^(0|[1-9]\d{0,18})$/.test(value) ? BigInt(value) : undefined;
}
