import { openDatabase } from '../../src/db/client.js';
import { applyMigrations } from '../../src/db/migrate.js';
import { databaseConfig } from './database.js';

/** Brings the TEST_DATABASE_URL database up to date once, before any test file opens it. */
export default async function setup(): Promise<void> {
  const database = await openDatabase(databaseConfig({ url: process.env.TEST_DATABASE_URL }));
  try {
    await applyMigrations(database.adapterFactory);
  } finally {
    await database.close();
  }
}
