/**
 * Read replicas (DATABASE_REPLICA_URLS) with read-your-writes. A user's reads go to a replica only when it
 * has every write of theirs; reads of the change log only when it has replayed what the stream was woken
 * for; otherwise, and whenever a replica is down, lags more than REPLICA_MAX_LAG_MS, or fails a query, the
 * primary answers. Writes, transactions and whatever must be current never come here.
 *
 * What a user last wrote is known fleet-wide in one of two ways:
 * - With Redis (REDIS_URL): after each write commits, the primary's WAL position (WRITTEN_POSITION in
 *   ./client.ts, past the commit's record) is kept under the user's key, only ever moved forward, for a while longer than
 *   any usable replica can lag. A read takes the key and goes to a replica whose `pg_last_wal_replay_lsn()`
 *   has reached it. Redis unreachable: reads go to the primary.
 * - Without Redis: a read asks the primary for the user's change counter (`users.change_count`, moved by
 *   every write to their tasks, in the write's transaction) and, at the same time, the replica for its copy;
 *   the replica answers only if its copy has caught up. Two primary-key reads instead of a stored position.
 *   A replica's snapshot only moves forward, so what the read then sees there is at least that current.
 *
 * Each replica is watched every MONITOR_MS: its replay position, and its lag in time, measured against the
 * primary's positions sampled as often (at most the time since the last sampled position it has replayed: 0
 * when it has the latest, not fooled by a quiet primary, and unknown, so unused, before it has reached any
 * sample this instance took). A read that needs a position the last look did not show asks the replica
 * again (one question at a time per replica, shared), waiting for the answer no longer than RECHECK_WAIT_MS.
 */
import pg from 'pg';
import type { Redis } from 'ioredis';
import { Counter, Gauge, type Registry } from 'prom-client';
import { PrismaPg } from '@prisma/adapter-pg';
import { PrismaClient } from '../generated/prisma/client.js';
import { WRITTEN_POSITION, clientOptions, type Db } from './client.js';
import { isDatabaseUnavailable } from '../database-errors.js';
import { connectRedis, redisReady } from '../redis.js';
import type { Logger } from '../logger.js';

/** How often each replica's replay position (and the primary's WAL position) is read. */
const MONITOR_MS = 100;
/** A replica not heard from for this long is not used until it answers again. */
const STALE_MS = 1_000;
/** How long one look at a replica may take (connecting included). */
const CHECK_TIMEOUT_MS = 1_000;
/** How long a read waits for a fresh look at a replica before it goes to the primary instead. */
const RECHECK_WAIT_MS = 50;
const KEY_PREFIX = 'task-gateway:written:';
const CHANGE_COUNT = 'SELECT change_count FROM users WHERE id = $1';
/** A position past any real one. */
const NO_REPLICA_HAS_IT = 'f'.repeat(16);

export interface ReplicaConfig {
  urls: readonly string[];
  maxLagMs: number;
  /** Where a fleet keeps what each user last wrote; unset: the primary's change counters are asked. */
  redisUrl: string | undefined;
}

export interface ReadRouter {
  /** Where this user's reads go: a replica that has every write of theirs, else the primary. */
  forUser(userId: string): Promise<Db>;
  /** Where a read of the change log goes once woken at the primary's WAL position `lsn`: a replica that has replayed it, else the primary. */
  replayed(lsn: string): Promise<Db>;
  /** After a write of this user has committed (and before it is answered): makes it known fleet-wide. Never throws. */
  noteWrite(userId: string): Promise<void>;
  /** Resolves once Redis is connected, or has failed to connect in time (until then a read goes to the primary). */
  ready(): Promise<void>;
  close(): Promise<void>;
}

interface Replica {
  /** host:port/database, for metrics and logs. */
  name: string;
  pool: pg.Pool;
  /** One connection of its own for the looks, so that they never queue behind the reads. */
  monitor: pg.Pool;
  prisma: PrismaClient;
  /** The replica's client, every query of which falls back to the primary when it fails. */
  db: Db;
  up: boolean;
  /** pg_last_wal_replay_lsn() at the last look, as a number. */
  replayed: bigint;
  /** When the last look answered (0: never). */
  checkedAt: number;
  lagMs: number;
  checking: Promise<void> | undefined;
}

/** A WAL position ("16/B374D848") as a number, and as fixed-width hex (so that Redis compares it as text). */
export const lsnValue = (lsn: string): bigint => {
  const [hi = '0', lo = '0'] = lsn.split('/');
  return (BigInt(`0x${hi}`) << 32n) | BigInt(`0x${lo}`);
};
const lsnKey = (lsn: bigint): string => lsn.toString(16).padStart(16, '0');

