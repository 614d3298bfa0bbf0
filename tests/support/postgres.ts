/** Throwaway PostgreSQL databases on the TEST_DATABASE_URL server, for tests that need an empty one. */
import { randomUUID } from 'node:crypto';
import pg from 'pg';
import { testDatabaseUrl } from './database.js';

export interface ScratchDatabase {
  url: string;
  name: string;
  drop(): Promise<void>;
}

export async function createScratchDatabase(): Promise<ScratchDatabase> {
  const name = `scratch_${randomUUID().replaceAll('-', '')}`;
  const admin = new pg.Client({ connectionString: testDatabaseUrl() });
  await admin.connect();
  await admin.query(`CREATE DATABASE ${name}`);
  await admin.end();
  const url = new URL(testDatabaseUrl());
  url.pathname = `/${name}`;
  return {
    url: url.toString(),
    name,
    async drop() {
      const client = new pg.Client({ connectionString: testDatabaseUrl() });
      await client.connect();
      await client.query(`DROP DATABASE IF EXISTS ${name} WITH (FORCE)`);
      await client.end();
    },
  };
}

/** Runs one query on the TEST_DATABASE_URL server (or another URL). */
export async function query<T extends pg.QueryResultRow>(sql: string, params: unknown[] = [], url = testDatabaseUrl()): Promise<T[]> {
  const client = new pg.Client({ connectionString: url });
  await client.connect();
  try {
    return (await client.query<T>(sql, params)).rows;
  } finally {
    await client.end();
  }
}

/** Connections a given application_name holds on the server. */
export async function connectionsOf(applicationName: string): Promise<number> {
  const [row] = await query<{ count: string }>('SELECT count(*) FROM pg_stat_activity WHERE application_name = $1', [applicationName]);
  return Number(row?.count ?? 0);
}
