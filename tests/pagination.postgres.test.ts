/**
 * Pages are read by keyset off the (user_id, created_at DESC, id DESC) index: EXPLAIN of the very SQL
 * sent for a deep page, with and without the list version REST reads with it, shows an index scan stopped
 * by LIMIT, with no sort and no skipped rows.
 */
import { randomUUID } from 'node:crypto';
import { PrismaPg } from '@prisma/adapter-pg';
import pg from 'pg';
import { expect, test } from 'vitest';
import { PrismaClient } from '../src/generated/prisma/client.js';
import { findTaskPage, findTaskPageAndVersion } from '../src/resolvers/task-list.js';
import { testDatabaseUrl } from './support/database.js';

interface PlanNode {
  'Node Type': string;
  'Index Name'?: string;
  'Relation Name'?: string;
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

    const after = { createdAt: middle.created_at.toISOString(), id: middle.id };
    const planOfLastQuery = async () => {
      const sent = queries.at(-1);
      if (!sent) throw new Error('no query captured');
      expect(sent.query).not.toMatch(/OFFSET/i); // nothing skipped row by row
      const params = JSON.parse(sent.params) as unknown[];
      const { rows } = await client.query<{ 'QUERY PLAN': [{ Plan: PlanNode }] }>(`EXPLAIN (FORMAT JSON) ${sent.query}`, params);
      return nodes(rows[0]?.['QUERY PLAN'][0].Plan as PlanNode);
    };

    const page = await findTaskPage(prisma, userId, { after, take: 51 });
    expect(page).toHaveLength(51);
    expect(page[0]?.title).toBe('task 4002');
    const plan = await planOfLastQuery();
    expect(plan[0]?.['Node Type']).toBe('Limit');
    expect(plan.some((n) => n['Node Type'].startsWith('Index') && n['Index Name'] === 'tasks_user_id_created_at_id_idx')).toBe(true);
    expect(plan.some((n) => n['Node Type'] === 'Sort')).toBe(false);

    // REST's page, with the user's list version read in the same statement: the same rows in the same order.
    const versioned = await findTaskPageAndVersion(prisma, userId, { after, take: 51 });
    expect(versioned.tasks.map(({ id }) => id)).toEqual(page.map(({ id }) => id));
    const [user] = (await client.query<{ change_count: string }>('SELECT change_count FROM users WHERE id = $1', [userId])).rows;
    expect(versioned.version).toBe(BigInt(user?.change_count ?? -1));
    const versionedPlan = await planOfLastQuery();
    // One outer row (the version) and the page as the inner side: the page's own order comes out.
    expect(versionedPlan[0]?.['Node Type']).toBe('Nested Loop');
    expect(versionedPlan.some((n) => n['Node Type'] === 'Limit')).toBe(true);
    expect(versionedPlan.some((n) => n['Node Type'].startsWith('Index') && n['Index Name'] === 'tasks_user_id_created_at_id_idx')).toBe(
      true,
    );
    expect(versionedPlan.some((n) => n['Node Type'] === 'Sort')).toBe(false);
    expect(versionedPlan.some((n) => n['Node Type'] === 'Seq Scan' && n['Relation Name'] === 'tasks')).toBe(false);
  } finally {
    await client.query('DELETE FROM users WHERE id = $1', [userId]);
    await client.end();
    await prisma.$disconnect();
  }
});
