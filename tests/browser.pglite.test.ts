/**
 * The clients, in a real browser: the web page (built with Vite, using the codegen hooks) through a task's
 * whole life; Swagger UI authorizing and executing a request; GraphiQL running a query; and a page on
 * another origin calling the REST API the way the existing frontend's fetch-based api-client does.
 * Screenshots go to test-results/screenshots (not committed).
 */
import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { Browser, Page } from 'playwright-core';
import { build } from 'vite';
import { afterAll, beforeAll, describe, expect, test } from 'vitest';
import { collectPageErrors, launchBrowser, screenshot } from './support/browser.js';
import { openTestDatabase } from './support/database.js';
import { createTestApp, signToken, type TestApp, type TestAppOptions } from './support/fixtures.js';

let browser: Browser;
let webDir: string;
let api: TestApp & { origin: string };

beforeAll(async () => {
  webDir = mkdtempSync(join(tmpdir(), 'task-web-'));
  await build({ configFile: join(import.meta.dirname, '../web/vite.config.ts'), logLevel: 'error', build: { outDir: webDir } });
  api = await serve({ webDir });
  browser = await launchBrowser();
}, 120_000);

afterAll(async () => {
  await browser.close();
  await api.close();
  rmSync(webDir, { recursive: true, force: true });
});

/** The app on a real port, so the browser talks to it over the network. */
async function serve(options: TestAppOptions): Promise<TestApp & { origin: string }> {
  const app = await createTestApp(options);
  return { ...app, origin: await app.listen() };
}

async function newPage(): Promise<{ page: Page; errors: string[] }> {
  const page = await (await browser.newContext()).newPage();
  return { page, errors: collectPageErrors(page) };
}

async function restList(token: string) {
  const response = await fetch(`${api.origin}/api/tasks`, { headers: { authorization: `Bearer ${token}` } });
  return (await response.json()) as { title: string; completed: boolean }[];
}

