/**
 * The pgbouncer project's global setup (vitest.config.ts): a database of its own beside TEST_DATABASE_URL's
 * (`<name>_pooled`, so the statement timeout set on the role there touches no other project), migrated and
 * given the role's statement timeout over the direct URL, and a real PgBouncer in transaction mode in
 * front of it. The tests reach it through ./database.ts (testDatabaseUrl: the pooled URL; directDatabaseUrl).
 */
import type { TestProject } from 'vitest/node';
import pg from 'pg';
import { openDatabase } from '../../src/db/client.js';
import { applyMigrations } from '../../src/db/migrate.js';
import { setRoleStatementTimeout } from '../../src/db/statement-timeout.js';
import { databaseConfig } from './database.js';
import { startPgBouncer } from './pgbouncer.js';

declare module 'vitest' {
  export interface ProvidedContext {
    pooledDatabaseUrl: string;
    directDatabaseUrl: string;
  }
}

export default async function setup(project: TestProject): Promise<() => Promise<void>> {
  const base = new URL(process.env.TEST_DATABASE_URL ?? '');
  const name = `${base.pathname.slice(1)}_pooled`;
  const direct = Object.assign(new URL(base), { pathname: `/${name}` }).toString();
  const admin = new pg.Client({ connectionString: base.toString() });
  await admin.connect();
  try {
    const exists = await admin.query('SELECT 1 FROM pg_database WHERE datname = $1', [name]);
    if (exists.rowCount === 0) await admin.query(`CREATE DATABASE "${name.replaceAll('"', '""')}"`);
  } finally {
    await admin.end();
  }
  const config = databaseConfig({ url: direct });
  const database = await openDatabase(config);
  try {
    await applyMigrations(database.adapterFactory);
  } finally {
    await database.close();
  }
  await setRoleStatementTimeout({ url: direct, ms: config.statementTimeoutMs }, config.connectTimeoutMs);
  const pooler = await startPgBouncer(direct);
  project.provide('pooledDatabaseUrl', pooler.url(direct));
  project.provide('directDatabaseUrl', direct);
  return () => pooler.stop();
}
