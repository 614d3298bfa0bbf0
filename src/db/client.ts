/**
 * The database, chosen by configuration: a real PostgreSQL through @prisma/adapter-pg when a URL is given,
 * otherwise an embedded PostgreSQL (PGlite) kept in a local directory.
 *
 * On PostgreSQL every wait is bounded, so a database that is down, overloaded or silently unreachable
 * costs a request seconds, not forever: connecting and waiting for a pooled connection time out, and so
 * does each statement, on the server and, for a network that swallows packets, on the client.
 */
import { mkdirSync, rmSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { PrismaPg } from '@prisma/adapter-pg';
import type { SqlMigrationAwareDriverAdapterFactory } from '@prisma/driver-adapter-utils';
import pg from 'pg';
import { PrismaClient, type Prisma } from '../generated/prisma/client.js';
import { lockDirectory } from './directory-lock.js';

export type { PrismaClient };
/** What a query needs: the client, or the transaction a request with an Idempotency-Key runs in. */
export type Db = Prisma.TransactionClient;

export interface DatabaseConfig {
  /** A postgresql:// URL; unset: the embedded database in `pgliteDataDir`. */
  url: string | undefined;
  /** Where migrations connect, when not `url` (Neon: the direct endpoint). */
  migrationUrl: string | undefined;
  /** Where the one LISTEN connection for the change streams goes, when not `url` (Neon's pooler cannot LISTEN). */
  listenUrl: string | undefined;
  poolSize: number;
  /** Milliseconds to open a connection, or to wait for a free one from the pool. */
  connectTimeoutMs: number;
  /**
   * Milliseconds a statement may run (0: no server-side limit). Sent as a start-up parameter, or, when
   * `migrationUrl` is another (a pooler), set on the role (./statement-timeout.ts).
   */
  statementTimeoutMs: number;
  /** Where the embedded database keeps its files; `memory://` keeps them in memory. */
  pgliteDataDir: string;
  migrateOnStart: boolean;
  /** Read replicas of `url` (./replicas.ts); PostgreSQL only. */
  replicaUrls: readonly string[];
  /** A replica whose replay is further behind than this (ms) is not read from. */
  replicaMaxLagMs: number;
}

/**
 * The primary's WAL position past every commit it has acknowledged: the flushed position, as a commit waits
 * for its flush before it is acknowledged or visible; unless synchronous_commit is off, where it waits for
 * neither, and only the inserted position is sure to be past it. A replica whose pg_last_wal_replay_lsn()
 * has reached it shows every such commit (./replicas.ts).
 */
export const WRITTEN_POSITION = `SELECT (CASE WHEN current_setting('synchronous_commit') = 'off'
  THEN pg_current_wal_insert_lsn() ELSE pg_current_wal_flush_lsn() END)::text AS lsn`;

/** Whether the statement timeout must be the role's setting (./statement-timeout.ts): the app's connections go somewhere migrations do not. */
export function timeoutOnRole(config: { url: string | undefined; migrationUrl: string | undefined }): boolean {
  return config.url !== undefined && config.migrationUrl !== undefined && config.migrationUrl !== config.url;
}

/** Something that can LISTEN: a PostgreSQL URL, or an in-process database (PGlite's listen). */
export type ListenSource =
  | { kind: 'postgres'; url: string; connectTimeoutMs: number }
  | { kind: 'local'; listen(channel: string, onPayload: (payload: string) => void): Promise<() => Promise<void>> }
  /** Nothing to LISTEN on: poll every second. */
  | { kind: 'poll' };

export interface Database {
  kind: 'postgres' | 'pglite';
  prisma: PrismaClient;
  /** For the schema engine (migrations): on PostgreSQL a single connection, so its lock and its work share one. */
  adapterFactory: SqlMigrationAwareDriverAdapterFactory;
  /** Where the change streams LISTEN (../events/feed.ts). */
  listen: ListenSource;
  /** Connections of the app's pool (PostgreSQL only). */
  poolStats?: () => { total: number; idle: number; waiting: number };
  /**
   * PostgreSQL only: a statement straight on the app's pool, without Prisma's per-query CPU, for the read
   * replicas' bookkeeping (./replicas.ts: WAL positions, change counters), never for the app's data.
   */
  poolQuery?: <T extends pg.QueryResultRow>(text: string, values?: unknown[]) => Promise<T[]>;
  close(): Promise<void>;
}

/**
 * Any other error format makes Prisma capture a stack trace on every query, to point at the caller in its
 * messages; ours never reach a client, and under Yoga's deep async stacks that capture cost ~100 µs of CPU
 * per request, a fifth of a GET (bench/RESULTS.md).
 */
export const clientOptions = { errorFormat: 'minimal' } as const;

/**
 * Opens the database `config` names (PostgreSQL with a URL, else the embedded one). `onPoolError` hears
 * of idle pooled connections that failed (the pool drops them; nothing else to do but note it).
 */
export async function openDatabase(config: DatabaseConfig, onPoolError: (error: Error) => void = () => {}): Promise<Database> {
  return config.url ? openPostgres(config.url, config, onPoolError) : openPGlite(config.pgliteDataDir);
}

/** How the app's pools (the primary's, and each replica's) connect to `connectionString`. */
export function poolConfig(connectionString: string, options: DatabaseConfig): pg.PoolConfig {
  const { connectTimeoutMs, statementTimeoutMs } = options;
  return {
    connectionString,
    connectionTimeoutMillis: connectTimeoutMs,
    // Behind a pooler (migrations connect elsewhere) the timeout is the role's setting (./statement-timeout.ts):
    // a transaction-mode pooler refuses this start-up parameter.
    ...(statementTimeoutMs > 0 && !timeoutOnRole(options) && { statement_timeout: statementTimeoutMs }),
    // A little longer than the server's own limit: this one fires only when no answer can come back at all.
    query_timeout: (statementTimeoutMs || 10_000) + 1_000,
    keepAlive: true,
    application_name: new URL(connectionString).searchParams.get('application_name') ?? 'task-gateway',
  };
}

function openPostgres(url: string, options: DatabaseConfig, onPoolError: (error: Error) => void): Database {
  const config = (connectionString: string) => poolConfig(connectionString, options);
  const pool = new pg.Pool({ ...config(url), max: options.poolSize, idleTimeoutMillis: 30_000 });
  pool.on('error', onPoolError);
  const prisma = new PrismaClient({ adapter: new PrismaPg(pool), ...clientOptions });
  return {
    kind: 'postgres',
    prisma,
    adapterFactory: new PrismaPg({ ...config(options.migrationUrl ?? url), max: 1 }),
    listen: { kind: 'postgres', url: options.listenUrl ?? url, connectTimeoutMs: options.connectTimeoutMs },
    poolStats: () => ({ total: pool.totalCount, idle: pool.idleCount, waiting: pool.waitingCount }),
    poolQuery: async <T extends pg.QueryResultRow>(text: string, values?: unknown[]) => (await pool.query<T>(text, values)).rows,
    async close() {
      await prisma.$disconnect();
      await pool.end();
    },
  };
}

/** The embedded database's directory cannot be created or written. */
export class DataDirectoryError extends Error {
  override name = 'DataDirectoryError';
}

async function openPGlite(dataDir: string): Promise<Database> {
  // Loaded only when used: a PostgreSQL deployment never pays for the embedded database's code.
  const [{ PGlite }, { PrismaPGlite }] = await Promise.all([import('@electric-sql/pglite'), import('pglite-prisma-adapter')]);
  let unlock = () => {};
  if (!dataDir.includes('://')) {
    try {
      mkdirSync(dataDir, { recursive: true });
      // PGlite reports a directory it cannot write only deep in its start-up; find out here, in words.
      const probe = join(dataDir, `.write-test-${process.pid}`);
      writeFileSync(probe, '');
      rmSync(probe);
    } catch (error) {
      const { code, message } = error as NodeJS.ErrnoException;
      throw new DataDirectoryError(
        `cannot write the embedded database's directory ${dataDir} (${code ?? message}): set PGLITE_DATA_DIR to a writable directory, or DATABASE_URL to use PostgreSQL`,
      );
    }
    unlock = lockDirectory(dataDir);
  }
  try {
    const pglite = await PGlite.create(dataDir);
    const adapterFactory = new PrismaPGlite(pglite);
    const prisma = new PrismaClient({ adapter: adapterFactory, ...clientOptions });
    return {
      kind: 'pglite',
      prisma,
      adapterFactory,
      listen: { kind: 'local', listen: (channel, onPayload) => pglite.listen(channel, onPayload) },
      async close() {
        await prisma.$disconnect();
        await pglite.close();
        unlock();
      },
    };
  } catch (error) {
    unlock();
    throw error;
  }
}
