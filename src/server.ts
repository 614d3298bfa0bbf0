/**
 * Starts the server and looks after its life: serves at once, applies migrations (retrying until the
 * database is there), and on SIGTERM/SIGINT stops accepting, lets requests in flight finish within
 * SHUTDOWN_GRACE_MS, closes the database and exits 0; a second signal or an overrun exits 1.
 */
import cluster from 'node:cluster';
import { createServer } from 'node:net';
import { setTimeout as sleep } from 'node:timers/promises';
import { createApp, type App } from './app.js';
import { DataDirectoryError, openDatabase, poolConfig, type Database } from './db/client.js';
import { createReadRouter, type ReadRouter } from './db/replicas.js';
import { DirectoryInUseError } from './db/directory-lock.js';
import { applyMigrations } from './db/migrate.js';
import { pooledStatementTimeout, roleTimeout, setRoleStatementTimeout } from './db/statement-timeout.js';
import { isMigrationRetryable } from './database-errors.js';
import { loadEnvOrExit } from './env.js';
import { createLogger, terminalDestination, type Logger } from './logger.js';
import { createMetrics } from './metrics.js';
import { Readiness } from './readiness.js';
import { startTracing } from './tracing.js';

const env = loadEnvOrExit();
const logger = createLogger(env.observability.logLevel, terminalDestination(env.nodeEnv));
// A fault somewhere async (a dropped connection, say) is logged; it must not take the process down.
process.on('unhandledRejection', (reason) => logger.error({ err: reason }, 'unhandled rejection'));
// Before the database and the app: their first query and request are traced already.
const tracing = await startTracing(env.observability.tracing);
if (tracing)
  logger.info({ endpoint: env.observability.tracing.endpoint, serviceName: env.observability.tracing.serviceName }, 'tracing on');

// What the signal handler needs to see; filled in as start-up gets there.
const life: {
  stopping: boolean;
  database?: Database;
  reads?: ReadRouter | undefined;
  readiness?: Readiness;
  app?: App;
  migrating?: Promise<void>;
} = { stopping: false };
// Aborted by the first signal: a migration retry waiting out its backoff stops waiting.
const stopped = new AbortController();
// From the start: a stop asked for while the embedded database migrates is honoured (and logged) too.
for (const signal of ['SIGINT', 'SIGTERM'] as const) process.on(signal, () => shutdown(signal));

// A port that is taken is said at once, before the embedded database spends seconds starting (in a
// cluster the primary holds the port, and a worker's listen below says it).
if (cluster.isPrimary) {
  const error = await listenProbe(env.http.port, env.http.host);
  if (error) {
    logger.fatal(listenFailure(error));
    process.exit(1);
  }
}

let database: Database;
try {
  database = await openDatabase(env.database, (error) => logger.warn({ err: { message: error.message } }, 'database connection lost'));
} catch (error) {
  if (!(error instanceof DirectoryInUseError || error instanceof DataDirectoryError)) throw error;
  logger.fatal(error.message);
  process.exit(1);
}

life.database = database;
const metrics = createMetrics({ poolStats: database.poolStats, processMetrics: true });
const reads = openReadReplicas(database);
life.reads = reads;
const readiness = new Readiness(database.prisma);
life.readiness = readiness;
// The embedded database is local and cannot be "down": migrate before serving.
if (env.database.migrateOnStart && database.kind === 'pglite' && !life.stopping) await migrate(database, logger);
if (life.stopping) await closeDatabaseAndExit();

const app = await createApp({
  config: env,
  prisma: database.prisma,
  listen: database.listen,
  reads,
  logger,
  readiness,
  metrics,
  tracing,
});
life.app = app;
try {
  await app.listen({ port: env.http.port, host: env.http.host, listenTextResolver: (address) => `listening on ${address}` });
} catch (error) {
  logger.fatal(listenFailure(error as NodeJS.ErrnoException));
  // A signal from now on exits at once rather than closing the database a second time.
  life.stopping = true;
  await reads?.close();
  await database.close();
  process.exit(1);
}
const address = app.server.address();
const port = typeof address === 'object' && address ? address.port : env.http.port;
logger.info(
  { url: `http://${env.http.host}:${port}`, database: database.kind === 'pglite' ? env.database.pgliteDataDir : 'postgresql' },
  'task gateway listening',
);
if (env.database.migrateOnStart && database.kind === 'postgres') life.migrating = migrateUntilDone(database, logger);
// Migrated elsewhere (`npm run db:migrate` sets it): only checked.
else void roleStatementTimeout(database, logger, false);

function shutdown(signal: NodeJS.Signals): void {
  if (life.stopping) {
    // In a cluster one Ctrl+C reaches a worker twice (from the terminal and from the primary); cutting
    // requests short is the primary's call there.
    if (cluster.isWorker) return;
    logger.warn({ signal }, 'second signal: exiting now');
    process.exit(1);
  }
  life.stopping = true;
  stopped.abort();
  if (life.readiness) life.readiness.shuttingDown = true;
  const { shutdownDelayMs, shutdownGraceMs } = env.http;
  logger.info({ signal, delayMs: shutdownDelayMs, graceMs: shutdownGraceMs }, 'shutting down: draining connections');
  // The grace period starts once the server stops accepting, after the delay.
  setTimeout(() => {
    logger.error('requests still running at the end of the grace period: exiting');
    process.exit(1);
  }, shutdownDelayMs + shutdownGraceMs).unref();
  // Not serving yet: start-up sees `stopping` once its current step is done, and exits then.
  if (!life.app) return;
  const app = life.app;
  // Every answer closes its connection; after the delay, no new ones; then Fastify's own close.
  void app
    .drain(shutdownDelayMs)
    .then(() => app.close())
    .then(closeDatabaseAndExit);
}

