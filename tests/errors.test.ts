/**
 * Failures the client cannot fix: a real bug (here, a database whose schema was broken by hand) is a
 * masked 500 with the cause only in the log; a database that cannot be reached is a 503 to retry.
 */
import { describe, expect, test } from 'vitest';
import { openDatabase } from '../src/db/client.js';
import { applyMigrations } from '../src/db/migrate.js';
import { databaseConfig } from './support/database.js';
import { createTestApp, send, signToken } from './support/fixtures.js';

async function appOn(database: Awaited<ReturnType<typeof openDatabase>>) {
  const lines: string[] = [];
  const { app } = await createTestApp({ database, logLines: lines, env: { LOG_LEVEL: 'warn' } });
  const token = await signToken({ sub: 'alice' });
  return { app, lines, authorization: `Bearer ${token}` };
}

/** A real database whose tasks table no longer matches the code: every task query fails unexpectedly. */
async function brokenSchema() {
  const database = await openDatabase(databaseConfig());
  await applyMigrations(database.adapterFactory);
  await database.prisma.$executeRawUnsafe('ALTER TABLE tasks RENAME COLUMN title TO name');
  return { database, ...(await appOn(database)) };
}

describe('unexpected errors', () => {
  test('REST answers 500 "Internal server error" and the cause goes only to the log', async () => {
    const { database, app, lines, authorization } = await brokenSchema();
    try {
      const response = await send(app, 'GET', '/api/tasks', { headers: { authorization } });

      expect(response.status).toBe(500);
      expect(response.body).toEqual({ detail: 'Internal server error', code: 'INTERNAL_SERVER_ERROR' });
      expect(response.text).not.toMatch(/title|column|prisma|stack/i);
      // The cause, only in the log: the list's statement names the column the broken table lacks.
      expect(lines.join('')).toMatch(/column \\"title\\" does not exist/);
      expect(lines.join('')).not.toContain(authorization.slice(7));
    } finally {
      await database.close();
    }
  });

  test('GraphQL masks the error as INTERNAL_SERVER_ERROR with no details', async () => {
    const { database, app, lines, authorization } = await brokenSchema();
    try {
      const response = await send(app, 'POST', '/graphql', { headers: { authorization }, body: { query: '{ tasks { id } }' } });

      expect(response.body.data).toBeNull();
      expect(response.body.errors).toHaveLength(1);
      expect(response.body.errors[0].message).toBe('Internal server error');
      expect(response.body.errors[0].extensions.code).toBe('INTERNAL_SERVER_ERROR');
      expect(response.text).not.toMatch(/stack|originalError|prisma|column/i);
      // The cause, only in the log: the list's statement names the column the broken table lacks.
      expect(lines.join('')).toMatch(/column \\"title\\" does not exist/);
    } finally {
      await database.close();
    }
  });
});

describe('a database that cannot be reached', () => {
  // Nothing listens on port 1: every query fails to connect.
  const unreachable = () => openDatabase(databaseConfig({ url: 'postgresql://postgres@127.0.0.1:1/nowhere', connectTimeoutMs: 500 }));

  test('REST answers 503 "Service unavailable" with Retry-After', async () => {
    const database = await unreachable();
    const { app, lines, authorization } = await appOn(database);

    const response = await send(app, 'GET', '/api/tasks', { headers: { authorization } });

    expect(response.status).toBe(503);
    expect(response.headers.get('retry-after')).toBe('5');
    expect(response.body).toEqual({ detail: 'Service unavailable', code: 'SERVICE_UNAVAILABLE' });
    expect(lines.join('')).toContain('database unavailable');
    await database.close();
  });

  test('GraphQL answers 503 with SERVICE_UNAVAILABLE', async () => {
    const database = await unreachable();
    const { app, authorization } = await appOn(database);

    const response = await send(app, 'POST', '/graphql', { headers: { authorization }, body: { query: '{ tasks { id } }' } });

    expect(response.status).toBe(503);
    expect(response.headers.get('retry-after')).toBe('5');
    expect(response.body.errors[0]).toMatchObject({ message: 'Service unavailable', extensions: { code: 'SERVICE_UNAVAILABLE' } });
    expect(response.text).not.toMatch(/127\.0\.0\.1|ECONNREFUSED|http/);
    await database.close();
  });
});

describe('a database that is out of space (SQLSTATE class 53)', () => {
  test.for([
    ['53100', 'disk_full'],
    ['53200', 'out_of_memory'],
  ])('%s (%s) is 503 with Retry-After on both faces, not a 500', async ([sqlstate]) => {
    const database = await openDatabase(databaseConfig());
    await applyMigrations(database.adapterFactory);
    // The database refuses every new task the way a full disk does.
    await database.prisma.$executeRawUnsafe(`
      CREATE OR REPLACE FUNCTION refuse_writes() RETURNS trigger LANGUAGE plpgsql AS $$
      BEGIN RAISE EXCEPTION 'could not extend file' USING ERRCODE = '${sqlstate}'; END $$`);
    await database.prisma.$executeRawUnsafe(
      'CREATE TRIGGER refuse_writes BEFORE INSERT ON tasks FOR EACH ROW EXECUTE FUNCTION refuse_writes()',
    );
    try {
      const { app, lines, authorization } = await appOn(database);

      const rest = await send(app, 'POST', '/api/tasks', { headers: { authorization }, body: { title: 'no room' } });
      const graphql = await send(app, 'POST', '/graphql', {
        headers: { authorization },
        body: { query: 'mutation { createTask(title: "no room") { id } }' },
      });

      expect(rest.status).toBe(503);
      expect(rest.headers.get('retry-after')).toBe('5');
      expect(rest.body).toEqual({ detail: 'Service unavailable', code: 'SERVICE_UNAVAILABLE' });
      expect(graphql.status).toBe(503);
      expect(graphql.body.errors[0]).toMatchObject({ message: 'Service unavailable', extensions: { code: 'SERVICE_UNAVAILABLE' } });
      expect(lines.join('')).toContain('database unavailable');
      expect(lines.map((line) => JSON.parse(line) as { level: number }).filter((entry) => entry.level >= 50)).toEqual([]);
    } finally {
      await database.prisma.$executeRawUnsafe('DROP TRIGGER refuse_writes ON tasks');
      await database.close();
    }
  });
});
