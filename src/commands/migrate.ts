/**
 * `npm run db:migrate`: applies pending migrations to the configured database and exits. The fleet path:
 * run it once per deploy, with MIGRATE_ON_START=false on the instances.
 */
import { openDatabase } from '../db/client.js';
import { applyMigrations } from '../db/migrate.js';
import { EnvError, loadDotEnvFile, loadEnv } from '../env.js';

loadDotEnvFile();
try {
  const env = loadEnv();
  const database = await openDatabase({
    url: env.DATABASE_URL,
    migrationUrl: env.DATABASE_MIGRATION_URL,
    connectTimeoutMs: env.DATABASE_CONNECT_TIMEOUT_MS,
    pgliteDataDir: env.PGLITE_DATA_DIR,
  });
  try {
    const applied = await applyMigrations(database.adapterFactory);
    console.log(applied.length > 0 ? `applied: ${applied.join(', ')}` : 'database is up to date');
  } finally {
    await database.close();
  }
} catch (error) {
  console.error(error instanceof EnvError ? error.message : error);
  process.exit(1);
}
