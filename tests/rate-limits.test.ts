/**
 * Request rate limits: per user on both faces (429, Retry-After, the IETF RateLimit fields), per client
 * address for requests without a valid token, shared by instances through Redis, and open (with a
 * warning) when Redis is unreachable.
 */
import { randomUUID } from 'node:crypto';
import { afterAll, beforeAll } from 'vitest';
import { createTestApp, describe, expect, signToken, test, type TestApp } from './support/fixtures.js';

const REDIS_URL = process.env.TEST_REDIS_URL ?? 'redis://127.0.0.1:6379';
// 3 requests per window of 3 s: a test's few requests stay inside one window.
const limited = { RATE_LIMIT_PER_SECOND: '1', RATE_LIMIT_BURST: '3' };

describe('in one instance', () => {
  let api: TestApp;
  beforeAll(async () => {
    api = await createTestApp({ env: limited });
  });
  afterAll(() => api.close());

  test('a user gets the burst, then 429 with Retry-After and the RateLimit fields; another user is not affected', async () => {
    const [alice, bob] = await Promise.all([api.user('alice'), api.user('bob')]);

    const allowed = [];
    for (let i = 0; i < 3; i++) allowed.push(await alice.request('GET', '/api/tasks'));
    const refused = await alice.request('GET', '/api/tasks');
    const refusedGraphQL = await alice.graphql('{ tasks { id } }');

    expect(allowed.map((r) => r.status)).toEqual([200, 200, 200]);
    expect(allowed.map((r) => r.headers.get('ratelimit-policy'))).toEqual(Array(3).fill('"default";q=3;w=3'));
    expect(allowed.map((r) => r.headers.get('ratelimit')?.replace(/;t=\d+$/, ''))).toEqual([
      '"default";r=2',
      '"default";r=1',
      '"default";r=0',
    ]);
    expect(refused.status).toBe(429);
    expect(refused.body).toEqual({ detail: 'Too many requests: slow down and retry after the time in Retry-After', code: 'RATE_LIMITED' });
    expect(Number(refused.headers.get('retry-after'))).toBeGreaterThanOrEqual(1);
    expect(Number(refused.headers.get('retry-after'))).toBeLessThanOrEqual(3);
    expect(refused.headers.get('ratelimit')).toMatch(/^"default";r=0;t=[1-3]$/);
    expect(refused.headers.get('ratelimit-policy')).toBe('"default";q=3;w=3');
    expect(refusedGraphQL.status).toBe(429);
    expect(refusedGraphQL.body).toEqual({ errors: [{ message: refused.body.detail, extensions: { code: 'RATE_LIMITED' } }] });
    expect(refusedGraphQL.headers.get('retry-after')).not.toBeNull();
    expect((await bob.request('GET', '/api/tasks')).status).toBe(200);
  });

  test('the allowance comes back after the window', async () => {
    const carol = await api.user('carol');
    for (let i = 0; i < 3; i++) await carol.request('GET', '/api/tasks');
    const refused = await carol.request('GET', '/api/tasks');
    expect(refused.status).toBe(429);

    await new Promise((resolve) => setTimeout(resolve, Number(refused.headers.get('retry-after')) * 1000 + 100));

    expect((await carol.request('GET', '/api/tasks')).status).toBe(200);
  });

  test('requests without a valid token use up their address’s allowance, before any token is verified', async () => {
    const address = `10.1.${Math.floor(Math.random() * 250)}.${Math.floor(Math.random() * 250)}`;
    const bad = { authorization: `Bearer ${await signToken({ sub: 'x' }, { secret: 'another-secret-that-is-32-bytes-long!!' })}` };

    const failures = [];
    for (let i = 0; i < 3; i++) failures.push((await api.request('GET', '/api/tasks', { headers: bad, remoteAddress: address })).status);
    failures.push((await api.request('GET', '/api/tasks', { remoteAddress: address })).status);
    const fresh = await signToken({ sub: `dave-${randomUUID()}` });
    const validFromThere = await api.request('GET', '/api/tasks', {
      headers: { authorization: `Bearer ${fresh}` },
      remoteAddress: address,
    });
    const validFromElsewhere = await api.request('GET', '/api/tasks', {
      headers: { authorization: `Bearer ${fresh}` },
      remoteAddress: '10.9.9.9',
    });

    expect(failures).toEqual([401, 401, 401, 429]);
    // The fourth unproven request from there is refused before its token is looked at.
    expect(validFromThere.status).toBe(429);
    expect(validFromElsewhere.status).toBe(200);
    // Once verified, the token is known and no longer counts against the address.
    expect((await api.request('GET', '/api/tasks', { headers: { authorization: `Bearer ${fresh}` }, remoteAddress: address })).status).toBe(
      200,
    );
  });

  test('introspection without a token uses up its address’s allowance like any request without one', async () => {
    const address = `10.2.${Math.floor(Math.random() * 250)}.${Math.floor(Math.random() * 250)}`;
    const introspect = { body: { query: '{ __schema { queryType { name } } }' }, remoteAddress: address };

    const statuses = [];
    for (let i = 0; i < 3; i++) statuses.push((await api.request('POST', '/graphql', introspect)).status);
    statuses.push((await api.request('POST', '/graphql', introspect)).status);
    statuses.push((await api.request('GET', '/api/tasks', { remoteAddress: address })).status);

    expect(statuses).toEqual([200, 200, 200, 429, 429]);
  });

  test('the CORS preflight lets a browser read the RateLimit fields', async () => {
    const cors = await createTestApp({ env: { ...limited, CORS_ORIGINS: 'https://app.example' } });
    try {
      const alice = await cors.user('alice');
      const response = await alice.request('GET', '/api/tasks', { headers: { origin: 'https://app.example' } });
      const exposed =
        response.headers
          .get('access-control-expose-headers')
          ?.split(',')
          .map((h) => h.trim()) ?? [];
      expect(exposed).toEqual(expect.arrayContaining(['ratelimit', 'ratelimit-policy', 'retry-after']));
    } finally {
      await cors.close();
    }
  });
});

