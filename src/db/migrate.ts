/**
 * Applies `prisma/migrations` (Prisma's own format and `_prisma_migrations` table, so `prisma migrate deploy`
 * agrees with us) through Prisma's WASM schema engine.
 */
import { readdir, readFile } from 'node:fs/promises';
import { dirname } from 'node:path';
import { fileURLToPath } from 'node:url';
import type { SqlMigrationAwareDriverAdapterFactory } from '@prisma/driver-adapter-utils';
import { noFilters, withSchemaEngine, type MigrationList } from './schema-engine.js';

export const migrationsDir = fileURLToPath(new URL('../../prisma/migrations', import.meta.url));
export const schemaPath = fileURLToPath(new URL('../../prisma/schema.prisma', import.meta.url));

async function readMigrations(baseDir = migrationsDir): Promise<MigrationList> {
  const entries = await readdir(baseDir, { withFileTypes: true }).catch(() => []);
  const names = entries
    .filter((e) => e.isDirectory())
    .map((e) => e.name)
    .sort();
  const migrationDirectories = await Promise.all(
    names.map(async (name) => ({
      path: name,
      migrationFile: {
        path: 'migration.sql',
        content: await readFile(`${baseDir}/${name}/migration.sql`, 'utf8').then(
          (value) => ({ tag: 'ok' as const, value }),
          (error: unknown) => ({ tag: 'error' as const, value: String(error) }),
        ),
      },
    })),
  );
  const lockfileContent = await readFile(`${baseDir}/migration_lock.toml`, 'utf8').catch(() => null);
  return {
    baseDir,
    lockfile: { path: 'migration_lock.toml', content: lockfileContent },
    shadowDbInitScript: '',
    migrationDirectories,
  };
}

/** The names of the migrations in prisma/migrations, oldest first. */
export async function migrationNames(baseDir = migrationsDir): Promise<string[]> {
  return (await readMigrations(baseDir)).migrationDirectories.map((d) => d.path);
}

/** Applies every migration not yet applied; returns the names it applied. */
export async function applyMigrations(adapterFactory: SqlMigrationAwareDriverAdapterFactory): Promise<string[]> {
  const migrationsList = await readMigrations();
  // The usual start: nothing pending, told by one query without loading the schema engine (~0.3 s).
  if (
    await allApplied(
      adapterFactory,
      migrationsList.migrationDirectories.map((d) => d.path),
    )
  )
    return [];
  return withSchemaEngine(adapterFactory, async (engine) => {
    const { appliedMigrationNames } = await engine.applyMigrations({ migrationsList, filters: noFilters });
    return appliedMigrationNames;
  });
}

/** Whether `_prisma_migrations` records every one of `names` as applied (false when it cannot tell). */
async function allApplied(adapterFactory: SqlMigrationAwareDriverAdapterFactory, names: string[]): Promise<boolean> {
  const adapter = await adapterFactory.connect();
  try {
    const { rows } = await adapter.queryRaw({
      sql: 'SELECT migration_name FROM _prisma_migrations WHERE finished_at IS NOT NULL AND rolled_back_at IS NULL',
      args: [],
      argTypes: [],
    });
    const applied = new Set(rows.map(([name]) => name));
    return names.every((name) => applied.has(name));
  } catch {
    // No table yet (a new database), or no answer: the schema engine finds out, and says so.
    return false;
  } finally {
    await adapter.dispose();
  }
}

/**
 * The SQL that would take a database built from `prisma/migrations` to the schema (by default
 * `prisma/schema.prisma`), or null when they agree. Replays the migrations on a throwaway in-memory PGlite.
 */
export async function pendingSchemaChange(schema?: string): Promise<string | null> {
  const [{ PGlite }, { PrismaPGlite }] = await Promise.all([import('@electric-sql/pglite'), import('pglite-prisma-adapter')]);
  const pglite = await PGlite.create();
  try {
    const adapterFactory = new PrismaPGlite(pglite);
    await applyMigrations(adapterFactory);
    return await diffDatabaseToSchema(adapterFactory, schema);
  } finally {
    await pglite.close();
  }
}

/** The SQL that would take the connected database to the schema, or null when they agree. */
async function diffDatabaseToSchema(adapterFactory: SqlMigrationAwareDriverAdapterFactory, content?: string): Promise<string | null> {
  const schema = { path: 'schema.prisma', content: content ?? (await readFile(schemaPath, 'utf8')) };
  const { stdout } = await withSchemaEngine(
    adapterFactory,
    (engine) =>
      engine.diff({
        from: { tag: 'schemaDatasource', files: [schema], configDir: dirname(schemaPath) },
        to: { tag: 'schemaDatamodel', files: [schema] },
        script: true,
        exitCode: null,
        filters: noFilters,
      }),
    schema,
  );
  return stdout === null || /^\s*(--.*\s*)*$/.test(stdout) ? null : stdout;
}
