/**
 * Lists of the caller's tasks, newest first: whole (within the answer's budget and the user's limit on
 * whole lists at once), a page (`limit` + `cursor`), a Relay connection, or one chunk of a streamed REST
 * answer (asked for through the operation's root value, `ListRoot`). Keyset pages on (created_at, id); no OFFSET.
 */
import { resolveCursorConnection, type ResolveCursorConnectionArgs } from '@pothos/plugin-relay';
import { MAX_UNPAGED_TASKS, type SignedInContext } from './context.js';
import type { Db } from '../db/client.js';
import { BadUserInputError } from '../errors.js';
import type { Prisma } from '../generated/prisma/client.js';
import { UUID, type TaskQuery } from './task.js';

/** Largest page a client may ask for. */
export const MAX_PAGE_SIZE = 100;
/** Tasks read at a time for a whole list: a streamed chunk, and the most a list may hold to count as short. */
export const LIST_CHUNK_SIZE = 250;

const newestFirst: Prisma.TaskOrderByWithRelationInput[] = [{ createdAt: 'desc' }, { id: 'desc' }];
const oldestFirst: Prisma.TaskOrderByWithRelationInput[] = [{ createdAt: 'asc' }, { id: 'asc' }];

/** A position in the newest-first order: the (created_at, id) of the last task seen. */
interface Cursor {
  createdAt: Date;
  id: string;
}

function encodeCursor(task: Cursor): string {
  return Buffer.from(`${task.createdAt.toISOString()}|${task.id}`).toString('base64url');
}

function decodeCursor(cursor: string): Cursor {
  const [iso, id, extra] = Buffer.from(cursor, 'base64url').toString('utf8').split('|');
  const createdAt = new Date(iso ?? '');
  // Years 0001–9999 only: toISOString writes others as ±YYYYYY, and PostgreSQL refuses most of them.
  if (
    extra !== undefined ||
    id === undefined ||
    !UUID.test(id) ||
    !iso ||
    !/^(?!0000)\d{4}-/.test(iso) ||
    Number.isNaN(createdAt.getTime()) ||
    createdAt.toISOString() !== iso
  ) {
    throw new BadUserInputError('Invalid cursor');
  }
  return { createdAt, id: id.toLowerCase() };
}

function parsePageSize(size: number, name: string): number {
  if (!Number.isInteger(size) || size < 1 || size > MAX_PAGE_SIZE) {
    throw new BadUserInputError(`${name} must be an integer from 1 to ${MAX_PAGE_SIZE}`);
  }
  return size;
}

interface TaskPageOptions {
  completed?: boolean | null | undefined;
  /** Older than this (newest-first order). */
  after?: Cursor | undefined;
  /** Newer than this. */
  before?: Cursor | undefined;
  take?: number | undefined;
  /** Oldest first, for paging backwards. */
  reverse?: boolean | undefined;
}

/**
 * One keyset page of a user's tasks, newest first: rows strictly after/before a (created_at, id) cursor,
 * read in index order on (user_id, created_at DESC, id DESC) and stopped at `take`. No OFFSET.
 */
export function findTaskPage(prisma: Db, userId: string, options: TaskPageOptions, query: TaskQuery = {}) {
  const { completed, after, before, take, reverse } = options;
  const and: Prisma.TaskWhereInput[] = [];
  // Written as "<= c and not (= c and id >= …)" rather than an OR, so PostgreSQL keeps an index range scan.
  if (after) and.push({ createdAt: { lte: after.createdAt }, NOT: { createdAt: after.createdAt, id: { gte: after.id } } });
  if (before) and.push({ createdAt: { gte: before.createdAt }, NOT: { createdAt: before.createdAt, id: { lte: before.id } } });
  return prisma.task.findMany({
    ...query,
    where: { userId, ...(typeof completed === 'boolean' && { completed }), ...(and.length > 0 && { AND: and }) },
    orderBy: reverse ? oldestFirst : newestFirst,
    ...(take !== undefined && { take }),
  });
}

interface ListOptions {
  completed?: boolean | null | undefined;
  /** Page size; without it, every task. */
  limit?: number | null | undefined;
  /** Where the previous page ended (its `nextCursor`). */
  cursor?: string | null | undefined;
}

/**
 * The user's tasks newest first, whole or one page; `nextCursor` is set when there are more. `pageSize`
 * is the page when the client gave no `limit` (a chunk of a streamed list, or a budget), unchecked.
 */
