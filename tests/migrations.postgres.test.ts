/** Runs in the postgres project only (see vitest.config.ts). */
import { randomUUID } from 'node:crypto';
import pg from 'pg';
import { describe, expect, test } from 'vitest';
import { openDatabase, type Database } from '../src/db/client.js';
import { applyMigrations } from '../src/db/migrate.js';
import { databaseConfig, testDatabaseUrl } from './support/database.js';

describe('migrations on PostgreSQL', () => {
  test('they build the same tables on an empty PostgreSQL as on PGlite', async () => {
    const admin = new pg.Client({ connectionString: testDatabaseUrl() });
    const name = `migrate_test_${randomUUID().replaceAll('-', '')}`;
    await admin.connect();
    await admin.query(`CREATE DATABASE ${name}`);
    const url = new URL(testDatabaseUrl());
    url.pathname = `/${name}`;
    const postgres = await openDatabase(databaseConfig({ url: url.toString() }));
    const pglite = await openDatabase(databaseConfig());
    try {
      expect(await applyMigrations(postgres.adapterFactory)).toEqual(await applyMigrations(pglite.adapterFactory));
      expect(await applyMigrations(postgres.adapterFactory)).toEqual([]);
      expect(await catalog(postgres)).toEqual(await catalog(pglite));
    } finally {
      await Promise.all([postgres.close(), pglite.close()]);
      await admin.query(`DROP DATABASE ${name} WITH (FORCE)`);
      await admin.end();
    }
  });
});

/** Columns, constraints and indexes of the public schema, in a stable order. */
async function catalog(database: Database) {
  const columns = await database.prisma.$queryRaw`
    SELECT table_name, column_name, data_type, character_maximum_length, is_nullable, column_default
    FROM information_schema.columns WHERE table_schema = 'public' ORDER BY table_name, column_name`;
  const indexes = await database.prisma.$queryRaw`
    SELECT tablename, indexname, indexdef FROM pg_indexes WHERE schemaname = 'public' ORDER BY indexname`;
  const constraints = await database.prisma.$queryRaw`
    -- PostgreSQL 18 (PGlite) also lists NOT NULL as constraints (contype n); the columns already say it.
    SELECT conname, pg_get_constraintdef(oid) AS definition FROM pg_constraint
    WHERE connamespace = 'public'::regnamespace AND contype <> 'n' ORDER BY conname`;
  return { columns, indexes, constraints };
}
