import { randomUUID } from 'node:crypto';
import { SignJWT, base64url } from 'jose';
import { vi } from 'vitest';
import { TEST_SECRET, describe, expect, signToken, test, type TestApp } from './support/fixtures.js';

const now = () => Math.floor(Date.now() / 1000);

function unsignedToken(header: Record<string, unknown>, payload: Record<string, unknown>): string {
  const encode = (part: Record<string, unknown>) => base64url.encode(JSON.stringify(part));
  return `${encode(header)}.${encode(payload)}.`;
}

async function asRestAndGraphQL(api: TestApp, authorization: string | undefined) {
  const headers: Record<string, string> = authorization === undefined ? {} : { authorization };
  const rest = await api.request('GET', '/api/tasks', { headers });
  const graphql = await api.request('POST', '/graphql', { headers, body: { query: '{ tasks { id } }' } });
  return { rest, graphql };
}

describe('bearer tokens', () => {
  test('a valid HS256 token with a non-UUID user id is accepted on REST and GraphQL', async ({ api }) => {
    const sub = `user_${randomUUID().slice(0, 8)}`;
    const token = await signToken({ sub });

    const created = await api.request('POST', '/api/tasks', {
      headers: { authorization: `Bearer ${token}` },
      body: { title: 'hello' },
    });
    const { rest, graphql } = await asRestAndGraphQL(api, `bearer ${token}`);

    expect(created.status).toBe(201);
    expect(created.body.user_id).toBe(sub);
    expect(rest.status).toBe(200);
    expect(rest.body).toHaveLength(1);
    expect(graphql.status).toBe(200);
    expect(graphql.body.data.tasks).toHaveLength(1);
  });

  test.for([
    ['no Authorization header', undefined],
    ['another scheme', 'Basic YWxpY2U6c2VjcmV0'],
    ['an empty header', ''],
  ])('%s is 401 "Not authenticated" with a bare Bearer challenge', async ([, authorization], { api }) => {
    const { rest, graphql } = await asRestAndGraphQL(api, authorization);

    for (const response of [rest, graphql]) {
      expect(response.status).toBe(401);
      expect(response.headers.get('www-authenticate')).toBe('Bearer');
    }
    expect(rest.body).toEqual({ detail: 'Not authenticated', code: 'UNAUTHENTICATED' });
    expect(graphql.body.errors[0].extensions.code).toBe('UNAUTHENTICATED');
  });

  const sub = 'someone';
  const cases: [string, () => Promise<string>][] = [
    ['"Bearer" with no token', () => Promise.resolve('')],
    ['a token that is not a JWT', () => Promise.resolve('not.a.jwt')],
    ['a token signed with another secret', () => signToken({ sub }, { secret: 'another-secret-that-is-32-bytes-long!!' })],
    ['an expired token', () => signToken({ sub, exp: now() - 60 })],
    ['a token without exp', () => signToken({ sub }, { expiresIn: null })],
    ['a token not valid yet (nbf)', () => signToken({ sub, nbf: now() + 120 })],
    ['a token without sub', () => signToken({})],
    ['a token with an empty sub', () => signToken({ sub: '  ' })],
    ['a token with a numeric sub', () => signToken({ sub: 42 })],
    ['a sub with an unpaired high surrogate', () => signToken({ sub: 'v\uD800' })],
    ['a sub with an unpaired low surrogate', () => signToken({ sub: 'v\uDFFF' })],
    ['a sub with NUL', () => signToken({ sub: 'v\u0000w' })],
    ['a sub with a newline', () => signToken({ sub: 'alice\nadmin' })],
    ['a sub with a C1 control character', () => signToken({ sub: 'v\u0085' })],
    ['a sub of 256 bytes of UTF-8 (128 × é)', () => signToken({ sub: 'é'.repeat(128) })],
    ['a sub of 3,000 characters', () => signToken({ sub: 'x'.repeat(3000) })],
    ['an unsigned token (alg none)', () => Promise.resolve(unsignedToken({ alg: 'none', typ: 'JWT' }, { sub, exp: now() + 60 }))],
    ['an unsigned token (alg None)', () => Promise.resolve(unsignedToken({ alg: 'None' }, { sub, exp: now() + 60 }))],
    [
      'a token signed with HS512 and the right secret',
      () => new SignJWT({ sub }).setProtectedHeader({ alg: 'HS512' }).setExpirationTime('5m').sign(new TextEncoder().encode(TEST_SECRET)),
    ],
    [
      'a tampered payload',
      async () => {
        const [header, , signature] = (await signToken({ sub: 'mallory' })).split('.');
        return `${header}.${base64url.encode(JSON.stringify({ sub: 'alice', exp: now() + 60 }))}.${signature}`;
      },
    ],
    ['an oversized token', async () => `${await signToken({ sub })}${'A'.repeat(9000)}`],
  ];

  test.for(cases)('%s is 401 "Invalid or expired token"', async ([, makeToken], { api }) => {
    const { rest, graphql } = await asRestAndGraphQL(api, `Bearer ${await makeToken()}`);

    for (const response of [rest, graphql]) {
      expect(response.status).toBe(401);
      expect(response.headers.get('www-authenticate')).toBe('Bearer error="invalid_token"');
    }
    expect(rest.body).toEqual({ detail: 'Invalid or expired token', code: 'UNAUTHENTICATED' });
    expect(graphql.body).toEqual({
      errors: [{ message: 'Invalid or expired token', extensions: { code: 'UNAUTHENTICATED' } }],
    });
  });

  test('a token that expired a moment ago is still accepted (5 s clock tolerance)', async ({ api }) => {
    const token = await signToken({ sub: 'clock-skew', exp: now() - 2 });

    const { rest } = await asRestAndGraphQL(api, `Bearer ${token}`);

    expect(rest.status).toBe(200);
  });

  test('a token verified a moment ago is refused once it expires (verified tokens are remembered, never past exp)', async ({ api }) => {
    const token = await signToken({ sub: `expiring-${randomUUID()}`, exp: now() + 10 });
    const before = await asRestAndGraphQL(api, `Bearer ${token}`);
    vi.useFakeTimers({ toFake: ['Date'], now: Date.now() + 16_000 });
    try {
      const after = await asRestAndGraphQL(api, `Bearer ${token}`);

      expect([before.rest.status, before.graphql.status]).toEqual([200, 200]);
      expect(after.rest.status).toBe(401);
      expect(after.rest.body).toEqual({ detail: 'Invalid or expired token', code: 'UNAUTHENTICATED' });
      expect(after.graphql.body).toMatchObject({ errors: [{ extensions: { code: 'UNAUTHENTICATED' } }] });
    } finally {
      vi.useRealTimers();
    }
  });

  test('subs that differ in any character are different users, up to 255 bytes of UTF-8', async ({ api }) => {
    const suffix = randomUUID().slice(0, 8);
    // U+FFFD is a real character: the user whose id holds it is not the one an unpaired surrogate would have been.
    const subs = [
      `v${suffix}\uFFFD`,
      `v${suffix}`,
      `V${suffix}`,
      `v${suffix} `,
      `${suffix}${'é'.repeat(123)}`.slice(0, 127),
      `${suffix}${'x'.repeat(247)}`,
    ];
    expect(Buffer.byteLength(subs[5] ?? '')).toBe(255);

    for (const [index, sub] of subs.entries()) {
      const created = await api.request('POST', '/api/tasks', {
        headers: { authorization: `Bearer ${await signToken({ sub })}` },
        body: { title: `#${index}` },
      });
      expect(created.status).toBe(201);
      expect(created.body.user_id).toBe(sub);
    }
    for (const [index, sub] of subs.entries()) {
      const { rest, graphql } = await asRestAndGraphQL(api, `Bearer ${await signToken({ sub })}`);
      expect(rest.body.map((task: { title: string }) => task.title)).toEqual([`#${index}`]);
      expect(graphql.body.data.tasks).toHaveLength(1);
    }
  });
});
