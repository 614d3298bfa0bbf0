/**
 * The streams one instance holds open, both faces together. Each stream takes a place in the database
 * (open_task_event_stream, see the task_event_watchers migration): at most `maxPerUser` per user across
 * every instance, and `maxStreams` on this one; beyond either, 429. Taking the place also marks the user
 * as watched (unless this instance polls), which is what makes their writes send wake-ups at all. This
 * instance renews its places and watches every `ttlMs / 3` while any stream is open, and gives each place
 * back when its stream ends (a place whose instance died lapses after `ttlMs`).
 */
import { randomUUID } from 'node:crypto';
import type { PrismaClient } from '../db/client.js';
import { AppError } from '../errors.js';
import type { Logger } from '../logger.js';

class TooManyStreamsError extends AppError {
  constructor(message: string) {
    super(message, 'RATE_LIMITED', { 'retry-after': '5' });
  }
}

export interface OpenStream {
  /** Aborted when the instance stops (or the stream is released). */
  signal: AbortSignal;
  /** Gives the stream's place back; call once it has ended. */
  release(): void;
}

export interface StreamRegistry {
  /** A place for one more stream of `userId`, or TooManyStreamsError. */
  open(userId: string): Promise<OpenStream>;
  /** Ends every stream (their signals abort), and every stream opened from then on as it starts. */
  stopAll(): void;
  /** Streams open on this instance. */
  readonly size: number;
  /** Gives back the places of the streams still held (before the database closes). */
  close(): Promise<void>;
}

export interface StreamRegistryOptions {
  prisma: PrismaClient;
  logger: Logger;
  maxPerUser: number;
  maxStreams: number;
  /** How long a place and a watch last unless renewed. */
  ttlMs?: number;
  /** Whether streams are woken by notifications: only then are their users watched (their writes notify). */
  watch: boolean;
  /**
   * Called when renewing failed for so long that a watch may have lapsed: writes in that gap sent no
   * wake-up, so every stream must read the log again.
   */
  onLapse: () => void;
}

export function createStreamRegistry({
  prisma,
  logger,
  maxPerUser,
  maxStreams,
  ttlMs = 60_000,
  watch,
  onLapse,
}: StreamRegistryOptions): StreamRegistry {
  /** Open streams: id → user and the way to end it. */
  const open = new Map<string, { userId: string; controller: AbortController }>();
  /** Places being taken (counted against maxStreams, not yet in `open`). */
  let opening = 0;
  /**
   * Set by stopAll (a drain or a close). A stream whose place was still being taken then would otherwise
   * start after every stream was ended, and hold the instance open for ever: from then on a stream is
   * handed out already ended, holding no place, so that it ends as it starts, as the others did, with the
   * hint to reconnect (to another instance).
   */
  let stopping = false;
  const alreadyEnded: OpenStream = { signal: AbortSignal.abort(), release: () => {} };
  let renewTimer: NodeJS.Timeout | undefined;
  /** When the last renewal that reached the database started: every watch lasts until then + ttlMs. */
  let renewedAt = 0;

  const giveBack = (ids: string[]) =>
    prisma.$executeRaw`DELETE FROM task_event_streams WHERE id = ANY(${ids}::uuid[])`.then(
      () => undefined,
      (error: unknown) =>
        logger.warn({ err: { message: (error as Error).message } }, 'task events: could not give stream places back (they lapse)'),
    );
  /** Places of streams that ended, given back together once this turn of the event loop is over. */
  let ended: string[] = [];
  let givingBack: Promise<void> | undefined;
  const later = (id: string) => {
    ended.push(id);
    givingBack ??= new Promise<void>((resolve) => setImmediate(resolve)).then(async () => {
      while (ended.length > 0) {
        const ids = ended;
        ended = [];
        await giveBack(ids);
      }
      givingBack = undefined;
    });
  };

  const renew = async () => {
    if (open.size === 0) return;
    const startedAt = Date.now();
    const ids = [...open.keys()];
    const users = ids.map((id) => open.get(id)?.userId ?? '');
    try {
      await prisma.$executeRaw`SELECT renew_task_event_streams(${ids}::uuid[], ${users}::text[], ${ttlMs}::int, ${watch})`;
    } catch (error) {
      logger.warn({ err: { message: (error as Error).message } }, 'task events: could not renew stream places; retrying');
      return;
    }
    // 10 % margin for the clocks: past it, writes may have committed unwatched since the last renewal.
    const lapsed = startedAt > renewedAt + ttlMs * 0.9;
    renewedAt = startedAt;
    if (lapsed) onLapse();
  };

  const startRenewing = () => {
    if (renewTimer) return;
    renewTimer = setInterval(() => void renew(), ttlMs / 3);
    renewTimer.unref();
  };
  const stopRenewing = () => {
    clearInterval(renewTimer);
    renewTimer = undefined;
  };

  return {
    async open(userId) {
      if (stopping) return alreadyEnded;
      if (open.size + opening >= maxStreams)
        throw new TooManyStreamsError('This server holds as many streams as it can: retry after Retry-After seconds');
      const id = randomUUID();
      opening += 1;
      const startedAt = Date.now();
      let granted: boolean;
      try {
        const [row] = await prisma.$queryRaw<{ granted: boolean }[]>`
          SELECT open_task_event_stream(${userId}, ${id}::uuid, ${maxPerUser}::int, ${ttlMs}::int, ${watch}) AS granted`;
        granted = row?.granted === true;
      } finally {
        opening -= 1;
      }
      if (!granted) throw new TooManyStreamsError(`At most ${maxPerUser} streams per user: close one (tabs can share one)`);
      // eslint-disable-next-line @typescript-eslint/no-unnecessary-condition -- stopAll() may have run while the place was being taken
      if (stopping) {
        later(id);
        return alreadyEnded;
      }
      if (open.size === 0) renewedAt = startedAt;
      const controller = new AbortController();
      open.set(id, { userId, controller });
      startRenewing();
      let released = false;
      return {
        signal: controller.signal,
        release() {
          if (released) return;
          released = true;
          open.delete(id);
          if (open.size === 0) stopRenewing();
          controller.abort();
          later(id);
        },
      };
    },
    stopAll() {
      stopping = true;
      for (const { controller } of open.values()) controller.abort();
    },
    get size() {
      return open.size;
    },
    async close() {
      stopRenewing();
      const ids = [...open.keys()];
      open.clear();
      await givingBack;
      if (ids.length > 0) await giveBack(ids);
    },
  };
}
