/**
 * GraphiQL over HTTP: a small page and content-hashed files cached for good, each sent compressed as the
 * request prefers; and what it needs to open clean: introspection answered without a token while
 * introspection is on, and nothing else.
 */
import { brotliDecompressSync, gunzipSync } from 'node:zlib';
import { afterAll, beforeAll, describe, expect, test } from 'vitest';
import { preferredEncoding } from '../src/graphql/graphiql.js';
import { createTestApp, type TestApp } from './support/fixtures.js';

let api: TestApp;
let closed: TestApp;

beforeAll(async () => {
  api = await createTestApp();
  closed = await createTestApp({ env: { GRAPHQL_INTROSPECTION: 'false' } });
});

afterAll(async () => {
  await Promise.all([api.close(), closed.close()]);
});

const html = { accept: 'text/html' };

/** The asset URLs the page links to, by kind. */
async function assetUrls(): Promise<string[]> {
  const page = await api.request('GET', '/graphql', { headers: html });
  return [...page.text.matchAll(/(?:src|href)="(\/graphql\/assets\/[^"]+)"/g)].map((match) => match[1] ?? '');
}

async function fetchAsset(url: string, headers: Record<string, string> = {}) {
  const response = await api.app.inject({ method: 'GET', url, headers });
  return { status: response.statusCode, headers: response.headers, body: response.rawPayload };
}

describe('the GraphiQL page', () => {
  test('is a few hundred bytes that link its script, styles and icon by content-hashed names', async () => {
    const page = await api.request('GET', '/graphql', { headers: html });

    expect(page.status).toBe(200);
    expect(page.headers.get('content-type')).toBe('text/html; charset=utf-8');
    expect(Buffer.byteLength(page.text)).toBeLessThan(10_000);
    expect(page.text).toContain('<title>Task API · GraphiQL</title>');
    expect(page.text).not.toContain('<script>');
    expect(page.headers.get('cache-control')).toBe('no-cache');
    expect(page.headers.get('vary')).toContain('Accept');
    expect(page.headers.get('content-security-policy')).toContain("script-src 'self';");
    expect(page.headers.get('content-security-policy')).toContain("worker-src 'self';");
    expect((await assetUrls()).map((url) => url.replace(/\.[\w-]{12}\./, '.<hash>.')).toSorted()).toEqual([
      '/graphql/assets/favicon.<hash>.ico',
      '/graphql/assets/graphiql.<hash>.css',
      '/graphql/assets/graphiql.<hash>.js',
      '/graphql/assets/setup.<hash>.js',
    ]);
  });

  test('is 304 when its ETag is sent back, and HEAD has no body', async () => {
    const page = await api.request('GET', '/graphql', { headers: html });
    const again = await api.request('GET', '/graphql', { headers: { ...html, 'if-none-match': page.headers.get('etag') ?? '' } });
    const head = await api.request('HEAD', '/graphql', { headers: html });

    expect(again.status).toBe(304);
    expect(again.text).toBe('');
    expect(head.status).toBe(200);
    expect(head.text).toBe('');
    expect(head.headers.get('etag')).toBe(page.headers.get('etag'));
  });

  test('setup starts Monaco’s workers from same-origin files, and GraphiQL with no headers', async () => {
    const setupUrl = (await assetUrls()).find((url) => url.includes('/setup.')) ?? '';
    const setup = (await fetchAsset(setupUrl)).body.toString();
    const workerUrls = [...setup.matchAll(/"(\/graphql\/assets\/[\w.-]+\.worker\.[\w-]{12}\.js)"/g)].map((match) => match[1] ?? '');

    expect(workerUrls).toHaveLength(3);
    expect(setup).toContain('"headers":"{}"');
    expect(setup).toContain('{\\"Authorization\\": \\"Bearer <token>\\"}');
    for (const url of workerUrls) {
      const worker = await fetchAsset(url);
      expect(worker.status, url).toBe(200);
      expect(worker.headers['content-type'], url).toBe('text/javascript; charset=utf-8');
    }
  });
});