describe('the web page', () => {
  test('takes a task through its whole life, and says when to sign in again', async () => {
    const token = await signToken({ sub: `web-${Date.now()}` }, { expiresIn: '10m' });
    const { page, errors } = await newPage();
    await page.goto(`${api.origin}/`);

    await page.getByLabel('Access token').fill(token);
    await page.getByRole('button', { name: 'Sign in' }).click();
    await expect.poll(() => page.getByText('Nothing to do.').isVisible()).toBe(true);

    const newTitle = page.getByLabel('New task title');
    await newTitle.fill('Buy milk');
    await page.getByRole('button', { name: 'Add' }).click();
    await expect.poll(() => page.locator('li .title').allTextContents()).toEqual(['Buy milk']);
    await newTitle.fill('Walk the dog');
    await page.getByRole('button', { name: 'Add' }).click();
    await expect.poll(() => page.locator('li .title').allTextContents()).toEqual(['Walk the dog', 'Buy milk']);
    await screenshot(page, 'web-1-two-tasks');

    // A controlled checkbox: it changes once the server has answered.
    await page.getByLabel('Completed: Buy milk').click();
    await expect.poll(() => page.getByLabel('Completed: Buy milk').isChecked()).toBe(true);
    expect((await restList(token)).find((t) => t.title === 'Buy milk')?.completed).toBe(true);
    await page.getByLabel('Completed: Buy milk').click();
    await expect.poll(() => page.getByLabel('Completed: Buy milk').isChecked()).toBe(false);
    expect((await restList(token)).find((t) => t.title === 'Buy milk')?.completed).toBe(false);

    const milk = page.locator('li', { hasText: 'Buy milk' });
    await milk.getByRole('button', { name: 'Rename' }).click();
    await page.getByRole('form', { name: 'Rename Buy milk' }).getByLabel('Title').fill('   ');
    await page.getByRole('button', { name: 'Save' }).click();
    await expect.poll(() => page.getByRole('alert').textContent()).toContain('Title must not be empty');
    await screenshot(page, 'web-2-bad-title');
    await page.getByRole('form', { name: 'Rename Buy milk' }).getByLabel('Title').fill('Buy oat milk');
    await page.getByRole('button', { name: 'Save' }).click();
    await expect.poll(() => page.locator('li .title').allTextContents()).toEqual(['Walk the dog', 'Buy oat milk']);
    await expect.poll(() => page.getByRole('alert').count()).toBe(0);

    await page.getByRole('button', { name: 'Delete Walk the dog' }).click();
    await expect.poll(() => page.locator('li .title').allTextContents()).toEqual(['Buy oat milk']);
    expect((await restList(token)).map((t) => t.title)).toEqual(['Buy oat milk']);
    await screenshot(page, 'web-3-after-delete');

    const expired = await signToken({ sub: 'web-expired', exp: Math.floor(Date.now() / 1000) - 60 });
    await page.evaluate((value) => localStorage.setItem('task-gateway.token', value), expired);
    await page.reload();
    await expect.poll(() => page.getByRole('alert').textContent()).toContain('sign in again');
    await screenshot(page, 'web-4-sign-in-again');

    // The only console errors are the 401 we provoked.
    expect(errors.filter((e) => !e.includes('401'))).toEqual([]);
  });

  test('a change to a task changed elsewhere is refused, said plainly, and the current task shown', async () => {
    const token = await signToken({ sub: `web-stale-${Date.now()}` }, { expiresIn: '10m' });
    const authorization = `Bearer ${token}`;
    const created = await fetch(`${api.origin}/api/tasks`, {
      method: 'POST',
      headers: { authorization, 'content-type': 'application/json' },
      body: JSON.stringify({ title: 'Call the bank' }),
    });
    const { id } = (await created.json()) as { id: string };
    const { page, errors } = await newPage();
    await page.goto(`${api.origin}/`);
    await page.getByLabel('Access token').fill(token);
    await page.getByRole('button', { name: 'Sign in' }).click();
    await expect.poll(() => page.locator('li .title').allTextContents()).toEqual(['Call the bank']);

    // This page starts renaming; meanwhile another tab renames it (the list shows that live).
    await page.getByRole('button', { name: 'Rename' }).click();
    await page.getByRole('form', { name: 'Rename Call the bank' }).getByLabel('Title').fill('Email the bank');
    const renamed = await fetch(`${api.origin}/api/tasks/${id}`, {
      method: 'PUT',
      headers: { authorization, 'content-type': 'application/json', 'if-match': created.headers.get('etag') ?? '' },
      body: JSON.stringify({ title: 'Call the bank before noon' }),
    });
    expect(renamed.status).toBe(200);
    await page.getByRole('button', { name: 'Save' }).click();

    await expect.poll(() => page.getByRole('alert').textContent()).toContain('changed elsewhere');
    await expect.poll(() => page.locator('li .title').allTextContents()).toEqual(['Call the bank before noon']);
    await screenshot(page, 'web-5-changed-elsewhere');
    const now = await fetch(`${api.origin}/api/tasks/${id}`, { headers: { authorization } });
    expect(((await now.json()) as { title: string }).title).toBe('Call the bank before noon');

    // Now current, the page's change goes through.
    await page.getByLabel('Completed: Call the bank before noon').click();
    await expect.poll(() => page.getByLabel('Completed: Call the bank before noon').isChecked()).toBe(true);
    await expect.poll(() => page.getByRole('alert').count()).toBe(0);
    expect(errors).toEqual([]);
  });
});

