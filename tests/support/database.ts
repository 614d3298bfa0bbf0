import { openDatabase, type Database } from '../../src/db/client.js';
import { applyMigrations } from '../../src/db/migrate.js';
import type { DatabaseConfig } from '../../src/db/client.js';
import { loadEnv } from '../../src/env.js';
import { inject } from 'vitest';

export type TestDatabaseKind = 'pglite' | 'postgres';

export const testDatabaseKind: TestDatabaseKind = process.env.TEST_DB === 'postgres' ? 'postgres' : 'pglite';

/** On the pgbouncer project, the tests reach PostgreSQL through a transaction-mode PgBouncer (./pgbouncer-setup.ts). */
const pooled = process.env.TEST_POOLER === 'pgbouncer';

/** Where the app connects: TEST_DATABASE_URL, or on the pgbouncer project the pooler. */
export function testDatabaseUrl(): string {
  if (pooled) return inject('pooledDatabaseUrl');
  const url = process.env.TEST_DATABASE_URL;
  if (!url) throw new Error('TEST_DATABASE_URL is not set');
  return url;
}

/** Where migrations and LISTEN connect: the database itself, past any pooler. */
export function directDatabaseUrl(): string {
  return pooled ? inject('directDatabaseUrl') : testDatabaseUrl();
}

/** DATABASE_URL for a server process, and behind the pooler where its migrations and LISTEN go. */
export function serverDatabaseEnv(): Record<string, string> {
  return {
    DATABASE_URL: testDatabaseUrl(),
    ...(pooled && { DATABASE_MIGRATION_URL: directDatabaseUrl(), DATABASE_LISTEN_URL: directDatabaseUrl() }),
  };
}

/** The database settings the server would use by default, with these changed (an in-memory embedded database unless a URL is given). */
export function databaseConfig(overrides: Partial<DatabaseConfig> = {}): DatabaseConfig {
  const defaults = loadEnv({ NODE_ENV: 'test', BETTER_AUTH_SECRET: 'x'.repeat(32) }).database;
  return { ...defaults, pgliteDataDir: 'memory://', ...overrides };
}

/** A migrated database for one test file: a fresh in-memory PGlite, or the shared TEST_DATABASE_URL. */
export async function openTestDatabase(): Promise<Database> {
  if (testDatabaseKind === 'postgres') {
    const direct = pooled ? { migrationUrl: directDatabaseUrl(), listenUrl: directDatabaseUrl() } : {};
    return openDatabase(databaseConfig({ url: testDatabaseUrl(), ...direct }));
  }
  const database = await openDatabase(databaseConfig());
  await applyMigrations(database.adapterFactory);
  return database;
}
