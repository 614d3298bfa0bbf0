/**
 * Behind a transaction-mode PgBouncer (issue 22), as behind Neon's pooled endpoint: the server started
 * with DATABASE_URL through the pooler and DATABASE_MIGRATION_URL direct answers as it does direct (the
 * pool once sent statement_timeout as a start-up parameter, which PgBouncer refuses: every request was a
 * 503), and the statement timeout still bounds every statement, as the role's setting in its database.
 * On its own database, so that the timeout it sets on the role there touches no other test.
 */
import { spawnSync, type SpawnSyncReturns } from 'node:child_process';
import { randomUUID } from 'node:crypto';
import { rmSync } from 'node:fs';
import pg from 'pg';
import { afterAll, beforeAll, describe, expect, test } from 'vitest';
import { directDatabaseUrl, testDatabaseUrl } from './support/database.js';
import { TEST_SECRET, signToken } from './support/fixtures.js';
import { makeWorkDir, nodeWithTsx, startServer, type RunningServer } from './support/server-process.js';

const workDir = makeWorkDir();
const name = `pooler_${randomUUID().slice(0, 8)}`;
const onDatabase = (url: string) => Object.assign(new URL(url), { pathname: `/${name}` }).toString();
let server: RunningServer;
let migrated: SpawnSyncReturns<string>;

beforeAll(async () => {
  const admin = new pg.Client({ connectionString: directDatabaseUrl() });
  await admin.connect();
  await admin.query(`CREATE DATABASE "${name}"`);
  await admin.end();
  const env = {
    PATH: process.env.PATH,
    HOME: process.env.HOME,
    DATABASE_URL: onDatabase(testDatabaseUrl()),
    DATABASE_MIGRATION_URL: onDatabase(directDatabaseUrl()),
    DATABASE_STATEMENT_TIMEOUT_MS: '1000',
    BETTER_AUTH_SECRET: TEST_SECRET,
    RATE_LIMIT_PER_SECOND: '0',
    LOG_LEVEL: 'info',
  };
  // The fleet's deploy (docs/operations.md): `npm run db:migrate` over the direct URL, then the instances.
  const { command, args } = nodeWithTsx('src/commands/migrate.ts');
  migrated = spawnSync(command, args, { cwd: workDir, env, encoding: 'utf8', timeout: 60_000 });
  server = await startServer(workDir, { ...env, MIGRATE_ON_START: 'false' });
}, 90_000);

afterAll(async () => {
  await server.stop();
  const admin = new pg.Client({ connectionString: directDatabaseUrl() });
  await admin.connect();
  await admin.query(`DROP DATABASE IF EXISTS "${name}" WITH (FORCE)`);
  await admin.end();
  rmSync(workDir, { recursive: true, force: true });
});

describe('behind a transaction-mode PgBouncer', () => {
  test('`npm run db:migrate` migrates over the direct URL and sets the timeout; the server then answers through the pooler as it does direct', async () => {
    expect(migrated.status, migrated.stderr).toBe(0);
    expect(migrated.stdout).toContain('statement timeout set on the database role: 1000 ms');
    const token = await signToken({ sub: `pooled-${randomUUID()}` });
    const headers = { authorization: `Bearer ${token}`, 'content-type': 'application/json' };
    const created = await fetch(`${server.url}/api/tasks`, { method: 'POST', headers, body: JSON.stringify({ title: 'pooled' }) });
    expect(created.status).toBe(201);
    const list = await fetch(`${server.url}/api/tasks`, { headers });
    expect(list.status).toBe(200);
    expect(((await list.json()) as { title: string }[]).map((task) => task.title)).toEqual(['pooled']);
    expect((await fetch(`${server.url}/readyz`)).status).toBe(200);
    expect(server.output()).not.toContain('statement timeout through DATABASE_URL differs');
  });

  test('the statement timeout bounds a statement through the pooler, with no SET and no start-up parameter', async () => {
    const client = new pg.Client({ connectionString: onDatabase(testDatabaseUrl()) });
    await client.connect();
    try {
      const { rows } = await client.query<{ statement_timeout: string }>('SHOW statement_timeout');
      expect(rows[0]?.statement_timeout).toBe('1s');
      await expect(client.query('SELECT pg_sleep(3)')).rejects.toMatchObject({ code: '57014' });
    } finally {
      await client.end();
    }
  });
});