describe('the web page, live', () => {
  test('a change in one page appears in another without a reload, and the page catches up after a server restart', async () => {
    const token = await signToken({ sub: `web-live-${Date.now()}` }, { expiresIn: '10m' });
    const authorization = `Bearer ${token}`;
    // An instance of its own, on a port it keeps across the restart.
    const database = await openTestDatabase();
    const first = await createTestApp({ webDir, database });
    const origin = await first.listen();
    const port = Number(new URL(origin).port);
    const open = async () => {
      const { page, errors } = await newPage();
      await page.goto(`${origin}/`);
      await page.getByLabel('Access token').fill(token);
      await page.getByRole('button', { name: 'Sign in' }).click();
      await expect.poll(() => page.getByText('Nothing to do.').isVisible()).toBe(true);
      return { page, errors };
    };
    const [one, two] = [await open(), await open()];

    await one.page.getByLabel('New task title').fill('Seen everywhere');
    await one.page.getByRole('button', { name: 'Add' }).click();
    await expect.poll(() => two.page.locator('li .title').allTextContents(), { timeout: 5_000 }).toEqual(['Seen everywhere']);
    await two.page.getByLabel('Completed: Seen everywhere').click();
    await expect.poll(() => one.page.getByLabel('Completed: Seen everywhere').isChecked(), { timeout: 5_000 }).toBe(true);

    // The server restarts; a change made through the new one reaches the pages once they reconnect.
    await first.close();
    const second = await createTestApp({ webDir, database });
    await second.app.listen({ port, host: '127.0.0.1' });
    try {
      const created = await fetch(`${origin}/api/tasks`, {
        method: 'POST',
        headers: { authorization, 'content-type': 'application/json' },
        body: JSON.stringify({ title: 'After the restart' }),
      });
      expect(created.status).toBe(201);
      await expect
        .poll(() => two.page.locator('li .title').allTextContents(), { timeout: 15_000 })
        .toEqual(['After the restart', 'Seen everywhere']);
      await screenshot(two.page, 'web-6-live-after-restart');
    } finally {
      await second.close();
      await database.close();
    }
    // Two pages, a restart and the pages' reconnect backoff (1 s, doubling): more than the default 30 s
    // on a loaded machine (CI's Node 24 pass took longer).
  }, 90_000);
});

describe('the web page, one stream per browser', () => {
  test('the tabs of one browser share one stream, and another tab takes it over when the first closes', async () => {
    const token = await signToken({ sub: `web-tabs-${Date.now()}` }, { expiresIn: '10m' });
    const database = await openTestDatabase();
    const server = await createTestApp({ webDir, database, env: { METRICS_TOKEN: 'metrics-token-for-tests' } });
    const origin = await server.listen();
    const streamsOpen = async () => {
      const metrics = await server.request('GET', '/metrics', { headers: { authorization: 'Bearer metrics-token-for-tests' } });
      return Number(/^task_event_streams (\d+)$/m.exec(metrics.text)?.[1]);
    };
    const create = async (title: string) => {
      const response = await fetch(`${origin}/api/tasks`, {
        method: 'POST',
        headers: { authorization: `Bearer ${token}`, 'content-type': 'application/json' },
        body: JSON.stringify({ title }),
      });
      expect(response.status).toBe(201);
    };
    const context = await browser.newContext();
    try {
      const first = await context.newPage();
      const errors = collectPageErrors(first);
      await first.goto(`${origin}/`);
      await first.getByLabel('Access token').fill(token);
      await first.getByRole('button', { name: 'Sign in' }).click();
      await expect.poll(() => first.getByText('Nothing to do.').isVisible()).toBe(true);
      // The second tab finds the token the first one stored.
      const second = await context.newPage();
      const secondErrors = collectPageErrors(second);
      await second.goto(`${origin}/`);
      await expect.poll(() => second.getByText('Nothing to do.').isVisible()).toBe(true);
      await expect.poll(streamsOpen).toBe(1);

      await create('Seen in both tabs');
      for (const page of [first, second]) {
        await expect.poll(() => page.locator('li .title').allTextContents(), { timeout: 5_000 }).toEqual(['Seen in both tabs']);
      }
      expect(await streamsOpen()).toBe(1);

      // The leading tab closes: the other one takes the stream over, from the last change it saw.
      await first.close();
      await create('Seen after the first tab closed');
      await expect
        .poll(() => second.locator('li .title').allTextContents(), { timeout: 10_000 })
        .toEqual(['Seen after the first tab closed', 'Seen in both tabs']);
      await expect.poll(streamsOpen, { timeout: 5_000 }).toBe(1);
      expect([...errors, ...secondErrors]).toEqual([]);
    } finally {
      await context.close();
      await server.close();
      await database.close();
    }
  }, 60_000);
});