/** Keeps the larger of the stored position and ARGV[1] (both fixed-width hex), for ARGV[2] ms. */
const KEEP_LATEST = `local current = redis.call('GET', KEYS[1])
if not current or current < ARGV[1] then current = ARGV[1] end
redis.call('SET', KEYS[1], current, 'PX', ARGV[2])
return current`;

export function createReadRouter(
  config: ReplicaConfig,
  options: {
    primary: PrismaClient;
    /** A statement on the primary's pool (Database.poolQuery in ./client.ts). */
    poolQuery: <T extends pg.QueryResultRow>(text: string, values?: unknown[]) => Promise<T[]>;
    poolConfig: (url: string) => pg.PoolConfig;
    poolSize: number;
    logger: Logger;
    registry?: Registry | undefined;
  },
): ReadRouter {
  const { primary, poolQuery, logger } = options;
  const position = async () => (await poolQuery<{ lsn: string }>(WRITTEN_POSITION))[0]?.lsn ?? '0/0';
  const metrics = replicaMetrics(options.registry);
  const replicas = config.urls.map((url): Replica => {
    const { host, pathname } = new URL(url);
    const pool = new pg.Pool({ ...options.poolConfig(url), max: options.poolSize, idleTimeoutMillis: 30_000 });
    pool.on('error', () => {});
    const monitor = new pg.Pool({
      ...options.poolConfig(url),
      max: 1,
      connectionTimeoutMillis: CHECK_TIMEOUT_MS,
      query_timeout: CHECK_TIMEOUT_MS,
    });
    monitor.on('error', () => {});
    const prisma = new PrismaClient({ adapter: new PrismaPg(pool), ...clientOptions });
    const replica: Replica = {
      name: `${host}${pathname}`,
      pool,
      monitor,
      prisma,
      db: prisma,
      up: false,
      replayed: 0n,
      checkedAt: 0,
      lagMs: 0,
      checking: undefined,
    };
    replica.db = withFallback(prisma, primary, (error) => {
      metrics.fallbacks.inc({ replica: replica.name });
      if (replica.up && isDatabaseUnavailable(error)) {
        replica.up = false;
        logger.warn(
          { replica: replica.name, err: { message: (error as Error).message } },
          'read replica failed a query: reading from the primary',
        );
      }
    });
    return replica;
  });

  // The primary's WAL positions of the last minute or so, oldest first, against which lag is measured:
  // each taken as of the moment before it was asked for (the primary had at most that position then).
  const samples: { at: number; lsn: bigint }[] = [];
  const samplePrimary = async () => {
    const at = Date.now();
    samples.push({ at, lsn: lsnValue(await position()) });
    const kept = Date.now() - 10 * Math.max(config.maxLagMs, 6_000);
    while ((samples[0]?.at ?? kept) < kept) samples.shift();
  };
  /**
   * How far behind the primary a replica is, in ms, at most: the time since the last sampled position it has
   * replayed (it has everything the primary had then); 0 when it has the latest. Unknown (Infinity) before
   * the first sample, or when it has none of them: such a replica is not read from.
   */
  const lagOf = (replayed: bigint, now: number) => {
    let reached: number | undefined;
    for (const sample of samples) {
      if (sample.lsn > replayed) return reached === undefined ? Infinity : now - reached;
      reached = sample.at;
    }
    return reached === undefined ? Infinity : 0;
  };

  const check = (replica: Replica): Promise<void> =>
    (replica.checking ??= (async () => {
      try {
        const { rows } = await replica.monitor.query<{ replayed: string | null }>('SELECT pg_last_wal_replay_lsn()::text AS replayed');
        const replayed = rows[0]?.replayed;
        if (!replayed) throw new Error('not a replica: pg_last_wal_replay_lsn() is null (is DATABASE_REPLICA_URLS pointing at a primary?)');
        const now = Date.now();
        replica.replayed = lsnValue(replayed);
        replica.checkedAt = now;
        replica.lagMs = lagOf(replica.replayed, now);
        if (!replica.up) logger.info({ replica: replica.name, lagMs: replica.lagMs }, 'read replica is up');
        replica.up = true;
      } catch (error) {
        if (replica.up || replica.checkedAt === 0)
          logger.warn(
            { replica: replica.name, err: { message: (error as Error).message } },
            'read replica unreachable: reading from the primary',
          );
        replica.up = false;
        replica.checkedAt = Date.now();
      } finally {
        replica.checking = undefined;
        metrics.up.set({ replica: replica.name }, replica.up ? 1 : 0);
        // Unknown lag shows as the time the samples cover.
        const lagMs = Number.isFinite(replica.lagMs) ? replica.lagMs : Date.now() - (samples[0]?.at ?? Date.now());
        metrics.lag.set({ replica: replica.name }, lagMs / 1_000);
      }
    })());

  let closed = false;
  const timers = new Set<NodeJS.Timeout>();
  const every = (ms: number, work: () => Promise<void>) => {
    const tick = () => {
      if (closed) return;
      void work()
        .catch(() => {})
        .finally(() => {
          if (closed) return;
          const timer = setTimeout(() => {
            timers.delete(timer);
            tick();
          }, ms);
          timers.add(timer);
        });
    };
    tick();
  };
  every(MONITOR_MS, samplePrimary);
  for (const replica of replicas) every(MONITOR_MS, () => check(replica));

  const usable = (replica: Replica, now: number) => replica.up && now - replica.checkedAt <= STALE_MS && replica.lagMs <= config.maxLagMs;
  let turn = 0;
  /** The usable replicas, starting at the next in turn (reads are spread over them). */
  const candidates = (): Replica[] => {
    const now = Date.now();
    const up = replicas.filter((replica) => usable(replica, now));
    if (up.length < 2) return up;
    turn = (turn + 1) % up.length;
    return [...up.slice(turn), ...up.slice(0, turn)];
  };
  const toPrimary = (): Db => {
    metrics.reads.inc({ target: 'primary' });
    return primary;
  };
  const toReplica = (replica: Replica): Db => {
    metrics.reads.inc({ target: replica.name });
    return replica.db;
  };
  /**
   * One of `usableNow` that has replayed `lsn`, else the primary. If the last looks are older than the
   * position, one replica is looked at again (a look shared by every read waiting for it), but for at most
   * RECHECK_WAIT_MS: a replica slow to answer sends the read to the primary, not into a wait.
   */
  const replayedThrough = async (usableNow: Replica[], lsn: bigint): Promise<Db> => {
    const ready = usableNow.find((replica) => replica.replayed >= lsn);
    if (ready) return toReplica(ready);
    const first = usableNow[0];
    if (first) {
      let timer: NodeJS.Timeout | undefined;
      await Promise.race([check(first), new Promise((resolve) => (timer = setTimeout(resolve, RECHECK_WAIT_MS)))]);
      clearTimeout(timer);
      if (usable(first, Date.now()) && first.replayed >= lsn) return toReplica(first);
    }
    return toPrimary();
  };

  const redis = config.redisUrl ? connectRedis(config.redisUrl) : undefined;
  let redisFailing = false;
  const redisFailed = (error: unknown) => {
    if (!redisFailing)
      logger.warn({ err: { message: (error as Error).message } }, 'read replicas: Redis unreachable, reads go to the primary');
    redisFailing = true;
  };
  redis?.on('error', () => {});
  // Sent once, then run by its hash (EVALSHA).
  redis?.defineCommand('keepLatest', { numberOfKeys: 1, lua: KEEP_LATEST });
  // A write's position outlives every usable replica's lag by far: once it expires, any usable replica has it.
  const keepMs = config.maxLagMs + 60_000;

  return {
    async forUser(userId) {
      const usableNow = candidates();
      if (usableNow.length === 0) return toPrimary();
      if (redis) {
        let written: string | null;
        try {
          written = await redis.get(KEY_PREFIX + userId);
          redisFailing = false;
        } catch (error) {
          redisFailed(error);
          return toPrimary();
        }
        return replayedThrough(usableNow, written === null ? 0n : BigInt(`0x${written}`));
      }
      const [replica] = usableNow;
      if (!replica) return toPrimary();
      const counter = (query: typeof poolQuery) =>
        query<{ change_count: string }>(CHANGE_COUNT, [userId]).then((rows) => BigInt(rows[0]?.change_count ?? 0));
      const onReplica = async <T extends pg.QueryResultRow>(text: string, values?: unknown[]) =>
        (await replica.pool.query<T>({ text, values, query_timeout: CHECK_TIMEOUT_MS } as pg.QueryConfig)).rows;
      // A failure on the replica means "not this replica"; one on the primary fails the read, as it would without replicas.
      const [primaryCount, replicaCount] = await Promise.all([counter(poolQuery), counter(onReplica).catch(() => -1n)]);
      return replicaCount >= primaryCount ? toReplica(replica) : toPrimary();
    },
    replayed: (lsn) => replayedThrough(candidates(), lsnValue(lsn)),
    ready: () => (redis ? redisReady(redis) : Promise.resolve()),
    async noteWrite(userId) {
      if (!redis) return;
      let lsn: string;
      try {
        lsn = lsnKey(lsnValue(await position()));
      } catch (error) {
        // The write's position is unknown: no replica will do for this user's reads until the key expires.
        logger.warn(
          { err: { message: (error as Error).message } },
          "read replicas: cannot read a write's position; that user reads from the primary",
        );
        lsn = NO_REPLICA_HAS_IT;
      }
      try {
        await (redis as Redis & { keepLatest(key: string, lsn: string, ms: number): Promise<string> }).keepLatest(
          KEY_PREFIX + userId,
          lsn,
          keepMs,
        );
        redisFailing = false;
      } catch (error) {
        // Reads go to the primary while Redis cannot be reached; this write is answered all the same.
        redisFailed(error);
      }
    },
    async close() {
      closed = true;
      for (const timer of timers) clearTimeout(timer);
      redis?.disconnect();
      await Promise.all(
        replicas.map(async (replica) => {
          await replica.prisma.$disconnect();
          await Promise.all([replica.pool.end(), replica.monitor.end()]);
        }),
      );
    },
  };
}

