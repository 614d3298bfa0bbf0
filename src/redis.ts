/**
 * The one way this server connects to Redis (REDIS_URL): a request never waits for Redis to come back.
 * Without a connection a command fails at once, and one that takes longer than REDIS_TIMEOUT_MS fails
 * too; the caller decides what that means (the rate limits let requests pass, the read replicas send
 * reads to the primary).
 */
import { Redis } from 'ioredis';

const REDIS_TIMEOUT_MS = 250;
const CONNECT_TIMEOUT_MS = 2_000;

export function connectRedis(url: string): Redis {
  return new Redis(url, {
    enableOfflineQueue: false,
    maxRetriesPerRequest: 0,
    commandTimeout: REDIS_TIMEOUT_MS,
    connectTimeout: CONNECT_TIMEOUT_MS,
  });
}

/** Resolves once `redis` is connected, or has failed to connect within the connect timeout. */
export function redisReady(redis: Redis): Promise<void> {
  if (redis.status === 'ready') return Promise.resolve();
  return Promise.race([
    new Promise<void>((resolve) => redis.once('ready', () => resolve())),
    new Promise<void>((resolve) => setTimeout(resolve, CONNECT_TIMEOUT_MS).unref()),
  ]);
}
