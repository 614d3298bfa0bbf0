import { describe, expect, test } from 'vitest';
import { createLogger } from '../src/logger.js';
import { createApp } from '../src/yoga.js';
import { openDatabase } from '../src/db/client.js';
import { TEST_SECRET, send, signToken } from './support/fixtures.js';

async function appWithBrokenDatabase() {
  const lines: string[] = [];
  const logger = createLogger('error', { write: (line: string) => lines.push(line) });
  // Nothing listens on port 1: every query fails to connect.
  const database = await openDatabase({ url: 'postgresql://postgres@127.0.0.1:1/nowhere' });
  const app = createApp({ prisma: database.prisma, auth: { hs256: { secret: TEST_SECRET } }, logger });
  const token = await signToken({ sub: 'alice' });
  return { app, lines, authorization: `Bearer ${token}` };
}

describe('unexpected errors', () => {
  test('REST answers 500 "Internal server error" and the cause goes only to the log', async () => {
    const { app, lines, authorization } = await appWithBrokenDatabase();

    const response = await send(app, 'GET', '/api/tasks', { headers: { authorization } });

    expect(response.status).toBe(500);
    expect(response.body).toEqual({ detail: 'Internal server error' });
    expect(response.text).not.toMatch(/stack|prisma|ECONNREFUSED|127\.0\.0\.1/i);
    expect(lines.join('')).toContain("Can't reach database server");
    expect(lines.join('')).not.toContain(authorization.slice(7));
  });

  test('GraphQL masks the error as INTERNAL_SERVER_ERROR with no details', async () => {
    const { app, lines, authorization } = await appWithBrokenDatabase();

    const response = await send(app, 'POST', '/graphql', { headers: { authorization }, body: { query: '{ tasks { id } }' } });

    expect(response.body.data).toBeNull();
    expect(response.body.errors).toHaveLength(1);
    expect(response.body.errors[0].message).toBe('Internal server error');
    expect(response.body.errors[0].extensions.code).toBe('INTERNAL_SERVER_ERROR');
    expect(response.text).not.toMatch(/stack|originalError|prisma|ECONNREFUSED|127\.0\.0\.1/i);
    expect(lines.join('')).toContain("Can't reach database server");
  });
});
