/**
 * Compressed answers (issue 14): brotli or gzip as Accept-Encoding asks, for answers over 1 KB (lists,
 * streamed whole lists, the OpenAPI document, Swagger UI's files); never an event stream; nothing with
 * COMPRESSION=false.
 */
import { brotliDecompressSync, gunzipSync } from 'node:zlib';
import { afterAll, beforeAll } from 'vitest';
import { createTestApp, describe, expect, test, type TestApp, type TestUser } from './support/fixtures.js';
import { openSse } from './support/sse.js';

let api: TestApp;
let alice: TestUser;
beforeAll(async () => {
  api = await createTestApp();
  alice = await api.user('alice');
  // More than one streamed chunk (250) of tasks, so the whole list is sent as a stream.
  await api.database.prisma.$executeRaw`INSERT INTO users (id) VALUES (${alice.id})`;
  await api.database.prisma.$executeRaw`
    INSERT INTO tasks (user_id, title) SELECT ${alice.id}, 'task number ' || g FROM generate_series(1, 600) g`;
});
afterAll(() => api.close());

async function get(path: string, acceptEncoding?: string, token = alice.token) {
  const response = await api.app.inject({
    method: 'GET',
    url: path,
    headers: { authorization: `Bearer ${token}`, ...(acceptEncoding !== undefined && { 'accept-encoding': acceptEncoding }) },
  });
  const encoding = response.headers['content-encoding'];
  const raw = response.rawPayload;
  const decoded = encoding === 'br' ? brotliDecompressSync(raw) : encoding === 'gzip' ? gunzipSync(raw) : raw;
  return { response, encoding, wireBytes: raw.length, text: decoded.toString('utf8') };
}

describe('compression', () => {
  test('a whole list comes gzip- or brotli-compressed as asked (gzip when both are), with Vary, and decodes to the same JSON', async () => {
    const plain = await get('/api/tasks');
    expect(plain.encoding).toBeUndefined();
    expect(JSON.parse(plain.text)).toHaveLength(600);

    for (const [accept, expected] of [
      ['br', 'br'],
      ['gzip', 'gzip'],
      // Both taken equally: gzip, the cheaper to make.
      ['gzip, deflate, br, zstd', 'gzip'],
      ['br;q=0.5, gzip', 'gzip'],
      ['gzip;q=0.5, br', 'br'],
    ] as const) {
      const compressed = await get('/api/tasks', accept);
      expect(compressed.response.statusCode).toBe(200);
      expect(compressed.encoding, accept).toBe(expected);
      expect(compressed.response.headers.vary).toMatch(/accept-encoding/i);
      expect(compressed.text).toBe(plain.text);
      expect(compressed.wireBytes).toBeLessThan(plain.wireBytes / 4);
    }
  });

  test('a page and a list keep their ETag, and If-None-Match still answers 304', async () => {
    const page = await get('/api/tasks?limit=20', 'br');
    expect(page.encoding).toBe('br');
    const etag = page.response.headers.etag as string;
    const again = await api.app.inject({
      method: 'GET',
      url: '/api/tasks?limit=20',
      headers: { authorization: `Bearer ${alice.token}`, 'accept-encoding': 'br', 'if-none-match': etag },
    });
    expect(again.statusCode).toBe(304);
    expect(again.rawPayload).toHaveLength(0);
  });

  test('answers under 1 KB, and encodings other than br and gzip, are sent as they are', async () => {
    const one = await get('/api/tasks?limit=1', 'br');
    expect(one.encoding).toBeUndefined();
    expect(JSON.parse(one.text)).toHaveLength(1);
    const deflate = await get('/api/tasks', 'deflate');
    expect(deflate.encoding).toBeUndefined();
  });

  test('the OpenAPI document and Swagger UI are compressed too', async () => {
    expect((await get('/openapi.json', 'br')).encoding).toBe('br');
    const bundle = await get('/docs/swagger-ui-bundle.js', 'gzip');
    expect(bundle.encoding).toBe('gzip');
    expect(bundle.response.headers['content-type']).toMatch(/^text\/javascript/);
  });

  test('an event stream asked for with Accept-Encoding is never compressed, and its events arrive at once', async () => {
    const origin = await api.listen();
    const stream = await openSse(`${origin}/api/tasks/events`, { authorization: `Bearer ${alice.token}`, 'accept-encoding': 'gzip, br' });
    try {
      expect(stream.headers.get('content-type')).toBe('text/event-stream; charset=utf-8');
      expect(stream.headers.get('content-encoding')).toBeNull();
      await alice.request('POST', '/api/tasks', { body: { title: 'seen live' } });
      const event = await stream.next(5_000);
      expect(event?.event).toBe('task.created');
      expect(JSON.parse(event?.data ?? '{}')).toMatchObject({ title: 'seen live' });
    } finally {
      stream.close();
    }
  });

  test('COMPRESSION=false sends everything as it is', async () => {
    const off = await createTestApp({ env: { COMPRESSION: 'false' }, database: api.database });
    try {
      const bob = await off.user('bob');
      await bob.request('POST', '/api/tasks', { body: { title: 'x'.repeat(500) } });
      await bob.request('POST', '/api/tasks', { body: { title: 'y'.repeat(500) } });
      await bob.request('POST', '/api/tasks', { body: { title: 'z'.repeat(500) } });
      const response = await off.app.inject({
        method: 'GET',
        url: '/api/tasks',
        headers: { authorization: `Bearer ${bob.token}`, 'accept-encoding': 'br, gzip' },
      });
      expect(response.statusCode).toBe(200);
      expect(response.rawPayload.length).toBeGreaterThan(1024);
      expect(response.headers['content-encoding']).toBeUndefined();
      expect(JSON.parse(response.body)).toHaveLength(3);
    } finally {
      await off.close();
    }
  });
});
