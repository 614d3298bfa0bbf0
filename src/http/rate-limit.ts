/**
 * Request rate limits, per user (the token's `sub`) and, for requests without a valid token, per client
 * address — counted by rate-limiter-flexible in this process's memory, or in Redis (REDIS_URL) so that a
 * fleet shares one count. The policy is RATE_LIMIT_BURST requests per window of RATE_LIMIT_BURST /
 * RATE_LIMIT_PER_SECOND seconds (100 per 2 s by default): the long-run rate and the burst a client gets,
 * described to it in the IETF `RateLimit-Policy` and `RateLimit` fields
 * (draft-ietf-httpapi-ratelimit-headers). Redis unreachable: requests pass, and a warning says so.
 */
import { connectRedis, redisReady } from '../redis.js';
import { RateLimiterMemory, RateLimiterRedis, RateLimiterRes, type RateLimiterAbstract } from 'rate-limiter-flexible';
import { RateLimitedError } from '../errors.js';
import type { Logger } from '../logger.js';

/** The name of our one policy in the RateLimit fields. */
const POLICY = 'default';
/** At most one "Redis unreachable" warning this often. */
const WARNING_INTERVAL_MS = 10_000;

export interface RateLimitConfig {
  /** Requests per second each user may make in the long run; 0 turns rate limiting off. */
  perSecond: number;
  /** Requests a user may make at once after being idle (the bucket's size). */
  burst: number;
  /** Where a fleet keeps its counters; unset: in this process's memory. */
  redisUrl: string | undefined;
}

export interface RateLimits {
  /** Counts one request of this user; the fields to send with the answer, or throws RateLimitedError. */
  consumeUser(userId: string): Promise<Record<string, string>>;
  /** Throws RateLimitedError when this address has used up its allowance of unauthenticated requests. */
  checkAddress(address: string): Promise<void>;
  /** Counts one unauthenticated (or badly authenticated) request from this address. */
  penalizeAddress(address: string): Promise<void>;
  /** Resolves once Redis is connected, or has failed to connect in time (then requests pass until it is). */
  ready(): Promise<void>;
  close(): Promise<void>;
}

export function createRateLimits(config: RateLimitConfig, logger: Logger): RateLimits {
  if (config.perSecond === 0) return unlimited;
  const points = config.burst;
  const duration = Math.max(1, Math.round(config.burst / config.perSecond));
  const policy = `"${POLICY}";q=${points};w=${duration}`;
  const redis = config.redisUrl ? connectRedis(config.redisUrl) : undefined;
  const connected = redis ? redisReady(redis) : Promise.resolve();
  let warnedAt = 0;
  const warn = (error: unknown) => {
    if (Date.now() - warnedAt < WARNING_INTERVAL_MS) return;
    warnedAt = Date.now();
    logger.warn(
      { err: { message: error instanceof Error ? error.message : String(error) } },
      'rate limits not enforced: Redis unreachable',
    );
  };
  redis?.on('error', warn);
  const limiter = (keyPrefix: string): RateLimiterAbstract =>
    redis
      ? new RateLimiterRedis({ storeClient: redis, keyPrefix, points, duration, rejectIfRedisNotReady: true })
      : new RateLimiterMemory({ keyPrefix, points, duration });
  const users = limiter('rl:user');
  const addresses = limiter('rl:addr');

  const fields = (state: RateLimiterRes) => ({
    'ratelimit-policy': policy,
    ratelimit: `"${POLICY}";r=${state.remainingPoints};t=${Math.ceil(state.msBeforeNext / 1000)}`,
  });
  const refusal = (state: RateLimiterRes) => {
    const seconds = Math.max(1, Math.ceil(state.msBeforeNext / 1000));
    return new RateLimitedError({ ...fields(state), 'retry-after': String(seconds) });
  };
  /** A refusal is a RateLimiterRes; anything else is the store failing, and then the request goes on. */
  const failOpen = (error: unknown): never | undefined => {
    if (error instanceof RateLimiterRes) throw refusal(error);
    warn(error);
    return undefined;
  };

  return {
    async consumeUser(userId) {
      try {
        return fields(await users.consume(userId));
      } catch (error) {
        failOpen(error);
        return {};
      }
    },
    async checkAddress(address) {
      try {
        const state = await addresses.get(address);
        if (state && state.consumedPoints >= points) throw refusal(state);
      } catch (error) {
        if (error instanceof RateLimitedError) throw error;
        failOpen(error);
      }
    },
    async penalizeAddress(address) {
      // Counted, never refused here: the request is answered 401 either way.
      await addresses.penalty(address).catch(failOpen);
    },
    ready: () => connected,
    close() {
      redis?.disconnect();
      return Promise.resolve();
    },
  };
}

const unlimited: RateLimits = {
  consumeUser: () => Promise.resolve({}),
  checkAddress: () => Promise.resolve(),
  penalizeAddress: () => Promise.resolve(),
  ready: () => Promise.resolve(),
  close: () => Promise.resolve(),
};
