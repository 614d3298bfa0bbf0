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
      expect(response.body).toEqual({ detail: 'Internal server error' });
      expect(response.text).not.toMatch(/title|column|prisma|stack/i);
      expect(lines.join('')).toContain('does not exist in the current database');
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
      expect(lines.join('')).toContain('does not exist in the current database');
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
    expect(response.body).toEqual({ detail: 'Service unavailable' });
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