describe('with the counters in Redis', () => {
  test('two instances share one allowance per user', async () => {
    const [one, two] = await Promise.all([
      createTestApp({ env: { ...limited, REDIS_URL } }),
      createTestApp({ env: { ...limited, REDIS_URL } }),
    ]);
    try {
      const token = await signToken({ sub: `erin-${randomUUID()}` });
      const headers = { authorization: `Bearer ${token}` };
      const statuses = [];
      for (const api of [one, two, one, two]) statuses.push((await api.request('GET', '/api/tasks', { headers })).status);

      expect(statuses).toEqual([200, 200, 200, 429]);
    } finally {
      await Promise.all([one.close(), two.close()]);
    }
  });

  test('Redis unreachable: requests go through, and a warning says the limit is not enforced', async () => {
    const logLines: string[] = [];
    const api = await createTestApp({ env: { ...limited, REDIS_URL: 'redis://127.0.0.1:1' }, logLines });
    try {
      const alice = await api.user('alice');
      const statuses = [];
      for (let i = 0; i < 5; i++) statuses.push((await alice.request('GET', '/api/tasks')).status);
      const graphql = await alice.graphql('{ tasks { id } }');

      expect(statuses).toEqual([200, 200, 200, 200, 200]);
      expect(graphql.status).toBe(200);
      const warnings = logLines
        .map((line) => JSON.parse(line) as { level: number; msg: string })
        .filter((l) => l.msg.startsWith('rate limits not enforced'));
      expect(warnings.length).toBeGreaterThanOrEqual(1);
      expect(warnings[0]?.level).toBe(40);
    } finally {
      await api.close();
    }
  });
});