async function listTasksForUser(prisma: Db, userId: string, options: ListOptions, query: TaskQuery, pageSize?: number) {
  const after = options.cursor == null ? undefined : decodeCursor(options.cursor);
  const limit = options.limit == null ? pageSize : parsePageSize(options.limit, 'limit');
  const rows = await findTaskPage(
    prisma,
    userId,
    { completed: options.completed, after, take: limit === undefined ? undefined : limit + 1 },
    withCursorFields(query),
  );
  const more = limit !== undefined && rows.length > limit;
  const tasks = more ? rows.slice(0, limit) : rows;
  const last = tasks.at(-1);
  return { tasks, nextCursor: more && last ? encodeCursor(last) : null };
}

/** The selection plus the two columns a cursor is made of. */
function withCursorFields(query: TaskQuery): TaskQuery {
  return query.select ? { ...query, select: { ...query.select, createdAt: true, id: true } } : query;
}

/**
 * What a REST route asks of a list, as the operation's root value (GraphQL's is empty): read one chunk of
 * `chunkSize` tasks when the client gave no `limit` (a streamed answer), and note in `nextCursor` where
 * the next page starts (the Link header).
 */
export interface ListPaging {
  chunkSize?: number;
  nextCursor: string | null;
}

export interface ListRoot {
  paging?: ListPaging;
}

/** `tasks`: the caller's tasks, whole or a page (see the field's description). */
export async function listTasks(ctx: SignedInContext, args: ListOptions, query: TaskQuery, paging?: ListPaging) {
  // A page the client asked for, or one chunk of a REST answer streamed a chunk at a time.
  const pageSize = args.limit == null ? paging?.chunkSize : undefined;
  if (args.limit != null || pageSize !== undefined) {
    const { tasks, nextCursor } = await listTasksForUser(ctx.prisma, ctx.userId, args, query, pageSize);
    if (paging) paging.nextCursor = nextCursor;
    return tasks;
  }
  // Everything in one answer, within the answer's budget, charged as each list arrives (aliases run side
  // by side). Most lists are short: a chunk's worth is read at once, like a page; a longer list is read
  // whole under the user's limit on such lists.
  const budget = ctx.unpagedBudget;
  const charge = ({ tasks, nextCursor }: Awaited<ReturnType<typeof listTasksForUser>>) => {
    if (nextCursor !== null || tasks.length > budget.left) {
      budget.left = 0;
      throw new BadUserInputError(
        `More than ${MAX_UNPAGED_TASKS} tasks in one answer: ask for them a page at a time (limit and cursor, or taskConnection)`,
      );
    }
    budget.left -= tasks.length;
    return tasks;
  };
  // With nothing left, one task is enough to tell whether the answer would exceed it.
  const short = await listTasksForUser(ctx.prisma, ctx.userId, args, query, Math.max(Math.min(budget.left, LIST_CHUNK_SIZE), 1));
  if (short.nextCursor === null || budget.left <= LIST_CHUNK_SIZE) return charge(short);
  return ctx.unpagedLists(
    ctx.userId,
    async () => charge(await listTasksForUser(ctx.prisma, ctx.userId, args, query, Math.max(budget.left, 1))),
    ctx.clientGone,
  );
}

/** `taskConnection`: a Relay connection over the same order. */
export function listTaskConnection(
  ctx: SignedInContext,
  args: {
    completed?: boolean | null | undefined;
    first?: number | null | undefined;
    last?: number | null | undefined;
    after?: string | null | undefined;
    before?: string | null | undefined;
  },
) {
  // Out-of-range sizes are refused, as on the REST route, rather than quietly clamped.
  if (args.first != null) parsePageSize(args.first, 'first');
  if (args.last != null) parsePageSize(args.last, 'last');
  return resolveCursorConnection(
    { args, toCursor: encodeCursor, defaultSize: 20, maxSize: MAX_PAGE_SIZE },
    ({ before, after, limit, inverted }: ResolveCursorConnectionArgs) =>
      findTaskPage(ctx.prisma, ctx.userId, {
        completed: args.completed,
        after: after === undefined ? undefined : decodeCursor(after),
        before: before === undefined ? undefined : decodeCursor(before),
        take: limit,
        reverse: inverted,
      }),
  );
}

/**
 * The version of everything the user's lists show: one more with every change to any of their tasks
 * (kept by triggers, see the versions_and_idempotency migration), 0 before their first task.
 */
export async function listVersionForUser(prisma: Db, userId: string): Promise<bigint> {
  const user = await prisma.user.findUnique({ where: { id: userId }, select: { changeCount: true } });
  return user?.changeCount ?? 0n;
}
