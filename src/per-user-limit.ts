/**
 * Expensive work (whole task lists) limited per user rather than through one queue for the process: one
 * user sending many at once waits behind their own requests only. Work whose client has gone by the
 * time its turn comes is dropped.
 */
import pLimit, { type LimitFunction } from 'p-limit';
import { ClientClosedRequestError } from './errors.js';

/** Runs `work` when fewer than the limit of this user's are running; refuses it if `clientGone()` by then. */
export type PerUserLimit = <T>(userId: string, work: () => Promise<T>, clientGone?: () => boolean) => Promise<T>;

export function createPerUserLimit(concurrency: number): PerUserLimit {
  const limits = new Map<string, LimitFunction>();
  const forget = (userId: string, limit: LimitFunction) => {
    if (limit.activeCount === 0 && limit.pendingCount === 0 && limits.get(userId) === limit) limits.delete(userId);
  };
  return async (userId, work, clientGone) => {
    let limit = limits.get(userId);
    if (!limit) {
      limit = pLimit(concurrency);
      limits.set(userId, limit);
    }
    try {
      return await limit(async () => {
        // Its turn came as the one before finished: let the event loop take in what has happened since
        // (a client hanging up, other requests) before starting.
        await new Promise((resolve) => setImmediate(resolve));
        if (clientGone?.()) throw new ClientClosedRequestError();
        return work();
      });
    } finally {
      // p-limit counts a task as done a moment after its promise settles.
      const settled = limit;
      setImmediate(() => forget(userId, settled));
    }
  };
}
