/** Migrations against throwaway in-memory PGlite databases (migrations.postgres.test.ts covers PostgreSQL). */
import { createHash } from 'node:crypto';
import { readFile, readdir } from 'node:fs/promises';
import { describe, expect, test } from 'vitest';
import { openDatabase } from '../src/db/client.js';
import { applyMigrations, migrationsDir, pendingSchemaChange, schemaPath } from '../src/db/migrate.js';
import { databaseConfig } from './support/database.js';

describe('migrations', () => {
  test('prisma/schema.prisma and prisma/migrations agree', async () => {
    expect(await pendingSchemaChange()).toBeNull();
  });

  test('a schema change without its migration is caught', async () => {
    const schema = await readFile(schemaPath, 'utf8');
    const drifted = schema.replace('completed Boolean', 'priority  Int      @default(0)\n  completed Boolean');

    const sql = await pendingSchemaChange(drifted);

    expect(sql).toMatch(/ALTER TABLE "tasks" ADD COLUMN\s+"priority" INTEGER NOT NULL DEFAULT 0/);
  });

  test('applying twice applies nothing the second time, and records what prisma migrate deploy expects', async () => {
    const database = await openDatabase(databaseConfig());
    try {
      const names = (await readdir(migrationsDir, { withFileTypes: true })).filter((e) => e.isDirectory()).map((e) => e.name);

      expect(await applyMigrations(database.adapterFactory)).toEqual(names.sort());
      expect(await applyMigrations(database.adapterFactory)).toEqual([]);

      const rows = await database.prisma.$queryRaw<{ migration_name: string; checksum: string; finished_at: Date | null }[]>`
        SELECT migration_name, checksum, finished_at FROM _prisma_migrations ORDER BY migration_name`;
      for (const [i, name] of names.entries()) {
        const sql = await readFile(`${migrationsDir}/${name}/migration.sql`);
        expect(rows[i]).toMatchObject({ migration_name: name, checksum: createHash('sha256').update(sql).digest('hex') });
        expect(rows[i]?.finished_at).toBeInstanceOf(Date);
      }
    } finally {
      await database.close();
    }
  });
});
