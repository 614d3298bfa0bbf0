/**
 * Hostile tokens against the public-key (JWKS) path, with an issuer whose keys we hold so any header and
 * claim can be forged, and against the shared-secret path where it is on too. Each row is refused with
 * 401 and no detail beyond "Invalid or expired token"; none makes the server fetch anything it was not
 * configured to fetch.
 */
import {
  SignJWT,
  base64url,
  exportJWK,
  exportSPKI,
  generateKeyPair,
  type CryptoKey,
  type JWK,
  type JWTHeaderParameters,
  type JWTPayload,
} from 'jose';
import { afterAll, beforeAll, describe, expect, test } from 'vitest';
import type { AuthConfig } from '../src/auth/bearer.js';
import { TEST_SECRET, createTestApp, signToken, type TestApp } from './support/fixtures.js';
import { startKeyServer, type KeyServer } from './support/key-server.js';

const KID = 'issuer-key-1';
const now = () => Math.floor(Date.now() / 1000);

let issuer: KeyServer;
let privateKey: CryptoKey;
let publicJwk: JWK;
let publicPem: string;
let jwksOnly: TestApp;
let jwksAndSecret: TestApp;
let typPinned: TestApp;

beforeAll(async () => {
  const pair = await generateKeyPair('EdDSA', { extractable: true });
  privateKey = pair.privateKey;
  publicJwk = { ...(await exportJWK(pair.publicKey)), kid: KID, alg: 'EdDSA', use: 'sig' };
  publicPem = await exportSPKI(pair.publicKey);
  issuer = await startKeyServer((request, response) => {
    if (request.url === '/jwks') response.writeHead(200, { 'content-type': 'application/json' }).end(JSON.stringify({ keys: [publicJwk] }));
    else response.writeHead(404).end();
  });
  const jwks: AuthConfig['jwks'] = {
    url: new URL(`${issuer.origin}/jwks`),
    algorithms: ['EdDSA'],
    issuer: issuer.origin,
    audience: 'task-api',
  };
  jwksOnly = await createTestApp({ auth: { jwks } });
  jwksAndSecret = await createTestApp({ auth: { jwks, hs256: { secret: TEST_SECRET } } });
  typPinned = await createTestApp({ auth: { jwks: { ...jwks, type: 'JWT' } } });
});

afterAll(async () => {
  await Promise.all([jwksOnly.close(), jwksAndSecret.close(), typPinned.close(), issuer.close()]);
});

function claims(overrides: JWTPayload = {}): JWTPayload {
  return { sub: 'mallory', iss: issuer.origin, aud: 'task-api', iat: now(), exp: now() + 300, ...overrides };
}

async function signed(payload: JWTPayload, header: Partial<JWTHeaderParameters> = {}, key: CryptoKey | Uint8Array = privateKey) {
  return new SignJWT(payload).setProtectedHeader({ alg: 'EdDSA', kid: KID, ...header }).sign(key);
}

/** Signs any header, even one jose refuses to produce (an unknown `crit`). */
async function rawSigned(header: Record<string, unknown>, payload: JWTPayload) {
  const input = `${base64url.encode(JSON.stringify({ alg: 'EdDSA', kid: KID, ...header }))}.${base64url.encode(JSON.stringify(payload))}`;
  const signature = await crypto.subtle.sign('Ed25519', privateKey, new TextEncoder().encode(input));
  return `${input}.${base64url.encode(new Uint8Array(signature))}`;
}

function without(payload: JWTPayload, name: string): JWTPayload {
  return Object.fromEntries(Object.entries(payload).filter(([key]) => key !== name));
}

function unsigned(header: Record<string, unknown>, payload: JWTPayload): string {
  return `${base64url.encode(JSON.stringify(header))}.${base64url.encode(JSON.stringify(payload))}.`;
}

async function hs256(payload: JWTPayload, secret: Uint8Array | string) {
  const key = typeof secret === 'string' ? new TextEncoder().encode(secret) : secret;
  return new SignJWT(payload).setProtectedHeader({ alg: 'HS256', typ: 'JWT' }).sign(key);
}

