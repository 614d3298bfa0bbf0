/**
 * The streams one instance holds open, both faces together: at most `maxPerUser` per user and
 * `maxStreams` in all (beyond them, 429), and a way to end them all when the instance stops.
 */
import { AppError } from '../errors.js';

export class TooManyStreamsError extends AppError {
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
  open(userId: string): OpenStream;
  /** Ends every stream (their signals abort). */
  stopAll(): void;
}

export function createStreamRegistry({ maxPerUser, maxStreams }: { maxPerUser: number; maxStreams: number }): StreamRegistry {
  const open = new Set<AbortController>();
  const perUser = new Map<string, number>();
  return {
    open(userId) {
      if (open.size >= maxStreams) throw new TooManyStreamsError('This server holds as many streams as it can: retry after Retry-After seconds');
      const mine = perUser.get(userId) ?? 0;
      if (mine >= maxPerUser) throw new TooManyStreamsError(`At most ${maxPerUser} streams per user: close one (tabs can share one)`);
      perUser.set(userId, mine + 1);
      const controller = new AbortController();
      open.add(controller);
      let released = false;
      return {
        signal: controller.signal,
        release() {
          if (released) return;
          released = true;
          open.delete(controller);
          const left = (perUser.get(userId) ?? 1) - 1;
          if (left > 0) perUser.set(userId, left);
          else perUser.delete(userId);
          controller.abort();
        },
      };
    },
    stopAll() {
      for (const controller of open) controller.abort();
    },
  };
}
