/**
 * Wake-ups for the live streams of one instance: a write's trigger sends `pg_notify('task_events',
 * '<last event id> <user id>')` on commit when some instance watches the user (./registry.ts), and this instance holds one LISTEN connection for all its
 * streams, open only while some stream watches, reconnecting with backoff. A notification only says
 * "read the log again": streams read what they missed from the log (./log.ts), so a notification lost
 * while the connection was down costs nothing but a moment: after every (re)connect every stream re-reads.
 * With `pollMs` (TASK_EVENTS_POLL_MS: a database that cannot LISTEN) streams are woken on a timer instead.
 * The embedded database notifies in this process (PGlite's listen()).
 */
import pg from 'pg';
import type { Logger } from '../logger.js';

export const CHANNEL = 'task_events';

export interface ChangeFeed {
  /** Calls `wake` whenever the user's log may have grown, until the returned function is called. */
  watch(userId: string, wake: () => void): () => void;
  /** Wakes every stream: something may have been committed without a wake-up. */
  wakeAll(): void;
  close(): Promise<void>;
}

/** Something that can LISTEN: a PostgreSQL URL, or an in-process database (PGlite's listen). */
export type ListenSource =
  | { kind: 'postgres'; url: string; connectTimeoutMs: number }
  | { kind: 'local'; listen(channel: string, onPayload: (payload: string) => void): Promise<() => Promise<void>> }
  /** Nothing to LISTEN on: look at the log every second. */
  | { kind: 'poll' };

export function createChangeFeed(source: ListenSource, { pollMs = 0, logger }: { pollMs?: number; logger: Logger }): ChangeFeed {
  const watchers = new Map<string, Set<() => void>>();
  const wakeAll = () => {
    for (const set of watchers.values()) for (const wake of set) wake();
  };
  const onPayload = (payload: string) => {
    const space = payload.indexOf(' ');
    for (const wake of watchers.get(payload.slice(space + 1)) ?? []) wake();
  };
  const connection =
    pollMs > 0 || source.kind === 'poll'
      ? poller(pollMs || 1_000, wakeAll)
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
    close: () => connection.close(),
  };
}

interface Connection {
  /** Whether any stream watches: the connection is opened, or let go. */
  wanted(yes: boolean): void;
  close(): Promise<void>;
}

function poller(pollMs: number, wakeAll: () => void): Connection {
  let timer: NodeJS.Timeout | undefined;
  return {
    wanted(yes) {
      if (yes && !timer) timer = setInterval(wakeAll, pollMs);
      if (!yes && timer) {
        clearInterval(timer);
        timer = undefined;
      }
    },
    close() {
      clearInterval(timer);
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
      await (await unlisten)?.();
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
      logger.warn({ err: { message: error?.message ?? 'connection ended' }, retryInMs: delay }, 'task events: LISTEN connection lost; reconnecting');
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
