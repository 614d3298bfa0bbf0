/**
 * One server process per core on one host (node:cluster): WEB_CONCURRENCY workers (default: the cores
 * available) share the port, and a worker that dies is replaced. Each worker migrates on start as a single
 * server would; PostgreSQL's migration lock lets one apply and the others find nothing to do. Needs
 * DATABASE_URL: the embedded database belongs to one process.
 */
import cluster from 'node:cluster';
import { availableParallelism } from 'node:os';
import { EnvError, loadEnvOrExit } from './env.js';
import { createLogger, terminalDestination } from './logger.js';

if (cluster.isPrimary) {
  const env = loadEnvOrExit();
  if (!env.database.url) {
    console.error(new EnvError('DATABASE_URL: required to run several processes').message);
    process.exit(1);
  }
  const logger = createLogger(env.observability.logLevel, terminalDestination(env.nodeEnv));
  const workers = env.webConcurrency ?? availableParallelism();
  let stopping = false;
  let running = 0;
  let failed = false;
  const fork = () => {
    running++;
    cluster.fork();
  };
  for (let i = 0; i < workers; i++) fork();
  cluster.on('exit', (worker, code, signal) => {
    running--;
    if (!stopping) {
      logger.error({ pid: worker.process.pid, code, signal }, 'worker died; starting another');
      fork();
      return;
    }
    if (code !== 0) failed = true;
    if (running === 0) {
      logger.info({ exitCode: failed ? 1 : 0 }, 'all workers stopped');
      process.exit(failed ? 1 : 0);
    }
  });
  // Each worker shuts down gracefully on its own (see server.ts) and the primary exits as the last one
  // does, 1 if any did. The signal is passed on since it may have reached the primary alone (kill <pid>);
  // a worker that also got it from the terminal takes the second copy as the same request.
  for (const signal of ['SIGINT', 'SIGTERM'] as const) {
    process.on(signal, () => {
      if (stopping) {
        logger.warn({ signal }, 'second signal: stopping the workers now');
        for (const worker of Object.values(cluster.workers ?? {})) worker?.process.kill('SIGKILL');
        process.exit(1);
      }
      stopping = true;
      logger.info({ signal, workers: running }, 'shutting down the workers');
      for (const worker of Object.values(cluster.workers ?? {})) worker?.process.kill(signal);
    });
  }
} else {
  await import('./server.js');
}
