/**
 * `npm run db:migrate`: applies pending migrations to the configured database and exits. The fleet path:
 * run it once per deploy, with MIGRATE_ON_START=false on the instances.
 */
import { openDatabase } from '../db/client.js';
import { applyMigrations } from '../db/migrate.js';
import { loadEnvOrExit } from '../env.js';

const env = loadEnvOrExit();
try {
  const database = await openDatabase(env.database);
  try {
    const applied = await applyMigrations(database.adapterFactory);
    console.log(applied.length > 0 ? `applied: ${applied.join(', ')}` : 'database is up to date');
  } finally {
    await database.close();
  }
} catch (error) {
  console.error(error);
  process.exit(1);
}