describe('GraphiQL’s files', () => {
  test('are cached for good and sent as brotli, gzip or as they are, as the request prefers', async () => {
    const scriptUrl = (await assetUrls()).find((url) => url.endsWith('.js') && url.includes('/graphiql.')) ?? '';

    const identity = await fetchAsset(scriptUrl);
    const brotli = await fetchAsset(scriptUrl, { 'accept-encoding': 'gzip, deflate, br, zstd' });
    const gzip = await fetchAsset(scriptUrl, { 'accept-encoding': 'gzip, br;q=0' });
    const starred = await fetchAsset(scriptUrl, { 'accept-encoding': '*' });

    expect(identity.status).toBe(200);
    expect(identity.headers['cache-control']).toBe('public, max-age=31536000, immutable');
    expect(identity.headers['content-encoding']).toBeUndefined();
    expect(identity.headers['content-length']).toBe(String(identity.body.length));
    expect(identity.body.length).toBeGreaterThan(4_000_000);
    for (const [response, encoding, decode] of [
      [brotli, 'br', brotliDecompressSync],
      [gzip, 'gzip', gunzipSync],
      [starred, 'br', brotliDecompressSync],
    ] as const) {
      expect(response.headers['content-encoding']).toBe(encoding);
      expect(response.headers['vary']).toContain('Accept-Encoding');
      expect(response.headers['cache-control']).toBe('public, max-age=31536000, immutable');
      expect(response.headers['content-length']).toBe(String(response.body.length));
      expect(response.body.length).toBeLessThan(identity.body.length / 3);
      expect(decode(response.body).equals(identity.body)).toBe(true);
    }
    // Each encoding is its own representation, with its own tag.
    expect(new Set([identity, brotli, gzip].map((response) => response.headers.etag)).size).toBe(3);
  });

  test('are 304 when the ETag of the chosen encoding is sent back', async () => {
    const styleUrl = (await assetUrls()).find((url) => url.endsWith('.css')) ?? '';
    const first = await fetchAsset(styleUrl, { 'accept-encoding': 'br' });

    const again = await fetchAsset(styleUrl, { 'accept-encoding': 'br', 'if-none-match': String(first.headers.etag) });

    expect(again.status).toBe(304);
    expect(again.body.length).toBe(0);
    expect(again.headers.etag).toBe(first.headers.etag);
  });

  test('HEAD has GET’s headers, Content-Length and Content-Encoding included, and no body', async () => {
    const styleUrl = (await assetUrls()).find((url) => url.endsWith('.css')) ?? '';
    const get = await fetchAsset(styleUrl, { 'accept-encoding': 'gzip' });
    const head = await api.app.inject({ method: 'HEAD', url: styleUrl, headers: { 'accept-encoding': 'gzip' } });

    expect(head.statusCode).toBe(200);
    expect(head.rawPayload.length).toBe(0);
    for (const name of ['content-length', 'content-encoding', 'content-type', 'etag', 'vary', 'cache-control']) {
      expect(head.headers[name], name).toBe(get.headers[name]);
    }
  });

  test('a name that is not one of them is 404, and without introspection there are none', async () => {
    const [anyUrl = ''] = await assetUrls();

    expect((await api.request('GET', '/graphql/assets/graphiql.AAAAAAAAAAAA.js')).body).toEqual({ detail: 'Not Found', code: 'NOT_FOUND' });
    expect((await closed.request('GET', anyUrl)).status).toBe(404);
    expect((await closed.request('GET', '/graphql', { headers: html })).status).toBe(401);
  });

  test.for([
    [undefined, undefined],
    ['identity', undefined],
    ['gzip', 'gzip'],
    ['br;q=0.5, gzip;q=0.8', 'gzip'],
    ['gzip;q=1, br;q=1', 'br'],
    ['*;q=0.1', 'br'],
    ['*, br;q=0', 'gzip'],
    ['br;q=0, gzip;q=0', undefined],
  ] as const)('Accept-Encoding %j is answered with %j', ([header, expected]) => {
    expect(preferredEncoding(header)).toBe(expected);
  });
});

describe('introspection without a token', () => {
  const introspect = '{ __schema { queryType { name fields { name } } } }';

  test('is answered while introspection is on', async () => {
    const response = await api.request('POST', '/graphql', { body: { query: introspect } });

    expect(response.status).toBe(200);
    expect(response.body.errors).toBeUndefined();
    expect(response.body.data.__schema.queryType.fields.map((field: { name: string }) => field.name)).toContain('tasks');
  });

  test('is answered over GET, and through fragments spread at the root', async () => {
    const query = 'query Types { ...Root __typename } fragment Root on Query { __type(name: "Task") { name } ... on Query { __typename } }';
    const response = await api.request('GET', `/graphql?query=${encodeURIComponent(query)}`, { headers: { accept: 'application/json' } });

    expect(response.status).toBe(200);
    expect(response.body).toEqual({ data: { __type: { name: 'Task' }, __typename: 'Query' } });
  });

  test('is 401 when introspection is off', async () => {
    const response = await closed.request('POST', '/graphql', { body: { query: introspect } });

    expect(response.status).toBe(401);
    expect(response.body.errors[0].extensions.code).toBe('UNAUTHENTICATED');
  });

  test.for([
    ['a query for tasks', { query: '{ tasks { id } }' }],
    ['introspection beside tasks', { query: '{ __schema { queryType { name } } tasks { id } }' }],
    ['tasks in a fragment spread at the root', { query: '{ __typename ...T } fragment T on Query { tasks { id } }' }],
    ['a mutation that only asks for __typename', { query: 'mutation { __typename }' }],
    ['the other operation of two', { query: 'query A { __typename } query B { tasks { id } }', operationName: 'B' }],
    ['a syntax error', { query: '{ __schema {' }],
    ['no query', { variables: {} }],
  ])('%s is 401 UNAUTHENTICATED', async ([, body]) => {
    const response = await api.request('POST', '/graphql', { body });

    expect(response.status).toBe(401);
    expect(response.headers.get('www-authenticate')).toBe('Bearer');
    expect(response.body).toEqual({ errors: [{ message: 'Not authenticated', extensions: { code: 'UNAUTHENTICATED' } }] });
  });

  test('with a bad token is 401 as any request with one', async () => {
    const response = await api.request('POST', '/graphql', { headers: { authorization: 'Bearer ' }, body: { query: introspect } });

    expect(response.status).toBe(401);
  });
});
