/**
 * The task lists' reads as a test sees them through a Prisma query extension: the lists run their own SQL
 * through `$queryRaw` (src/resolvers/task-list.ts), so a test that counts or slows list reads looks at
 * the statement and its values.
 */
import type { Prisma } from '../../src/generated/prisma/client.js';

export interface ListRead {
  userId: string;
  /** The LIMIT: one more than the page or chunk (or the budget) asked for; undefined without one. */
  take: number | undefined;
  /** Whether it starts after a cursor (a page or chunk after the first). */
  afterCursor: boolean;
}

/** What a `$queryRaw` (an extension's `args`) reads, if it is a list of tasks. */
export function listReadOf(sql: Prisma.Sql): ListRead | undefined {
  const text = sql.strings.join('?');
  if (!/FROM tasks WHERE user_id = \?/.test(text)) return undefined;
  // The user is the first value, also where the list version is read with the page (its users row first).
  const [userId] = sql.values;
  const take = /LIMIT \?\)?[^?]*$/.test(text) ? sql.values.at(-1) : undefined;
  return { userId: String(userId), take: typeof take === 'number' ? take : undefined, afterCursor: text.includes('created_at <= ?') };
}
