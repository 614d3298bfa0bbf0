/**
 * Wake-ups for the live streams of one instance, in one of two ways:
 * - Polling (the default on PostgreSQL, every DEFAULT_POLL_MS; TASK_EVENTS_POLL_MS sets another interval):
 *   every `pollMs` one query reads the change counter (users.change_count, moved by every write in its own
 *   transaction) of every user this instance watches, and wakes the streams of those whose counter
 *   moved. Writes send nothing and wait for nothing; the instance needs no connection of its own, so it
 *   works through any pooler. It costs one query per interval while the instance has a stream open.
 * - LISTEN (TASK_EVENTS_POLL_MS=0): a write's trigger sends `pg_notify('task_events', '<last event id>
 *   <user id>')` on commit when some LISTEN instance watches the user (./registry.ts), and this instance
 *   holds one LISTEN connection for all its streams, open only while some stream watches, reconnecting
 *   with backoff. A notification lost while the connection was down costs nothing but a moment: after
 *   every (re)connect every stream reads the log again (./log.ts). Idle streams cost nothing, but a
 *   notifying transaction holds the database's notification lock through its commit, so writes by watched
 *   users commit one at a time: measured, 25–55 % fewer such writes a second (bench/RESULTS.md, issue 21).
 * The embedded database notifies in this process (PGlite's listen()), unless TASK_EVENTS_POLL_MS is set.
 */
import pg from 'pg';
import { WRITTEN_POSITION, type Db, type ListenSource } from '../db/client.js';
import { Prisma } from '../generated/prisma/client.js';
import type { Logger } from '../logger.js';

const CHANNEL = 'task_events';

export interface ChangeFeed {
  /**
   * Calls `wake` whenever the user's log may have grown, until the returned function is called; when
   * polling for read replicas, with the primary's WAL position at the look that saw the change.
   */
  watch(userId: string, wake: (lsn?: string) => void): () => void;
  /** Wakes every stream: something may have been committed without a wake-up. */
  wakeAll(): void;
  /** Whether streams are woken by notifications (LISTEN), which writes send only for watched users. */
  readonly listens: boolean;
  close(): Promise<void>;
}

/** How often a PostgreSQL instance polls by default: a change reaches a stream within about this long. */
const DEFAULT_POLL_MS = 25;

export interface ChangeFeedOptions {
  /** Poll this often (0: LISTEN; unset: DEFAULT_POLL_MS on PostgreSQL, in-process wake-ups on PGlite). */
  pollMs?: number | undefined;
  /** Where the poller reads the change counters. */
  prisma: Db;
  /** Whether a wake-up says the primary's WAL position (for streams reading from replicas, ../db/replicas.ts). */
  positions?: boolean | undefined;
  logger: Logger;
}

export function createChangeFeed(source: ListenSource, options: ChangeFeedOptions): ChangeFeed {
  const { prisma, logger } = options;
  const pollMs = options.pollMs ?? (source.kind === 'postgres' ? DEFAULT_POLL_MS : 0);
  const watchers = new Map<string, Set<(lsn?: string) => void>>();
  const wakeAll = () => {
    for (const set of watchers.values()) for (const wake of set) wake();
  };
  const onPayload = (payload: string) => {
    const space = payload.indexOf(' ');
    for (const wake of watchers.get(payload.slice(space + 1)) ?? []) wake();
  };
  const polls = pollMs > 0 || source.kind === 'poll';
  const connection = polls
    ? poller(
        pollMs || 1_000,
        prisma,
        () => [...watchers.keys()],
        (userId, lsn) => {
          for (const wake of watchers.get(userId) ?? []) wake(lsn);
        },
        logger,
        options.positions ?? false,
      )
    : source.kind === 'local'
      ? localListener(source, onPayload, logger)
      : listener(source, onPayload, wakeAll, logger);

  return {
    watch(userId, wake) {
      let set = watchers.get(userId);
      if (!set) watchers.set(userId, (set = new Set()));
      set.add(wake);
      connection.wanted(true);
      return () => {
        set.delete(wake);
        if (set.size === 0) watchers.delete(userId);
        if (watchers.size === 0) connection.wanted(false);
      };
    },
    wakeAll,
    listens: !polls,
    close: () => connection.close(),
  };
}

interface Connection {
  /** Whether any stream watches: the connection is opened, or let go. */
  wanted(yes: boolean): void;
  close(): Promise<void>;
}

/**
 * Reads the change counters of the watched users every `pollMs` (one query: a join, where `id = ANY(…)`
 * compared every row with every id, 10 ms for 1,000 users against 1.5 ms) and
 * wakes those whose counter moved, or that it had not seen yet (a change may have come between their
 * stream's first read and this look). One look at a time: a slow database delays the next, never piles up.
 */