describe('Swagger UI at /docs', () => {
  test('shows full paths, authorizes with a token and executes requests against its own origin', async () => {
    const token = await signToken({ sub: `swagger-${Date.now()}` });
    await fetch(`${api.origin}/api/tasks`, {
      method: 'POST',
      headers: { authorization: `Bearer ${token}`, 'content-type': 'application/json' },
      body: JSON.stringify({ title: 'Seen through Swagger' }),
    });
    const { page, errors } = await newPage();
    await page.goto(`${api.origin}/docs`);

    const list = page.locator('#operations-tasks-listTasks');
    await expect.poll(() => list.locator('.opblock-summary-path').textContent()).toBe('/api/tasks');
    expect(await page.locator('#operations-tasks-getTask .opblock-summary-path').textContent()).toBe('/api/tasks/{id}');

    await page.getByRole('button', { name: 'Authorize' }).first().click();
    await page.locator('#auth-bearer-value').fill(token);
    await page.getByRole('button', { name: 'Apply credentials' }).click();
    await page.locator('.modal-ux button.btn-done').click();

    await list.locator('.opblock-summary').click();
    await list.getByRole('button', { name: 'Try it out' }).click();
    await list.getByRole('button', { name: 'Execute' }).click();

    const responseCode = list.locator('.live-responses-table tbody .response-col_status');
    await expect.poll(() => responseCode.textContent()).toContain('200');
    await expect.poll(() => list.locator('.live-responses-table').textContent()).toContain('Seen through Swagger');
    expect(await list.locator('.request-url pre').textContent()).toBe(`${api.origin}/api/tasks`);

    const create = page.locator('#operations-tasks-createTask');
    await create.locator('.opblock-summary').click();
    await create.getByRole('button', { name: 'Try it out' }).click();
    await create.locator('textarea.body-param__text').fill(JSON.stringify({ title: 'Created in Swagger' }));
    await create.getByRole('button', { name: 'Execute' }).click();
    await expect.poll(() => create.locator('.live-responses-table tbody .response-col_status').textContent()).toContain('201');
    expect(await create.locator('.request-url pre').textContent()).toBe(`${api.origin}/api/tasks`);
    expect((await restList(token)).map((task) => task.title)).toContain('Created in Swagger');
    await screenshot(page, 'swagger-executed');
    expect(errors).toEqual([]);
  });
});

describe('GraphiQL at /graphql', () => {
  test('opens with the schema loaded and no failing request, then runs its default query with a token', async () => {
    const token = await signToken({ sub: `graphiql-${Date.now()}` });
    await fetch(`${api.origin}/api/tasks`, {
      method: 'POST',
      headers: { authorization: `Bearer ${token}`, 'content-type': 'application/json' },
      body: JSON.stringify({ title: 'Seen through GraphiQL' }),
    });
    const { page, errors } = await newPage();
    const graphqlCalls: { authorization: string | undefined; status: number }[] = [];
    page.on('response', (response) => {
      if (new URL(response.url()).pathname === '/graphql' && response.request().method() === 'POST') {
        graphqlCalls.push({ authorization: response.request().headers().authorization, status: response.status() });
      }
    });
    const started = performance.now();
    await page.goto(`${api.origin}/graphql`, { waitUntil: 'load' });

    // The Docs pane lists Query's fields from the introspection the page made without a token.
    await page.getByRole('button', { name: 'Show Documentation Explorer' }).click();
    await page.locator('.graphiql-doc-explorer').getByText('Query', { exact: true }).click();
    await expect.poll(() => page.locator('.graphiql-doc-explorer-field-name').allTextContents()).toContain('tasks');
    console.log(`GraphiQL: page to Docs pane filled in ${Math.round(performance.now() - started)} ms`);
    expect(graphqlCalls.length).toBeGreaterThan(0);
    expect(graphqlCalls.filter((call) => call.status !== 200 || call.authorization !== undefined)).toEqual([]);

    await page.getByText('Headers', { exact: true }).click();
    const headersEditor = page.locator('.graphiql-editor-tool .graphiql-editor').last();
    await headersEditor.click();
    await page.keyboard.press('ControlOrMeta+A');
    await page.keyboard.press('Delete');
    await page.keyboard.insertText(JSON.stringify({ Authorization: `Bearer ${token}` }));
    await page.locator('.graphiql-execute-button').click();

    // Monaco renders spaces as no-break spaces.
    const response = async () => (await page.locator('.graphiql-response').textContent())?.replaceAll('\u00a0', ' ');
    await expect.poll(response, { timeout: 15_000 }).toContain('Seen through GraphiQL');
    expect(await response()).not.toContain('"errors"');
    expect(graphqlCalls.at(-1)).toEqual({ authorization: `Bearer ${token}`, status: 200 });
    await screenshot(page, 'graphiql-query');
    expect(errors).toEqual([]);
  }, 60_000);
});