async function status(app: TestApp, token: string) {
  const rest = await app.request('GET', '/api/tasks', { headers: { authorization: `Bearer ${token}` } });
  const graphql = await app.request('POST', '/graphql', {
    headers: { authorization: `Bearer ${token}` },
    body: { query: '{ tasks { id } }' },
  });
  expect(graphql.status).toBe(rest.status);
  return rest;
}

describe('the public-key path', () => {
  test('accepts a well-formed token (the control row), also when signed by hand', async () => {
    expect((await status(jwksOnly, await signed(claims()))).status).toBe(200);
    expect((await status(jwksOnly, await rawSigned({}, claims()))).status).toBe(200);
  });

  test('accepts a token that expired within the 5 s tolerance', async () => {
    expect((await status(jwksOnly, await signed(claims({ exp: now() - 2 })))).status).toBe(200);
  });

  const attacks: [string, () => Promise<string>][] = [
    ['alg "none"', () => Promise.resolve(unsigned({ alg: 'none', kid: KID }, claims()))],
    ['alg "None"', () => Promise.resolve(unsigned({ alg: 'None', kid: KID }, claims()))],
    ['alg "none" with a signature part', async () => `${unsigned({ alg: 'none' }, claims())}${(await signed(claims())).split('.')[2]}`],
    ['HS256 signed with the public key bytes', () => hs256(claims(), base64url.decode(publicJwk.x ?? ''))],
    ['HS256 signed with the public key PEM', () => hs256(claims(), publicPem)],
    ['HS256 signed with the public JWK JSON', () => hs256(claims(), JSON.stringify(publicJwk))],
    [
      'a tampered payload',
      async () => {
        const [header, , signature] = (await signed(claims())).split('.');
        return `${header}.${base64url.encode(JSON.stringify(claims({ sub: 'alice' })))}.${signature}`;
      },
    ],
    [
      'a tampered header (alg swapped)',
      async () => {
        const [, payload, signature] = (await signed(claims())).split('.');
        return `${base64url.encode(JSON.stringify({ alg: 'ES256', kid: KID }))}.${payload}.${signature}`;
      },
    ],
    [
      'a signature from another key under our kid',
      async () => {
        const other = await generateKeyPair('EdDSA');
        return signed(claims(), {}, other.privateKey);
      },
    ],
    [
      'an algorithm not on the list (ES256)',
      async () => {
        const es = await generateKeyPair('ES256');
        return new SignJWT(claims()).setProtectedHeader({ alg: 'ES256', kid: KID }).sign(es.privateKey);
      },
    ],
    ['expired beyond the tolerance', () => signed(claims({ exp: now() - 60 }))],
    ['no exp', () => signed(without(claims(), 'exp'))],
    ['nbf in the future', () => signed(claims({ nbf: now() + 120 }))],
    ['iat in the future', () => signed(claims({ iat: now() + 120 }))],
    ['the wrong issuer', () => signed(claims({ iss: 'https://evil.example' }))],
    ['no issuer', () => signed(without(claims(), 'iss'))],
    ['the wrong audience', () => signed(claims({ aud: 'another-api' }))],
    ['an audience list without ours', () => signed(claims({ aud: ['another-api', 'third-api'] }))],
    ['no audience', () => signed(without(claims(), 'aud'))],
    ['no sub', () => signed(without(claims(), 'sub'))],
    ['an empty sub', () => signed(claims({ sub: '' }))],
    ['a numeric sub', () => signed({ ...claims(), sub: 42 } as unknown as JWTPayload)],
    ['an object sub', () => signed({ ...claims(), sub: { id: 'alice' } } as unknown as JWTPayload)],
    ['a path-traversal kid', () => signed(claims(), { kid: '../../../../etc/passwd' })],
    ['an SQL kid', () => signed(claims(), { kid: "' OR '1'='1" })],
    ['a 4 KB kid', () => signed(claims(), { kid: 'k'.repeat(4096) })],
    ['a numeric kid', () => signed(claims(), { kid: 7 } as unknown as JWTHeaderParameters)],
    [
      'an embedded jwk (the attacker signs with their own key)',
      async () => {
        const attacker = await generateKeyPair('EdDSA', { extractable: true });
        return signed(claims(), { jwk: await exportJWK(attacker.publicKey) }, attacker.privateKey);
      },
    ],
    ['a crit header naming an extension we do not know', () => rawSigned({ crit: ['exp-v2'], 'exp-v2': 1 }, claims())],
    ['a crit header that is not a list', () => rawSigned({ crit: 'b64' }, claims())],
    ['a token over 8 KB', () => signed(claims({ padding: 'x'.repeat(9000) }))],
    ['not a JWT at all', () => Promise.resolve('a.b.c')],
    ['two parts only', async () => (await signed(claims())).split('.').slice(0, 2).join('.')],
  ];

  test.for(attacks)('refuses %s with 401', async ([, makeToken]) => {
    const response = await status(jwksOnly, await makeToken());

    expect(response.status).toBe(401);
    expect(response.headers.get('www-authenticate')).toBe('Bearer error="invalid_token"');
    expect(response.body).toEqual({ detail: 'Invalid or expired token', code: 'UNAUTHENTICATED' });
  });

  test.for<[string, string]>([
    ['jku', '/attacker-jwks'],
    ['x5u', '/attacker-cert'],
  ])('refuses a %s header and never fetches it', async ([header, path]) => {
    const before = issuer.hitsTo(path);
    const token = await signed(claims(), { [header]: `${issuer.origin}${path}` });

    expect((await status(jwksOnly, token)).status).toBe(401);
    expect(issuer.hitsTo(path)).toBe(before);
  });

  test('refuses an x5c certificate chain header', async () => {
    const token = await signed(claims(), { x5c: ['MIIB'] });

    expect((await status(jwksOnly, token)).status).toBe(401);
  });

  test('does not refetch the key set for every unknown kid', async () => {
    await status(jwksOnly, await signed(claims())); // keys fetched
    const before = issuer.hitsTo('/jwks');

    for (let i = 0; i < 20; i++) {
      expect((await status(jwksOnly, await signed(claims(), { kid: `unknown-${i}` }))).status).toBe(401);
    }

    expect(issuer.hitsTo('/jwks') - before).toBeLessThanOrEqual(1);
  });

  test('when typ is pinned, refuses another typ and a missing one', async () => {
    expect((await status(typPinned, await signed(claims(), { typ: 'JWT' }))).status).toBe(200);
    expect((await status(typPinned, await signed(claims(), { typ: 'at+jwt' }))).status).toBe(401);
    expect((await status(typPinned, await signed(claims()))).status).toBe(401);
  });
});