/**
 * The replica's client, with every query the reads make (`$queryRaw`, and the model methods) run again on
 * the primary if it fails: a replica that stops mid-request costs that request a second query, not an error.
 */
function withFallback(replica: PrismaClient, primary: PrismaClient, failed: (error: unknown) => void): Db {
  const retried =
    <A extends unknown[], R>(onReplica: (...args: A) => PromiseLike<R>, onPrimary: (...args: A) => PromiseLike<R>) =>
    async (...args: A): Promise<R> => {
      try {
        return await onReplica(...args);
      } catch (error) {
        failed(error);
        return await onPrimary(...args);
      }
    };
  const delegates = new Map<PropertyKey, unknown>();
  return new Proxy(replica, {
    get(target, property) {
      const value: unknown = Reflect.get(target, property);
      if (property === '$queryRaw' || property === '$queryRawUnsafe') {
        const name = property;
        return retried(
          (...args: unknown[]) => Reflect.apply(target[name], target, args) as PromiseLike<unknown>,
          (...args: unknown[]) => Reflect.apply(primary[name], primary, args) as PromiseLike<unknown>,
        );
      }
      // Only the models' delegates (task, user, …): nothing else of the client is a read to retry.
      if (typeof property !== 'string' || !isDelegate(value)) return value;
      let delegate = delegates.get(property);
      if (!delegate) {
        const onPrimary: unknown = Reflect.get(primary, property);
        delegate = new Proxy(value, {
          get(model, method) {
            const fn: unknown = Reflect.get(model, method);
            if (typeof fn !== 'function' || typeof method !== 'string') return fn;
            return retried(
              (...args: unknown[]) => Reflect.apply(fn, model, args) as PromiseLike<unknown>,
              (...args: unknown[]) =>
                Reflect.apply(
                  Reflect.get(onPrimary as object, method) as (...a: unknown[]) => unknown,
                  onPrimary,
                  args,
                ) as PromiseLike<unknown>,
            );
          },
        });
        delegates.set(property, delegate);
      }
      return delegate;
    },
  });
}

const isDelegate = (value: unknown): value is object =>
  typeof value === 'object' && value !== null && typeof (value as { findMany?: unknown }).findMany === 'function';

function replicaMetrics(registry: Registry | undefined) {
  const registers = registry ? [registry] : [];
  return {
    reads: new Counter({
      name: 'db_reads_total',
      help: 'Reads routed, by target: "primary" or a read replica (host:port/database)',
      labelNames: ['target'] as const,
      registers,
    }),
    fallbacks: new Counter({
      name: 'db_replica_fallbacks_total',
      help: 'Queries a read replica failed, answered by the primary instead',
      labelNames: ['replica'] as const,
      registers,
    }),
    lag: new Gauge({
      name: 'db_replica_lag_seconds',
      help: "How far a read replica's replay is behind the primary, in time (0: it has replayed everything)",
      labelNames: ['replica'] as const,
      registers,
    }),
    up: new Gauge({
      name: 'db_replica_up',
      help: 'Whether a read replica answered its last look (1) or not (0)',
      labelNames: ['replica'] as const,
      registers,
    }),
  };
}
