import { openDatabase, type Database } from '../../src/db/client.js';
import { applyMigrations } from '../../src/db/migrate.js';

export type TestDatabaseKind = 'pglite' | 'postgres';

export const testDatabaseKind: TestDatabaseKind = process.env.TEST_DB === 'postgres' ? 'postgres' : 'pglite';

export function testDatabaseUrl(): string {
  const url = process.env.TEST_DATABASE_URL;
  if (!url) throw new Error('TEST_DATABASE_URL is not set');
  return url;
}

/** A migrated database for one test file: a fresh in-memory PGlite, or the shared TEST_DATABASE_URL. */
export async function openTestDatabase(): Promise<Database> {
  if (testDatabaseKind === 'postgres') return openDatabase({ url: testDatabaseUrl() });
  const database = await openDatabase({ pgliteDataDir: 'memory://' });
  await applyMigrations(database.adapterFactory);
  return database;
}
