/**
 * Property-based: random sequences of creates, reads, toggles, renames and deletes by several users, over
 * REST and GraphQL, checked against a simple model after every step. No answer may be a 5xx, every read
 * must equal the model, and no user may see or change another user's task.
 */
import { randomUUID } from 'node:crypto';
import fc from 'fast-check';
import { MAX_TITLE_LENGTH } from '../src/resolvers/task.js';
import { describe, expect, test, type ApiResponse, type TestApp, type TestUser } from './support/fixtures.js';

interface ModelTask {
  owner: number;
  title: string;
  completed: boolean;
}

interface Model {
  tasks: Map<string, ModelTask>;
  /** Every id ever created, deleted or not, so commands can aim at stale and foreign ids too. */
  ids: string[];
}

interface Real {
  api: TestApp;
  users: TestUser[];
}

const USERS = 3;

/** The title the API stores for `raw`, or null when it must refuse it (400). */
function expectedTitle(raw: string): string | null {
  const title = raw.trim();
  if (title === '' || title.includes('\u0000') || /\p{Surrogate}/u.test(title)) return null;
  return Array.from(title).length > MAX_TITLE_LENGTH ? null : title;
}

const titles = fc.oneof(
  fc.string({ minLength: 1, maxLength: 40 }),
  fc.string({ unit: 'grapheme', maxLength: 20 }),
  fc.constantFrom(
    '',
    '   ',
    'a\u0000b',
    'x\uD800',
    '😀'.repeat(MAX_TITLE_LENGTH),
    '😀'.repeat(MAX_TITLE_LENGTH + 1),
    ` ${'é'.repeat(MAX_TITLE_LENGTH)} `,
  ),
);

/** Picks a task id: usually one that exists or existed, sometimes one nobody ever had. */
function pickId(model: Model, pick: number): string {
  return pick % 7 === 0 || model.ids.length === 0 ? randomUUID() : (model.ids[pick % model.ids.length] ?? randomUUID());
}

/** What the API must answer for `user` acting on `id`: the task, or 403/404. */
function access(model: Model, user: number, id: string): { status: 200 | 403 | 404; task?: ModelTask } {
  const task = model.tasks.get(id);
  if (!task) return { status: 404 };
  return task.owner === user ? { status: 200, task } : { status: 403 };
}

function userAt(real: Real, index: number): TestUser {
  const user = real.users[index];
  if (!user) throw new Error(`no user ${index}`);
  return user;
}

function expectNo5xx(response: ApiResponse) {
  expect(response.status, response.text).toBeLessThan(500);
}

function expectTask(body: unknown, id: string, task: ModelTask, userId: string) {
  expect(body).toMatchObject({ id, title: task.title, completed: task.completed, user_id: userId });
}

class CreateCommand implements fc.AsyncCommand<Model, Real> {
  constructor(
    readonly user: number,
    readonly title: string,
  ) {}
  check = () => true;
  async run(model: Model, real: Real) {
    const response = await userAt(real, this.user).request('POST', '/api/tasks', { body: { title: this.title } });
    expectNo5xx(response);
    const title = expectedTitle(this.title);
    if (title === null) {
      expect(response.status).toBe(400);
      return;
    }
    expect(response.status).toBe(201);
    const task = { owner: this.user, title, completed: false };
    expectTask(response.body, response.body.id, task, userAt(real, this.user).id);
    model.tasks.set(response.body.id, task);
    model.ids.push(response.body.id);
  }
  toString = () => `create(u${this.user}, ${JSON.stringify(this.title)})`;
}

class ListCommand implements fc.AsyncCommand<Model, Real> {
  constructor(
    readonly user: number,
    readonly viaGraphQL: boolean,
  ) {}
  check = () => true;
  async run(model: Model, real: Real) {
    const user = userAt(real, this.user);
    const response = this.viaGraphQL
      ? await user.graphql('{ tasks { id title completed userId createdAt } }')
      : await user.request('GET', '/api/tasks');
    expectNo5xx(response);
    expect(response.status).toBe(200);
    type Listed = {
      id: string;
      title: string;
      completed: boolean;
      user_id?: string;
      userId?: string;
      created_at?: string;
      createdAt?: string;
    };
    const listed = (this.viaGraphQL ? response.body.data.tasks : response.body) as Listed[];
    const own = [...model.tasks].filter(([, t]) => t.owner === this.user);
    const byId = (a: { id: string }, b: { id: string }) => a.id.localeCompare(b.id);
    expect(listed.map((t) => ({ id: t.id, title: t.title, completed: t.completed, owner: t.user_id ?? t.userId })).sort(byId)).toEqual(
      own.map(([id, t]) => ({ id, title: t.title, completed: t.completed, owner: user.id })).sort(byId),
    );
    // Newest first: created_at never increases down the list.
    const created = listed.map((t) => Date.parse(t.created_at ?? t.createdAt ?? ''));
    expect(created).toEqual([...created].sort((a, b) => b - a));
  }
  toString = () => `list(u${this.user}${this.viaGraphQL ? ', graphql' : ''})`;
}

