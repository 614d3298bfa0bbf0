/**
 * The database, chosen by configuration: a real PostgreSQL through @prisma/adapter-pg when a URL is given,
 * otherwise an embedded PostgreSQL (PGlite) kept in a local directory.
 */
import { mkdirSync } from 'node:fs';
import { PGlite } from '@electric-sql/pglite';
import { PrismaPg } from '@prisma/adapter-pg';
import type { SqlMigrationAwareDriverAdapterFactory } from '@prisma/driver-adapter-utils';
import { PrismaPGlite } from 'pglite-prisma-adapter';
import { PrismaClient } from '../generated/prisma/client.js';
import { lockDirectory } from './directory-lock.js';

export type { PrismaClient };

export interface Database {
  kind: 'postgres' | 'pglite';
  prisma: PrismaClient;
  /** For the schema engine (migrations): on PostgreSQL a single connection, so its lock and its work share one. */
  adapterFactory: SqlMigrationAwareDriverAdapterFactory;
  close(): Promise<void>;
}

export interface DatabaseOptions {
  /** A postgresql:// URL; without one the embedded database is used. */
  url?: string | undefined;
  /** Most connections the app opens to PostgreSQL (default 10). */
  poolSize?: number | undefined;
  /** Where the embedded database keeps its files; `memory://` keeps them in memory. */
  pgliteDataDir?: string | undefined;
}

export async function openDatabase({ url, poolSize = 10, pgliteDataDir = 'memory://' }: DatabaseOptions): Promise<Database> {
  if (url) {
    const prisma = new PrismaClient({ adapter: new PrismaPg({ connectionString: url, max: poolSize }) });
    const adapterFactory = new PrismaPg({ connectionString: url, max: 1 });
    return { kind: 'postgres', prisma, adapterFactory, close: () => prisma.$disconnect() };
  }
  let unlock = () => {};
  if (!pgliteDataDir.includes('://')) {
    mkdirSync(pgliteDataDir, { recursive: true });
    unlock = lockDirectory(pgliteDataDir);
  }
  try {
    const pglite = await PGlite.create(pgliteDataDir);
    const adapterFactory = new PrismaPGlite(pglite);
    const prisma = new PrismaClient({ adapter: adapterFactory });
    return {
      kind: 'pglite',
      prisma,
      adapterFactory,
      async close() {
        await prisma.$disconnect();
        await pglite.close();
        unlock();
      },
    };
  } catch (error) {
    unlock();
    throw error;
  }
}
