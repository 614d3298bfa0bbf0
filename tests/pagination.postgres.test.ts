/**
 * Pages are read by keyset off the (user_id, created_at DESC, id DESC) index: EXPLAIN of the very SQL
 * Prisma sends for a deep page shows an index scan stopped by LIMIT, with no sort and no skipped rows.
 */
import { randomUUID } from 'node:crypto';
import { PrismaPg } from '@prisma/adapter-pg';
import pg from 'pg';
import { expect, test } from 'vitest';
import { PrismaClient } from '../src/generated/prisma/client.js';
import { findTaskPage } from '../src/resolvers/task-list.js';
import { testDatabaseUrl } from './support/database.js';

interface PlanNode {
  'Node Type': string;
  'Index Name'?: string;
  Plans?: PlanNode[];
}

function nodes(plan: PlanNode): PlanNode[] {
  return [plan, ...(plan.Plans ?? []).flatMap(nodes)];
}

test('a page deep into 5,000 tasks is an index range scan, not a sort or an offset', async () => {
  const userId = `keyset-${randomUUID()}`;
  const client = new pg.Client({ connectionString: testDatabaseUrl() });
  await client.connect();
  const queries: { query: string; params: string }[] = [];
  const prisma = new PrismaClient({
    adapter: new PrismaPg({ connectionString: testDatabaseUrl() }),
    log: [{ emit: 'event', level: 'query' }],
  });
  prisma.$on('query', (event) => queries.push({ query: event.query, params: event.params }));
  try {
    await client.query('INSERT INTO users (id) VALUES ($1)', [userId]);
    await client.query(
      `INSERT INTO tasks (user_id, title, created_at)
       SELECT $1, 'task ' || g, now() - g * interval '1 second' FROM generate_series(1, 5000) g`,
      [userId],
    );
    await client.query('ANALYZE tasks');
    const [middle] = (
      await client.query<{ created_at: Date; id: string }>(
        'SELECT created_at, id FROM tasks WHERE user_id = $1 ORDER BY created_at DESC, id DESC OFFSET 4000 LIMIT 1',
        [userId],
      )
    ).rows;
    if (!middle) throw new Error('no rows');

    const page = await findTaskPage(prisma, userId, { after: { createdAt: middle.created_at, id: middle.id }, take: 51 });
    expect(page).toHaveLength(51);
    expect(page[0]?.title).toBe('task 4002');

    const sent = queries.at(-1);
    if (!sent) throw new Error('no query captured');
    const params = JSON.parse(sent.params) as unknown[];
    const { rows } = await client.query<{ 'QUERY PLAN': [{ Plan: PlanNode }] }>(`EXPLAIN (FORMAT JSON) ${sent.query}`, params);
    const plan = nodes(rows[0]?.['QUERY PLAN'][0].Plan as PlanNode);

    expect(plan[0]?.['Node Type']).toBe('Limit');
    expect(plan.some((n) => n['Node Type'].startsWith('Index') && n['Index Name'] === 'tasks_user_id_created_at_id_idx')).toBe(true);
    expect(plan.some((n) => n['Node Type'] === 'Sort')).toBe(false);
    expect(params.at(-1)).toBe('0'); // Prisma's OFFSET is always 0: nothing skipped row by row
  } finally {
    await client.query('DELETE FROM users WHERE id = $1', [userId]);
    await client.end();
    await prisma.$disconnect();
  }
});