function poller(
  pollMs: number,
  prisma: Db,
  watched: () => string[],
  wake: (userId: string, lsn?: string) => void,
  logger: Logger,
  positions: boolean,
): Connection {
  let timer: NodeJS.Timeout | undefined;
  /** The counters of the last look: a user not in it is woken at its first. */
  let seen = new Map<string, bigint>();
  let failing = false;
  const look = async () => {
    const users = watched();
    if (users.length === 0) return;
    const rows = positions
      ? await prisma.$queryRaw<{ id: string; change_count: bigint; lsn: string }[]>`
          SELECT u.id, u.change_count, p.lsn FROM unnest(${users}::text[]) AS w(id) JOIN users u USING (id) CROSS JOIN (${Prisma.raw(WRITTEN_POSITION)}) p`
      : await prisma.$queryRaw<{ id: string; change_count: bigint; lsn?: undefined }[]>`
          SELECT u.id, u.change_count FROM unnest(${users}::text[]) AS w(id) JOIN users u USING (id)`;
    const next = new Map<string, bigint>();
    for (const row of rows) {
      next.set(row.id, row.change_count);
      if (seen.get(row.id) !== row.change_count) wake(row.id, row.lsn);
    }
    seen = next;
  };
  let wanted = false;
  let running = false;
  const tick = () => {
    timer = undefined;
    if (!wanted) return;
    running = true;
    look()
      .then(
        () => (failing = false),
        (error: unknown) => {
          // Logged once per outage; the counters seen are kept, so the first look after it wakes what moved.
          if (!failing)
            logger.warn({ err: { message: (error as Error).message } }, 'task events: cannot read the change counters; retrying');
          failing = true;
        },
      )
      .finally(() => {
        running = false;
        schedule();
      });
  };
  const schedule = () => {
    if (wanted && !running && !timer) timer = setTimeout(tick, pollMs);
  };
  return {
    wanted(yes) {
      wanted = yes;
      if (yes) return schedule();
      clearTimeout(timer);
      timer = undefined;
      seen = new Map();
    },
    close() {
      wanted = false;
      clearTimeout(timer);
      timer = undefined;
      return Promise.resolve();
    },
  };
}

function localListener(source: Extract<ListenSource, { kind: 'local' }>, onPayload: (payload: string) => void, logger: Logger): Connection {
  let unlisten: Promise<(() => Promise<void>) | undefined> | undefined;
  return {
    wanted(yes) {
      if (yes && !unlisten) {
        unlisten = source.listen(CHANNEL, onPayload).catch((error: unknown) => {
          logger.error({ err: error }, 'cannot listen for task events');
          return undefined;
        });
      }
    },
    async close() {
      await (
        await unlisten
      )?.();
    },
  };
}

/**
 * One LISTEN connection on PostgreSQL, opened on demand; when it fails it is opened again after 250 ms,
 * doubling up to 10 s, and every stream re-reads the log once it is back (notifications sent while it was
 * down are lost, the events are not). Let go a minute after the last stream ends.
 */
function listener(
  source: Extract<ListenSource, { kind: 'postgres' }>,
  onPayload: (payload: string) => void,
  wakeAll: () => void,
  logger: Logger,
): Connection {
  let client: pg.Client | undefined;
  let wanted = false;
  let closed = false;
  let retryTimer: NodeJS.Timeout | undefined;
  let idleTimer: NodeJS.Timeout | undefined;
  let delay = 250;

  const connect = () => {
    clearTimeout(retryTimer);
    if (client || closed || !wanted) return;
    const current = new pg.Client({ connectionString: source.url, connectionTimeoutMillis: source.connectTimeoutMs, keepAlive: true });
    client = current;
    const lost = (error?: Error) => {
      if (client !== current) return;
      client = undefined;
      current.removeAllListeners('notification');
      void current.end().catch(() => {});
      if (closed || !wanted) return;
      logger.warn(
        { err: { message: error?.message ?? 'connection ended' }, retryInMs: delay },
        'task events: LISTEN connection lost; reconnecting',
      );
      retryTimer = setTimeout(connect, delay);
      delay = Math.min(delay * 2, 10_000);
    };
    current.on('error', lost);
    current.on('end', () => lost());
    current.on('notification', (message) => {
      if (message.channel === CHANNEL && message.payload) onPayload(message.payload);
    });
    current
      .connect()
      .then(() => current.query(`LISTEN ${CHANNEL}`))
      .then(() => {
        if (client !== current) return;
        delay = 250;
        // Whatever was committed while no one listened: every stream reads the log again.
        wakeAll();
      })
      .catch((error: unknown) => lost(error as Error));
  };

  return {
    wanted(yes) {
      wanted = yes;
      clearTimeout(idleTimer);
      if (yes) return connect();
      idleTimer = setTimeout(() => {
        if (wanted) return;
        const current = client;
        client = undefined;
        void current?.end().catch(() => {});
      }, 60_000);
      idleTimer.unref();
    },
    async close() {
      closed = true;
      clearTimeout(retryTimer);
      clearTimeout(idleTimer);
      const current = client;
      client = undefined;
      await current?.end().catch(() => {});
    },
  };
}
