/**
 * Test fixtures: apps on a real database, configured as the server configures itself (from environment
 * variables, defaults from src/env.ts), requests through Fastify's inject() (real HTTP semantics, no port),
 * and users named by role. Every test gets users no other test has, so tests never need to clean up or
 * run one at a time.
 */
import { randomUUID } from 'node:crypto';
import type { AddressInfo } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { Readable } from 'node:stream';
import { SignJWT } from 'jose';
import { test as base } from 'vitest';
import { createApp, type App } from '../../src/app.js';
import type { AuthConfig } from '../../src/auth/bearer.js';
import type { Database, PrismaClient } from '../../src/db/client.js';
import { loadEnv } from '../../src/env.js';
import type { HttpLimits } from '../../src/http/node-server.js';
import { createLogger } from '../../src/logger.js';
import type { Metrics } from '../../src/metrics.js';
import type { Readiness } from '../../src/readiness.js';
import type { Tracing } from '../../src/tracing.js';
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
  /** Sent as-is instead of JSON-encoding `body` (a stream is sent chunked, without Content-Length). */
  rawBody?: string | Uint8Array | Readable;
  headers?: Record<string, string>;
  /** The client's address as the server sees it (default 127.0.0.1). */
  remoteAddress?: string;
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
  /** Serves the app on a loopback port, for tests that need a real socket. */
  listen(): Promise<string>;
  /** Closes the app and the database it opened (not one it was given). */
  close(): Promise<void>;
}

export interface TestAppOptions {
  /**
   * Settings as the server reads them: environment variables (NODE_ENV=test and the test secret by
   * default, and no rate limit: every test's requests come from one address, and tests/rate-limits.test.ts
   * turns it on where it is the subject).
   */
  env?: Record<string, string>;
  /** Token verification, instead of HS256 with TEST_SECRET. */
  auth?: AuthConfig;
  /** The HTTP limits, when a test shortens them. */
  limits?: Partial<HttpLimits>;
  /** A database to use; by default a fresh one for this app. */
  database?: Database;
  /** Another client over the database (one that counts or slows queries, say). */
  prisma?: PrismaClient;
  /** Collects the log's JSON lines (at LOG_LEVEL, info by default) instead of discarding them. */
  logLines?: string[];
  metrics?: Metrics;
  readiness?: Readiness;
  /** The built web page to serve; by default none. */
  webDir?: string;
  /** OpenTelemetry, started by the test; by default off. */
  tracing?: Tracing;
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
  // inject() would JSON-encode a Uint8Array that is not a Buffer.
  let payload = options.rawBody instanceof Uint8Array ? Buffer.from(options.rawBody) : options.rawBody;
  if (payload === undefined && options.body !== undefined) {
    payload = JSON.stringify(options.body);
    headers['content-type'] ??= 'application/json';
  }
  const response = await app.inject({
    method: method as never,
    url: path,
    headers,
    ...(payload !== undefined && { payload }),
    ...(options.remoteAddress !== undefined && { remoteAddress: options.remoteAddress }),
  });
  const responseHeaders = new Headers();
  for (const [name, value] of Object.entries(response.headers)) {
    for (const item of [value ?? []].flat()) responseHeaders.append(name, String(item));
  }
  let parsed: unknown;
  try {
    parsed = response.body === '' ? undefined : JSON.parse(response.body);
  } catch {
    parsed = undefined;
  }
  return { status: response.statusCode, headers: responseHeaders, text: response.body, body: parsed };
}

export async function createTestApp(options: TestAppOptions = {}): Promise<TestApp> {
  const database = options.database ?? (await openTestDatabase());
  const env = loadEnv({ NODE_ENV: 'test', BETTER_AUTH_SECRET: TEST_SECRET, RATE_LIMIT_PER_SECOND: '0', ...options.env });
  const lines = options.logLines;
  const logger = createLogger(lines ? env.observability.logLevel : 'silent', lines && { write: (line: string) => lines.push(line) });
  const app = await createApp({
    config: { ...env, auth: options.auth ?? env.auth, http: { ...env.http, limits: { ...env.http.limits, ...options.limits } } },
    prisma: options.prisma ?? database.prisma,
    listen: database.listen,
    logger,
    ...(options.metrics && { metrics: options.metrics }),
    ...(options.readiness && { readiness: options.readiness }),
    tracing: options.tracing,
    // Whether or not web/dist was built here, tests see no web page unless they bring one.
    webDir: options.webDir ?? join(tmpdir(), 'task-gateway-no-web-build'),
  });
  return {
    app,
    database,
    request: (method, path, requestOptions) => send(app, method, path, requestOptions),
    async user(role) {
      const id = `${role}-${randomUUID()}`;
      const token = await signToken({ sub: id });
      const withToken = (requestOptions: RequestOptions = {}) => ({
        ...requestOptions,
        headers: { authorization: `Bearer ${token}`, ...requestOptions.headers },
      });
      return {
        id,
        token,
        request: (method, path, requestOptions) => send(app, method, path, withToken(requestOptions)),
        graphql: (query, variables) => send(app, 'POST', '/graphql', withToken({ body: { query, variables } })),
      };
    },
    async listen() {
      await app.listen({ port: 0, host: '127.0.0.1' });
      return `http://127.0.0.1:${(app.server.address() as AddressInfo).port}`;
    },
    async close() {
      await app.close();
      if (!options.database) await database.close();
    },
  };
}

export const test = base.extend<{ api: TestApp; alice: TestUser; bob: TestUser }>({
  api: [
    // eslint-disable-next-line no-empty-pattern -- vitest reads the fixtures a function asks for from this pattern
    async ({}, use) => {
      const api = await createTestApp();
      await use(api);
      await api.close();
    },
    { scope: 'file' },
  ],
  alice: async ({ api }, use) => use(await api.user('alice')),
  bob: async ({ api }, use) => use(await api.user('bob')),
});

export { expect, describe } from 'vitest';