class GetCommand implements fc.AsyncCommand<Model, Real> {
  constructor(
    readonly user: number,
    readonly pick: number,
  ) {}
  check = () => true;
  async run(model: Model, real: Real) {
    const id = pickId(model, this.pick);
    const response = await userAt(real, this.user).request('GET', `/api/tasks/${id}`);
    expectNo5xx(response);
    const expected = access(model, this.user, id);
    expect(response.status).toBe(expected.status);
    if (expected.task) expectTask(response.body, id, expected.task, userAt(real, this.user).id);
  }
  toString = () => `get(u${this.user}, #${this.pick})`;
}

class ToggleCommand implements fc.AsyncCommand<Model, Real> {
  constructor(
    readonly user: number,
    readonly pick: number,
    readonly completed: boolean,
  ) {}
  check = () => true;
  async run(model: Model, real: Real) {
    const id = pickId(model, this.pick);
    const response = await userAt(real, this.user).request('PATCH', `/api/tasks/${id}`, { body: { completed: this.completed } });
    expectNo5xx(response);
    const expected = access(model, this.user, id);
    expect(response.status).toBe(expected.status);
    if (expected.task) {
      expected.task.completed = this.completed;
      expectTask(response.body, id, expected.task, userAt(real, this.user).id);
    }
  }
  toString = () => `toggle(u${this.user}, #${this.pick}, ${this.completed})`;
}

class RenameCommand implements fc.AsyncCommand<Model, Real> {
  constructor(
    readonly user: number,
    readonly pick: number,
    readonly title: string,
  ) {}
  check = () => true;
  async run(model: Model, real: Real) {
    const id = pickId(model, this.pick);
    const response = await userAt(real, this.user).request('PUT', `/api/tasks/${id}`, { body: { title: this.title } });
    expectNo5xx(response);
    const title = expectedTitle(this.title);
    if (title === null) {
      expect(response.status).toBe(400);
      return;
    }
    const expected = access(model, this.user, id);
    expect(response.status).toBe(expected.status);
    if (expected.task) {
      expected.task.title = title;
      expectTask(response.body, id, expected.task, userAt(real, this.user).id);
    }
  }
  toString = () => `rename(u${this.user}, #${this.pick}, ${JSON.stringify(this.title)})`;
}

class DeleteCommand implements fc.AsyncCommand<Model, Real> {
  constructor(
    readonly user: number,
    readonly pick: number,
    readonly viaGraphQL: boolean,
  ) {}
  check = () => true;
  async run(model: Model, real: Real) {
    const id = pickId(model, this.pick);
    const user = userAt(real, this.user);
    const response = this.viaGraphQL
      ? await user.graphql('mutation($id: ID!) { deleteTask(id: $id) { id } }', { id })
      : await user.request('DELETE', `/api/tasks/${id}`);
    expectNo5xx(response);
    const expected = access(model, this.user, id);
    if (this.viaGraphQL) {
      const code = { 200: undefined, 403: 'FORBIDDEN', 404: 'NOT_FOUND' }[expected.status];
      expect(response.body.errors?.[0]?.extensions?.code).toBe(code);
    } else {
      expect(response.status).toBe(expected.status === 200 ? 204 : expected.status);
    }
    if (expected.task) model.tasks.delete(id);
  }
  toString = () => `delete(u${this.user}, #${this.pick}${this.viaGraphQL ? ', graphql' : ''})`;
}

const user = fc.nat({ max: USERS - 1 });
const pick = fc.nat({ max: 1000 });
const commands = fc.commands(
  [
    fc.tuple(user, titles).map(([u, t]) => new CreateCommand(u, t)),
    fc.tuple(user, fc.boolean()).map(([u, g]) => new ListCommand(u, g)),
    fc.tuple(user, pick).map(([u, p]) => new GetCommand(u, p)),
    fc.tuple(user, pick, fc.boolean()).map(([u, p, c]) => new ToggleCommand(u, p, c)),
    fc.tuple(user, pick, titles).map(([u, p, t]) => new RenameCommand(u, p, t)),
    fc.tuple(user, pick, fc.boolean()).map(([u, p, g]) => new DeleteCommand(u, p, g)),
  ],
  { maxCommands: 40 },
);

describe('random CRUD by several users', () => {
  test('always matches the model, never answers 5xx, never crosses users', async ({ api }) => {
    await fc.assert(
      fc.asyncProperty(commands, async (cmds) => {
        const real: Real = { api, users: await Promise.all(Array.from({ length: USERS }, (_, i) => api.user(`user${i}`))) };
        const model: Model = { tasks: new Map(), ids: [] };
        await fc.asyncModelRun(() => ({ model, real }), cmds);
        // Finally, every user's list is exactly their part of the model.
        for (let index = 0; index < USERS; index++) await new ListCommand(index, false).run(model, real);
      }),
      { numRuns: 30 },
    );
  });
});
