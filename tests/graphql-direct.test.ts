/**
 * src/graphql/direct-execution.ts answers the common /graphql request without Yoga's fetch adapter. Each
 * request here is sent twice: as is, and with `"extensions": {}`, which that path leaves to Yoga's whole
 * path. The two answers must be the same: status, headers and body, byte for byte.
 */
import { describe, expect, test, type ApiResponse, type TestUser } from './support/fixtures.js';

const FIELDS = 'id title completed userId createdAt updatedAt version';

interface Case {
  name: string;
  body: Record<string, unknown>;
  accept?: string;
}

async function both(user: TestUser, request: Case): Promise<[ApiResponse, ApiResponse]> {
  const send = (body: Record<string, unknown>) =>
    user.request('POST', '/graphql', { body, headers: request.accept === undefined ? {} : { accept: request.accept } });
  return [await send(request.body), await send({ ...request.body, extensions: {} })];
}

function comparable(response: ApiResponse) {
  const headers = Object.fromEntries([...response.headers].filter(([name]) => name !== 'date' && name !== 'x-request-id'));
  return { status: response.status, headers, text: response.text };
}

describe('GraphQL answered without the fetch adapter', () => {
  test('answers exactly as Yoga does: results, field errors, request errors, every JSON Accept', async ({ alice, bob }) => {
    const created = await alice.graphql(`mutation { createTask(title: "direct") { id } }`);
    const id = (created.body.data.createTask as { id: string }).id;
    const foreign = await bob.graphql(`mutation { createTask(title: "not alice's") { id } }`);
    const foreignId = (foreign.body.data.createTask as { id: string }).id;
    const taskQuery = `query T($id: ID!) { task(id: $id) { ${FIELDS} } }`;
    const cases: Case[] = [
      { name: 'one task', body: { query: taskQuery, variables: { id } } },
      { name: 'a list', body: { query: `{ tasks { ${FIELDS} } }` } },
      { name: 'null variables and operationName', body: { query: `{ tasks { id } }`, variables: null, operationName: null } },
      { name: "another user's task (403 in errors)", body: { query: taskQuery, variables: { id: foreignId } } },
      { name: 'a missing task', body: { query: taskQuery, variables: { id: '00000000-0000-4000-8000-000000000000' } } },
      { name: 'an id that is no UUID', body: { query: taskQuery, variables: { id: 'abc' } } },
      { name: 'a variable of the wrong type', body: { query: taskQuery, variables: { id: { no: 1 } } } },
      { name: 'a missing variable', body: { query: taskQuery } },
      {
        name: 'operationName picks one of two',
        body: { query: `query A { tasks { id } } query B($id: ID!) { task(id: $id) { id } }`, operationName: 'B', variables: { id } },
      },
      { name: 'a mutation that fails', body: { query: `mutation { renameTask(id: "${id}", title: "  ") { id } }` } },
      {
        name: 'a mutation on a missing task',
        body: { query: `mutation { setTaskCompleted(id: "00000000-0000-4000-8000-000000000000", completed: true) { id } }` },
      },
      { name: 'a syntax error', body: { query: `{ tasks { id }` } },
      { name: 'an unknown field', body: { query: `{ tasks { nope } }` } },
    ];
    const accepts = [
      undefined,
      '*/*',
      'application/json',
      'application/graphql-response+json',
      'application/graphql-response+json, application/json;q=0.9',
      'application/json, text/event-stream',
      'text/event-stream',
    ];
    for (const accept of accepts) {
      for (const request of cases) {
        const [direct, yoga] = await both(alice, { ...request, ...(accept !== undefined && { accept }) });
        expect(comparable(direct), `${request.name}, Accept: ${accept ?? '(none)'}`).toEqual(comparable(yoga));
      }
    }
  });

  test('a mutation answers as Yoga does, and writes once', async ({ alice }) => {
    const created = await alice.graphql(`mutation { createTask(title: "toggle me") { id } }`);
    const id = (created.body.data.createTask as { id: string }).id;
    const toggle = (completed: boolean) => ({
      name: 'toggle',
      body: {
        query: `mutation M($id: ID!, $c: Boolean!) { setTaskCompleted(id: $id, completed: $c) { id completed version } }`,
        variables: { id, c: completed },
      },
    });
    const [direct, yoga] = await both(alice, toggle(true));
    expect(direct.status).toBe(200);
    expect(direct.body).toEqual({ data: { setTaskCompleted: { id, completed: true, version: 2 } } });
    expect(yoga.body).toEqual({ data: { setTaskCompleted: { id, completed: true, version: 3 } } });
    expect(comparable(direct).headers).toEqual(comparable(yoga).headers);
  });
});
