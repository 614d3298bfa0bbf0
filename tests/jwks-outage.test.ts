/**
 * The issuer's JWKS endpoint failing: down (503s), or hanging (no answer at all). Keys already fetched
 * keep working; a token that needs a key we do not have gets a quick 503 with Retry-After; the endpoint is
 * not hammered; everything recovers by itself. Timings are shortened so the suite stays fast.
 */
import { SignJWT, exportJWK, generateKeyPair, type CryptoKey, type JWK } from 'jose';
import { afterAll, afterEach, beforeAll, describe, expect, test } from 'vitest';
import type { App } from '../src/app.js';
import type { Database } from '../src/db/client.js';
import { openTestDatabase } from './support/database.js';
import { createTestApp, send } from './support/fixtures.js';
import { startKeyServer, type KeyServer } from './support/key-server.js';

const TIMEOUT_MS = 300;
const COOLDOWN_MS = 500;
const MAX_AGE_MS = 800;

interface IssuerKey {
  kid: string;
  privateKey: CryptoKey;
  publicJwk: JWK;
}

let database: Database;
let issuer: KeyServer;
let published: IssuerKey[];

async function newKey(kid: string): Promise<IssuerKey> {
  const pair = await generateKeyPair('EdDSA', { extractable: true });
  return { kid, privateKey: pair.privateKey, publicJwk: { ...(await exportJWK(pair.publicKey)), kid, alg: 'EdDSA' } };
}

function tokenFor(key: IssuerKey, sub = 'erin') {
  return new SignJWT({ sub, iss: 'issuer', aud: 'api' })
    .setProtectedHeader({ alg: 'EdDSA', kid: key.kid })
    .setExpirationTime('5m')
    .sign(key.privateKey);
}

async function appWithFreshKeyStore(): Promise<App> {
  const { app } = await createTestApp({
    database,
    auth: {
      jwks: {
        url: new URL(`${issuer.origin}/jwks`),
        algorithms: ['EdDSA'],
        issuer: 'issuer',
        audience: 'api',
        timeoutMs: TIMEOUT_MS,
        cooldownMs: COOLDOWN_MS,
        maxAgeMs: MAX_AGE_MS,
      },
    },
  });
  return app;
}

async function listTasks(app: App, token: string) {
  const started = performance.now();
  const response = await send(app, 'GET', '/api/tasks', { headers: { authorization: `Bearer ${token}` } });
  return { ...response, ms: performance.now() - started };
}

const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));

beforeAll(async () => {
  database = await openTestDatabase();
  issuer = await startKeyServer((request, response) => {
    response.writeHead(200, { 'content-type': 'application/json' }).end(JSON.stringify({ keys: published.map((k) => k.publicJwk) }));
  });
});

afterEach(() => {
  issuer.mode = 'up';
});

afterAll(async () => {
  await Promise.all([database.close(), issuer.close()]);
});

describe('when the JWKS endpoint fails', () => {
  test.for(['down', 'hang'] as const)('keys already fetched keep working while it is %s, past their max age', async (mode) => {
    const key = await newKey('k1');
    published = [key];
    const app = await appWithFreshKeyStore();
    expect((await listTasks(app, await tokenFor(key))).status).toBe(200);

    issuer.mode = mode;
    await sleep(MAX_AGE_MS + 100);

    for (let i = 0; i < 3; i++) {
      const response = await listTasks(app, await tokenFor(key));
      expect(response.status).toBe(200);
      expect(response.ms).toBeLessThan(TIMEOUT_MS); // the refresh runs in the background
    }
  });

  test('a token needing a key we do not have gets a quick 503 with Retry-After, not a 500 or a hang', async () => {
    const known = await newKey('k1');
    const rotated = await newKey('k2');
    published = [known];
    const app = await appWithFreshKeyStore();
    expect((await listTasks(app, await tokenFor(known))).status).toBe(200);
    await sleep(COOLDOWN_MS + 50);

    issuer.mode = 'hang';
    const response = await listTasks(app, await tokenFor(rotated));
    const graphql = await send(app, 'POST', '/graphql', {
      headers: { authorization: `Bearer ${await tokenFor(rotated)}` },
      body: { query: '{ tasks { id } }' },
    });

    expect(response.status).toBe(503);
    expect(response.headers.get('retry-after')).toMatch(/^\d+$/);
    expect(response.body).toEqual({ detail: 'Token keys are unavailable; try again shortly', code: 'SERVICE_UNAVAILABLE' });
    expect(response.ms).toBeLessThan(TIMEOUT_MS + 500);
    expect(graphql.status).toBe(503);
    expect(graphql.body.errors[0].extensions.code).toBe('SERVICE_UNAVAILABLE');
  });

  test('with no keys ever fetched, requests get 503 at once and the endpoint is tried once per cooldown', async () => {
    const key = await newKey('k1');
    published = [key];
    issuer.mode = 'down';
    const app = await appWithFreshKeyStore();
    const before = issuer.hitsTo('/jwks');

    const responses = [];
    for (let i = 0; i < 10; i++) responses.push(await listTasks(app, await tokenFor(key)));

    expect(responses.map((r) => r.status)).toEqual(Array(10).fill(503));
    expect(Math.max(...responses.map((r) => r.ms))).toBeLessThan(TIMEOUT_MS + 500);
    expect(issuer.hitsTo('/jwks') - before).toBe(1);
  });

  test('recovers by itself once the endpoint is back, and picks up a rotated key', async () => {
    const first = await newKey('k1');
    published = [first];
    issuer.mode = 'down';
    const app = await appWithFreshKeyStore();
    expect((await listTasks(app, await tokenFor(first))).status).toBe(503);

    issuer.mode = 'up';
    await sleep(COOLDOWN_MS + 50);
    expect((await listTasks(app, await tokenFor(first))).status).toBe(200);

    const second = await newKey('k2');
    published = [first, second];
    await sleep(COOLDOWN_MS + 50);
    expect((await listTasks(app, await tokenFor(second))).status).toBe(200);
  });

  test('unknown kids within the cooldown cost no fetch and are 401 while the endpoint is healthy', async () => {
    const key = await newKey('k1');
    published = [key];
    const app = await appWithFreshKeyStore();
    expect((await listTasks(app, await tokenFor(key))).status).toBe(200);
    const before = issuer.hitsTo('/jwks');
    const stranger = await newKey('nobody-knows');

    for (let i = 0; i < 10; i++) expect((await listTasks(app, await tokenFor(stranger))).status).toBe(401);

    expect(issuer.hitsTo('/jwks') - before).toBeLessThanOrEqual(1);
  });
});
