/**
 * `npm run db:migrate`: applies pending migrations to the configured database and exits. The fleet path:
 * run it once per deploy, with MIGRATE_ON_START=false on the instances.
 */
import { openDatabase } from '../db/client.js';
import { applyMigrations } from '../db/migrate.js';
import { roleTimeout, setRoleStatementTimeout } from '../db/statement-timeout.js';
import { loadEnvOrExit } from '../env.js';

const env = loadEnvOrExit();
try {
  const database = await openDatabase(env.database);
  try {
    const applied = await applyMigrations(database.adapterFactory);
    console.log(applied.length > 0 ? `applied: ${applied.join(', ')}` : 'database is up to date');
    // Behind a pooler the statement timeout is the role's setting (../db/statement-timeout.ts).
    const role = roleTimeout(env.database);
    if (role && (await setRoleStatementTimeout(role, env.database.connectTimeoutMs)))
      console.log(`statement timeout set on the database role: ${role.ms} ms`);
  } finally {
    await database.close();
  }
} catch (error) {
  console.error(error);
  process.exit(1);
}
