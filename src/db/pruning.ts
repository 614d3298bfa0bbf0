/**
 * Pruning on a timer, for the tables that keep rows for a while (idempotency keys, the change log): a
 * minute after start and then every `everyMs` (at most 10 minutes) until stopped; a failed pass is logged
 * and tried again next time. Every instance prunes: passes that overlap delete nothing twice.
 */
import type { Logger } from '../logger.js';

export function schedulePruning(what: string, prune: () => Promise<number>, keepMs: number, logger: Logger): () => void {
  const everyMs = Math.min(keepMs, 600_000);
  const pass = () =>
    prune().then(
      (deleted) => {
        if (deleted > 0) logger.debug({ deleted }, `${what} pruned`);
      },
      (error: unknown) => logger.warn({ err: { message: (error as Error).message } }, `pruning ${what} failed`),
    );
  const first = setTimeout(() => void pass(), Math.min(everyMs, 60_000));
  const timer = setInterval(() => void pass(), everyMs);
  first.unref();
  timer.unref();
  return () => {
    clearTimeout(first);
    clearInterval(timer);
  };
}