describe('a page on another origin', () => {
  let pages: Server;
  let pagesOrigin: string;
  let otherOrigin: string;
  let other: Server;
  let corsApi: TestApp & { origin: string };

  /** A page whose script calls the API like the frontend's api-client: fetch with a bearer token. */
  function servePage(apiOrigin: () => string): Server {
    return createServer((_request, response) => {
      response.writeHead(200, { 'content-type': 'text/html' }).end(`<!doctype html>
<p id="result">pending</p>
<script type="module">
  const token = new URLSearchParams(location.search).get('token');
  async function apiClient(path, init = {}) {
    const response = await fetch('${apiOrigin()}' + path, {
      ...init,
      headers: { 'Content-Type': 'application/json', Authorization: 'Bearer ' + token, ...init.headers },
    });
    return { status: response.status, body: response.status === 204 ? null : await response.json() };
  }
  try {
    const created = await apiClient('/api/tasks', { method: 'POST', body: JSON.stringify({ title: 'cross-origin' }) });
    const listed = await apiClient('/api/tasks');
    document.querySelector('#result').textContent = 'ok ' + created.status + ' ' + listed.status + ' ' + listed.body.length;
  } catch (error) {
    document.querySelector('#result').textContent = 'blocked: ' + error.message;
  }
</script>`);
    });
  }

  async function start(server: Server): Promise<string> {
    await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
    return `http://localhost:${(server.address() as AddressInfo).port}`;
  }

  beforeAll(async () => {
    pages = servePage(() => corsApi.origin);
    other = servePage(() => corsApi.origin);
    pagesOrigin = await start(pages);
    otherOrigin = await start(other);
    corsApi = await serve({ env: { CORS_ORIGINS: pagesOrigin } });
  });

  afterAll(async () => {
    await corsApi.close();
    await Promise.all([pages, other].map((s) => new Promise((resolve) => s.close(resolve))));
  });

  test('succeeds from an allowed origin', async () => {
    const token = await signToken({ sub: `cors-${Date.now()}` });
    const { page } = await newPage();
    await page.goto(`${pagesOrigin}/?token=${token}`);

    await expect.poll(() => page.locator('#result').textContent()).toBe('ok 201 200 1');
  });

  test('is blocked by the browser from an origin not on the list, and creates nothing', async () => {
    const token = await signToken({ sub: `cors-blocked-${Date.now()}` });
    const { page } = await newPage();
    await page.goto(`${otherOrigin}/?token=${token}`);

    await expect.poll(() => page.locator('#result').textContent()).toMatch(/^blocked: /);
    const stored = await fetch(`${corsApi.origin}/api/tasks`, { headers: { authorization: `Bearer ${token}` } });
    expect(await stored.json()).toEqual([]);
  });
});