/** What binding PORT on HOST would fail with, if anything (the probe lets go of the port at once). */
function listenProbe(port: number, host: string): Promise<NodeJS.ErrnoException | undefined> {
  if (port === 0) return Promise.resolve(undefined);
  return new Promise((resolve) => {
    const probe = createServer();
    probe.once('error', resolve);
    probe.listen({ port, host, exclusive: true }, () => probe.close(() => resolve(undefined)));
  });
}

function listenFailure(error: NodeJS.ErrnoException): string {
  const { port, host } = env.http;
  return error.code === 'EADDRINUSE'
    ? `port ${port} on ${host} is already in use: stop the other server or set PORT`
    : `cannot listen on ${host}:${port}: ${error.message}`;
}

async function closeDatabaseAndExit(): Promise<never> {
  // A migration still running (slow database, or the other instances hold the lock) is let finish rather
  // than cut off by closing its pool; the grace period's timer bounds the wait.
  await life.migrating;
  try {
    await life.reads?.close();
    await life.database?.close();
  } catch (error) {
    logger.error({ err: error }, 'closing the database failed');
    process.exit(1);
  }
  // The last spans are still in the exporter's batch; a collector that does not answer gets 2 s.
  if (tracing) {
    const exported = tracing.shutdown().catch((error: unknown) => logger.warn({ err: error }, 'exporting the last spans failed'));
    await Promise.race([exported, sleep(2_000, undefined, { ref: false })]);
  }
  logger.info('stopped');
  process.exit(0);
}

/** Read replicas, when DATABASE_REPLICA_URLS names some (PostgreSQL only: the embedded database has none). */
function openReadReplicas(db: Database): ReadRouter | undefined {
  const { replicaUrls } = env.database;
  if (replicaUrls.length === 0) return undefined;
  if (db.kind !== 'postgres') {
    logger.warn(
      { replicas: replicaUrls.length },
      'DATABASE_REPLICA_URLS is ignored: the embedded database has no replicas (set DATABASE_URL)',
    );
    return undefined;
  }
  logger.info(
    { replicas: replicaUrls.length, maxLagMs: env.database.replicaMaxLagMs, sharedBy: env.rateLimit.redisUrl ? 'redis' : 'primary' },
    'reading from replicas',
  );
  return createReadRouter(
    { urls: replicaUrls, maxLagMs: env.database.replicaMaxLagMs, redisUrl: env.rateLimit.redisUrl },
    {
      primary: db.prisma,
      poolQuery: db.poolQuery ?? (() => Promise.resolve([])),
      poolConfig: (url) => poolConfig(url, env.database),
      poolSize: env.database.poolSize,
      logger,
      registry: metrics.registry,
    },
  );
}

async function migrate(db: Database, log: Logger): Promise<void> {
  const applied = await applyMigrations(db.adapterFactory);
  if (applied.length > 0) log.info({ applied }, 'applied migrations');
  await roleStatementTimeout(db, log, true);
  life.readiness?.markMigrated();
}

/**
 * Behind a pooler, the statement timeout is the role's setting (./db/statement-timeout.ts): set over the
 * direct URL with the migrations (`apply`), then read back through the pooled one. A role that may not
 * change its own settings, or a pooler whose sessions predate the change, is logged, not fatal: the
 * client-side timeout still bounds every statement.
 */
async function roleStatementTimeout(db: Database, log: Logger, apply: boolean): Promise<void> {
  const role = roleTimeout(env.database);
  if (db.kind !== 'postgres' || !role) return;
  const { ms } = role;
  if (apply) {
    try {
      if (await setRoleStatementTimeout(role, env.database.connectTimeoutMs))
        log.info({ statementTimeoutMs: ms }, 'statement timeout set on the database role');
    } catch (error) {
      if (isMigrationRetryable(error)) throw error;
      log.warn({ err: { message: (error as Error).message } }, 'cannot set the statement timeout on the database role');
    }
  }
  // Only a check: whatever happens to it, start-up goes on.
  const pooled = await pooledStatementTimeout(db.prisma).catch((error: unknown) => {
    log.warn({ err: { message: (error as Error).message } }, 'cannot read the statement timeout through DATABASE_URL');
    return ms;
  });
  if (pooled !== ms)
    log.warn(
      { statementTimeoutMs: pooled, expected: ms },
      "statement timeout through DATABASE_URL differs from DATABASE_STATEMENT_TIMEOUT_MS (the pooler's older sessions keep theirs until it reopens them)",
    );
}

/**
 * Applies migrations, retrying with backoff while the database is unreachable (instances race safely).
 * Any other failure (a migration that fails, a database that refuses us) will not mend by waiting: it is
 * logged as fatal and the process exits 1, rather than answering 503 for ever.
 */
async function migrateUntilDone(db: Database, log: Logger): Promise<void> {
  for (let delay = 500; !life.stopping; delay = Math.min(delay * 2, 10_000)) {
    try {
      await migrate(db, log);
      return;
    } catch (error) {
      if (stopped.signal.aborted) return;
      if (!isMigrationRetryable(error)) {
        log.fatal({ err: { message: (error as Error).message } }, 'migrations failed');
        process.exit(1);
      }
      log.warn({ err: { message: (error as Error).message }, retryInMs: delay }, 'migrations not applied yet: database unavailable');
      await sleep(delay, undefined, { signal: stopped.signal }).catch(() => {});
    }
  }
}