describe('with the shared-secret path on as well', () => {
  test('an HS256 token with the secret is accepted, and only on that path', async () => {
    expect((await status(jwksAndSecret, await signToken({ sub: 'hs-user' }))).status).toBe(200);
  });

  test.for([
    ['HS256 signed with the public key bytes', () => hs256(claims(), base64url.decode(publicJwk.x ?? ''))],
    ['HS256 signed with the public key PEM', () => hs256(claims(), publicPem)],
    [
      'HS384 signed with the secret',
      () => new SignJWT(claims()).setProtectedHeader({ alg: 'HS384' }).sign(new TextEncoder().encode(TEST_SECRET)),
    ],
    ['an EdDSA token whose kid claims the secret', () => signed(claims(), { kid: TEST_SECRET })],
  ] as const)('refuses %s', async ([, makeToken]) => {
    expect((await status(jwksAndSecret, await makeToken())).status).toBe(401);
  });
});

describe('oversized requests', () => {
  test('an Authorization header beyond the 16 KB request-head limit is answered 431 by the server', async () => {
    const origin = await jwksOnly.listen();
    const response = await fetch(`${origin}/api/tasks`, { headers: { authorization: `Bearer ${'a'.repeat(20_000)}` } });
    expect(response.status).toBe(431);
    expect(await response.json()).toEqual({ detail: 'Request header fields too large', code: 'HEADERS_TOO_LARGE' });
  });
});
