import { openDatabase, type Database } from '../../src/db/client.js';
import { applyMigrations } from '../../src/db/migrate.js';
import type { DatabaseConfig } from '../../src/db/client.js';
import { loadEnv } from '../../src/env.js';

export type TestDatabaseKind = 'pglite' | 'postgres';

export const testDatabaseKind: TestDatabaseKind = process.env.TEST_DB === 'postgres' ? 'postgres' : 'pglite';

export function testDatabaseUrl(): string {
  const url = process.env.TEST_DATABASE_URL;
  if (!url) throw new Error('TEST_DATABASE_URL is not set');
  return url;
}

/** The database settings the server would use by default, with these changed (an in-memory embedded database unless a URL is given). */
export function databaseConfig(overrides: Partial<DatabaseConfig> = {}): DatabaseConfig {
  const defaults = loadEnv({ NODE_ENV: 'test', BETTER_AUTH_SECRET: 'x'.repeat(32) }).database;
  return { ...defaults, pgliteDataDir: 'memory://', ...overrides };
}

/** A migrated database for one test file: a fresh in-memory PGlite, or the shared TEST_DATABASE_URL. */
export async function openTestDatabase(): Promise<Database> {
  if (testDatabaseKind === 'postgres') return openDatabase(databaseConfig({ url: testDatabaseUrl() }));
  const database = await openDatabase(databaseConfig());
  await applyMigrations(database.adapterFactory);
  return database;
}
