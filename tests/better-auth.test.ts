/**
 * Real tokens from the real `better-auth` package: an instance with the memory adapter and the jwt plugin,
 * served over HTTP, signs a user up and hands out a token from /api/auth/token; the API verifies it through
 * the instance's /api/auth/jwks. Its HS256 session-cookie JWT (same secret) must not pass for a token.
 */
import { betterAuth } from 'better-auth';
import { memoryAdapter } from 'better-auth/adapters/memory';
import { toNodeHandler } from 'better-auth/node';
import { jwt } from 'better-auth/plugins';
import { afterAll, beforeAll, describe, expect, test } from 'vitest';
import type { AuthConfig } from '../src/auth/bearer.js';
import { createTestApp, type TestApp } from './support/fixtures.js';
import { startKeyServer, type KeyServer } from './support/key-server.js';

const BETTER_AUTH_SECRET = 'better-auth-secret-for-tests-0123456789abcdef';

let keyServer: KeyServer;
let auth: ReturnType<typeof createBetterAuth>;
let jwksOnly: TestApp;
let jwksAndSecret: TestApp;

function createBetterAuth(baseURL: string) {
  return betterAuth({
    baseURL,
    secret: BETTER_AUTH_SECRET,
    database: memoryAdapter({ user: [], session: [], account: [], verification: [], jwks: [] }),
    emailAndPassword: { enabled: true },
    // The cookie cache as a JWT: HS256, signed with the same secret as the shared-secret path.
    session: { cookieCache: { enabled: true, strategy: 'jwt' } },
    plugins: [jwt()],
    telemetry: { enabled: false },
  });
}

/** Signs a new user up; returns their Better Auth id, access token and session-cookie JWT. */
async function signUp(name: string) {
  const response = await fetch(`${keyServer.origin}/api/auth/sign-up/email`, {
    method: 'POST',
    headers: { 'content-type': 'application/json', origin: keyServer.origin },
    body: JSON.stringify({ email: `${name}-${Date.now()}@example.com`, password: 'correct horse battery staple', name }),
  });
  expect(response.status).toBe(200);
  const { user } = (await response.json()) as { user: { id: string } };
  const cookies = response.headers.getSetCookie().map((cookie) => cookie.split(';')[0] ?? '');
  const sessionJwt = cookies.find((c) => c.startsWith('better-auth.session_data='))?.split('=')[1];
  const tokenResponse = await fetch(`${keyServer.origin}/api/auth/token`, { headers: { cookie: cookies.join('; ') } });
  expect(tokenResponse.status).toBe(200);
  const { token } = (await tokenResponse.json()) as { token: string };
  if (!sessionJwt) throw new Error('no session-cookie JWT');
  return { userId: user.id, token, sessionJwt };
}

beforeAll(async () => {
  keyServer = await startKeyServer((request, response) => void toNodeHandler(auth)(request, response));
  auth = createBetterAuth(keyServer.origin);
  const jwks: AuthConfig['jwks'] = {
    url: new URL(`${keyServer.origin}/api/auth/jwks`),
    algorithms: ['EdDSA'],
    issuer: keyServer.origin,
    audience: keyServer.origin,
  };
  jwksOnly = await createTestApp({ auth: { jwks } });
  jwksAndSecret = await createTestApp({ auth: { jwks, hs256: { secret: BETTER_AUTH_SECRET } } });
});

afterAll(async () => {
  await Promise.all([jwksOnly.close(), jwksAndSecret.close(), keyServer.close()]);
});

describe('tokens from Better Auth', () => {
  test('a token from /api/auth/token works on REST and GraphQL, as its user', async () => {
    const alice = await signUp('alice');
    const authorization = `Bearer ${alice.token}`;

    const created = await jwksOnly.request('POST', '/api/tasks', { headers: { authorization }, body: { title: 'from Better Auth' } });
    const listed = await jwksOnly.request('GET', '/api/tasks', { headers: { authorization } });
    const viaGraphQL = await jwksOnly.request('POST', '/graphql', {
      headers: { authorization },
      body: { query: '{ tasks { title userId } }' },
    });

    expect(created.status).toBe(201);
    expect(created.body.user_id).toBe(alice.userId);
    expect(listed.body).toEqual([created.body]);
    expect(viaGraphQL.body).toEqual({ data: { tasks: [{ title: 'from Better Auth', userId: alice.userId }] } });
  });

  test('the token also works where the shared-secret path is on too', async () => {
    const bob = await signUp('bob');

    const response = await jwksAndSecret.request('GET', '/api/tasks', { headers: { authorization: `Bearer ${bob.token}` } });

    expect(response.status).toBe(200);
  });

  test.for([
    ['JWKS only', () => jwksOnly],
    ['JWKS and the shared secret', () => jwksAndSecret],
  ] as const)('its HS256 session-cookie JWT is refused (%s)', async ([, app]) => {
    const carol = await signUp('carol');

    const rest = await app().request('GET', '/api/tasks', { headers: { authorization: `Bearer ${carol.sessionJwt}` } });
    const graphql = await app().request('POST', '/graphql', {
      headers: { authorization: `Bearer ${carol.sessionJwt}` },
      body: { query: '{ tasks { id } }' },
    });

    expect(rest.status).toBe(401);
    expect(rest.body).toEqual({ detail: 'Invalid or expired token', code: 'UNAUTHENTICATED' });
    expect(graphql.status).toBe(401);
  });

  test('a token for another audience is refused', async () => {
    const dave = await signUp('dave');
    const otherAudience = await auth.api.signJWT({ body: { payload: { sub: dave.userId, aud: 'https://other.example' } } });

    const response = await jwksOnly.request('GET', '/api/tasks', { headers: { authorization: `Bearer ${otherAudience.token}` } });

    expect(response.status).toBe(401);
  });
});
