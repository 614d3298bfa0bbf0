/**
 * Test fixtures: one app per test file on a real database, and users named by role. Every test gets
 * users no other test has, so tests never need to clean up or run one at a time.
 */
import { randomUUID } from 'node:crypto';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { SignJWT } from 'jose';
import { test as base } from 'vitest';
import type { Database } from '../../src/db/client.js';
import { createLogger } from '../../src/logger.js';
import { createApp, type App, type AppOptions } from '../../src/yoga.js';
import { openTestDatabase } from './database.js';

export const TEST_SECRET = 'test-secret-that-is-at-least-32-bytes-long!';

export interface ApiResponse {
  status: number;
  headers: Headers;
  text: string;
  /** The body parsed as JSON (undefined when empty). */
  body: any;
}

export interface RequestOptions {
  body?: unknown;
  /** Sent as-is instead of JSON-encoding `body`. */
  rawBody?: string | Uint8Array;
  headers?: Record<string, string>;
}

export interface TestUser {
  id: string;
  token: string;
  request(method: string, path: string, options?: RequestOptions): Promise<ApiResponse>;
  graphql(query: string, variables?: Record<string, unknown>): Promise<ApiResponse>;
}

export interface TestApp {
  app: App;
  database: Database;
  /** Sends a request with no credentials unless given in headers. */
  request(method: string, path: string, options?: RequestOptions): Promise<ApiResponse>;
  user(role: string): Promise<TestUser>;
}

export async function signToken(
  claims: Record<string, unknown>,
  { secret = TEST_SECRET, expiresIn = '5m' }: { secret?: string; expiresIn?: string | number | null } = {},
): Promise<string> {
  const jwt = new SignJWT(claims).setProtectedHeader({ alg: 'HS256', typ: 'JWT' }).setIssuedAt();
  if (expiresIn !== null && claims.exp === undefined) jwt.setExpirationTime(expiresIn);
  return jwt.sign(new TextEncoder().encode(secret));
}

export async function send(app: App, method: string, path: string, options: RequestOptions = {}): Promise<ApiResponse> {
  const headers: Record<string, string> = { ...options.headers };
  let body: string | Uint8Array | undefined = options.rawBody;
  if (body === undefined && options.body !== undefined) {
    body = JSON.stringify(options.body);
    headers['content-type'] ??= 'application/json';
  }
  const response = await app.fetch(`http://localhost${path}`, { method, headers, body: body as BodyInit | undefined });
  const text = await response.text();
  let parsed: unknown;
  try {
    parsed = text === '' ? undefined : JSON.parse(text);
  } catch {
    parsed = undefined;
  }
  return { status: response.status, headers: response.headers, text, body: parsed };
}

export async function createTestApp(options: Partial<AppOptions> = {}): Promise<TestApp> {
  const database = await openTestDatabase();
  const app = createApp({
    prisma: database.prisma,
    auth: { hs256: { secret: TEST_SECRET } },
    logger: createLogger(process.env.TEST_LOG_LEVEL ?? 'silent'),
    // Whether or not web/dist was built here, tests see no web page unless they bring one.
    webDir: join(tmpdir(), 'task-gateway-no-web-build'),
    ...options,
  });
  return {
    app,
    database,
    request: (method, path, options) => send(app, method, path, options),
    async user(role) {
      const id = `${role}-${randomUUID()}`;
      const token = await signToken({ sub: id });
      const withToken = (options: RequestOptions = {}) => ({
        ...options,
        headers: { authorization: `Bearer ${token}`, ...options.headers },
      });
      return {
        id,
        token,
        request: (method, path, options) => send(app, method, path, withToken(options)),
        graphql: (query, variables) => send(app, 'POST', '/graphql', withToken({ body: { query, variables } })),
      };
    },
  };
}

export const test = base.extend<{ api: TestApp; alice: TestUser; bob: TestUser }>({
  api: [
    // eslint-disable-next-line no-empty-pattern -- vitest reads the fixtures a function asks for from this pattern
    async ({}, use) => {
      const api = await createTestApp();
      await use(api);
      await api.database.close();
    },
    { scope: 'file' },
  ],
  alice: async ({ api }, use) => use(await api.user('alice')),
  bob: async ({ api }, use) => use(await api.user('bob')),
});

export { expect, describe } from 'vitest';
