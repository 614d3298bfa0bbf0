import { openDatabase } from './db/client.js';
import { DirectoryInUseError } from './db/directory-lock.js';
import { applyMigrations } from './db/migrate.js';
import { EnvError, loadDotEnvFile, loadEnv } from './env.js';
import { createHttpServer } from './http/server.js';
import { createLogger } from './logger.js';
import { createApp } from './yoga.js';

loadDotEnvFile();
let env;
try {
  env = loadEnv();
} catch (error) {
  if (!(error instanceof EnvError)) throw error;
  console.error(error.message);
  process.exit(1);
}

const logger = createLogger(env.LOG_LEVEL);
let database;
try {
  database = await openDatabase({ url: env.DATABASE_URL, poolSize: env.DATABASE_POOL_SIZE, pgliteDataDir: env.PGLITE_DATA_DIR });
} catch (error) {
  if (!(error instanceof DirectoryInUseError)) throw error;
  logger.fatal(error.message);
  process.exit(1);
}
if (env.MIGRATE_ON_START) {
  const applied = await applyMigrations(database.adapterFactory);
  if (applied.length > 0) logger.info({ applied }, 'applied migrations');
}

const app = createApp({
  prisma: database.prisma,
  auth: env.auth,
  logger,
  corsOrigins: env.CORS_ORIGINS,
  production: env.NODE_ENV === 'production',
  introspection: env.GRAPHQL_INTROSPECTION,
});
const server = createHttpServer(app.requestListener);
server.listen(env.PORT, env.HOST, () => {
  const address = server.address();
  const port = typeof address === 'object' && address ? address.port : env.PORT;
  logger.info(
    { url: `http://${env.HOST}:${port}`, database: database.kind === 'pglite' ? env.PGLITE_DATA_DIR : 'postgresql' },
    'task gateway listening',
  );
});

for (const signal of ['SIGINT', 'SIGTERM'] as const) {
  process.once(signal, () => {
    server.close(() => void database.close().then(() => process.exit(0)));
  });
}
