/**
 * One server process per core on one host (node:cluster): WEB_CONCURRENCY workers (default: the cores
 * available) share the port, and a worker that dies is replaced. Each worker migrates on start as a single
 * server would; PostgreSQL's migration lock lets one apply and the others find nothing to do. Needs
 * DATABASE_URL: the embedded database belongs to one process.
 */
import cluster from 'node:cluster';
import { availableParallelism } from 'node:os';
import { EnvError, loadDotEnvFile, loadEnv } from './env.js';
import { createLogger } from './logger.js';

if (cluster.isPrimary) {
  loadDotEnvFile();
  let env;
  try {
    env = loadEnv();
    if (!env.DATABASE_URL) throw new EnvError('Invalid environment:\n  DATABASE_URL: required to run several processes');
  } catch (error) {
    console.error(error instanceof EnvError ? error.message : error);
    process.exit(1);
  }
  const logger = createLogger(env.LOG_LEVEL);
  const workers = env.WEB_CONCURRENCY ?? availableParallelism();
  let stopping = false;
  const fork = () => cluster.fork();
  for (let i = 0; i < workers; i++) fork();
  cluster.on('exit', (worker, code, signal) => {
    if (stopping) return;
    logger.error({ pid: worker.process.pid, code, signal }, 'worker died; starting another');
    fork();
  });
  for (const signal of ['SIGINT', 'SIGTERM'] as const) {
    process.once(signal, () => {
      stopping = true;
      for (const worker of Object.values(cluster.workers ?? {})) worker?.process.kill(signal);
      cluster.disconnect(() => process.exit(0));
    });
  }
} else {
  await import('./server.js');
}
