/**
 * What the clients are built from and served: schema.graphql and the codegen hooks stay current; GraphiQL,
 * Swagger UI and the web page are served from npm packages and the build, with nothing from a CDN.
 */
import { mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { generate } from '@graphql-codegen/cli';
import { printSchema } from 'graphql';
import { afterAll, beforeAll, describe, expect, test } from 'vitest';
import { schema } from '../src/schema/index.js';
import config from '../codegen.js';
import { createTestApp, type TestApp, type TestUser } from './support/fixtures.js';

const root = join(import.meta.dirname, '..');

describe('generated artifacts', () => {
  test('schema.graphql is the Pothos schema as printed now (run `npm run codegen` if not)', () => {
    expect(readFileSync(join(root, 'schema.graphql'), 'utf8')).toBe(`${printSchema(schema)}\n`);
  });

  test('the codegen hooks are what codegen.ts generates now (run `npm run codegen` if not)', async () => {
    const outputs = (await generate({ ...config, cwd: root, silent: true }, false)) as { filename: string; content: string }[];

    expect(outputs.map((o) => o.filename)).toEqual(['web/src/generated/graphql.ts']);
    expect(readFileSync(join(root, 'web/src/generated/graphql.ts'), 'utf8')).toBe(outputs[0]?.content);
    for (const hook of [
      'useTasksQuery',
      'useCreateTaskMutation',
      'useSetTaskCompletedMutation',
      'useRenameTaskMutation',
      'useDeleteTaskMutation',
    ]) {
      expect(outputs[0]?.content).toContain(`export function ${hook}(`);
    }
  });
});

describe('pages for people', () => {
  let webDir: string;
  let api: TestApp;
  let closed: TestApp;
  let alice: TestUser;

  beforeAll(async () => {
    webDir = mkdtempSync(join(tmpdir(), 'task-web-'));
    mkdirSync(join(webDir, 'assets'));
    writeFileSync(join(webDir, 'index.html'), '<!doctype html><title>Tasks</title>');
    writeFileSync(join(webDir, 'assets', 'app-abc123.js'), 'console.log(1)');
    api = await createTestApp({ webDir });
    closed = await createTestApp({ env: { NODE_ENV: 'production' }, webDir: join(webDir, 'no-build-here') });
    alice = await api.user('alice');
  });

  afterAll(async () => {
    await Promise.all([api.close(), closed.close()]);
    rmSync(webDir, { recursive: true, force: true });
  });

  const html = { headers: { accept: 'text/html' } };

  test('GraphiQL is served at /graphql to browsers, with no token needed and nothing from a CDN', async () => {
    const response = await api.request('GET', '/graphql', html);

    expect(response.status).toBe(200);
    expect(response.headers.get('content-type')).toMatch(/^text\/html/);
    expect(response.text).toContain('Task API · GraphiQL');
    expect(response.text).not.toMatch(/<(script|link)[^>]+(src|href)="https?:/);
    expect(response.headers.get('content-security-policy')).toContain("connect-src 'self'");
  });

  test('Swagger UI is served at /docs from swagger-ui-dist', async () => {
    const page = await api.request('GET', '/docs', html);
    const bundle = await api.request('GET', '/docs/swagger-ui-bundle.js');

    expect(page.status).toBe(200);
    expect(page.text).toContain('/docs/swagger-ui-bundle.js');
    expect(page.text).not.toMatch(/(src|href)="https?:/);
    expect(bundle.status).toBe(200);
    expect(bundle.headers.get('content-type')).toBe('text/javascript; charset=utf-8');
    expect(bundle.text.length).toBeGreaterThan(100_000);
  });

  test('introspection is on by default', async () => {
    const response = await alice.graphql('{ __schema { queryType { name } } }');

    expect(response.body).toEqual({ data: { __schema: { queryType: { name: 'Query' } } } });
  });

  test('with introspection off, the schema is not described and GraphiQL is not served', async () => {
    const user = await closed.user('carol');
    const introspection = await user.graphql('{ __schema { queryType { name } } }');
    const page = await closed.request('GET', '/graphql', html);

    expect(introspection.body.errors[0].message).toMatch(/introspection has been disabled/);
    expect(page.headers.get('content-type') ?? '').not.toMatch(/text\/html/);
    expect((await user.graphql('{ tasks { id } }')).body).toEqual({ data: { tasks: [] } });
  });

  test('the built web page is served at /, its hashed assets cached for good', async () => {
    const page = await api.request('GET', '/');
    const asset = await api.request('GET', '/assets/app-abc123.js');

    expect(page.status).toBe(200);
    expect(page.text).toBe('<!doctype html><title>Tasks</title>');
    expect(page.headers.get('content-type')).toBe('text/html; charset=utf-8');
    expect(page.headers.get('content-security-policy')).toContain("script-src 'self'");
    expect(asset.headers.get('cache-control')).toBe('public, max-age=31536000, immutable');
    expect((await api.request('HEAD', '/')).text).toBe('');
    expect((await api.request('POST', '/')).status).toBe(405);
  });

  test.for(['/../package.json', '/..%2fpackage.json', '/assets/..%2f..%2fpackage.json', '/assets/', '/index.htm', '/.env'])(
    'nothing outside the build is reachable: %s is 404',
    async (path) => {
      const response = await api.request('GET', path);

      expect(response.status).toBe(404);
      expect(response.body).toEqual({ detail: 'Not Found', code: 'NOT_FOUND' });
    },
  );

  test('without a build, / is 404', async () => {
    expect((await closed.request('GET', '/')).status).toBe(404);
  });
});
