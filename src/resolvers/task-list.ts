/**
 * Lists of the caller's tasks, newest first: whole (within the answer's budget and the user's limit on
 * whole lists at once), a page (`limit` + `cursor`), a Relay connection, or one chunk of a streamed REST
 * answer (asked for through the operation's root value, `ListRoot`). Keyset pages on (created_at, id); no OFFSET.
 * Read with SQL of their own (`$queryRaw`) rather than Prisma's query builder: 251 rows cost ~390 µs of CPU
 * in-process that way, ~730 through `findMany` (its query planning, and Dates parsed only to be formatted
 * again); REST's 100-task list ~30 % less CPU a request in all (bench/micro.mjs list).
 */
import { resolveCursorConnection, type ResolveCursorConnectionArgs } from '@pothos/plugin-relay';
import { MAX_UNPAGED_TASKS, type SignedInContext } from './context.js';
import type { Db } from '../db/client.js';
import { BadUserInputError } from '../errors.js';
import { Prisma } from '../generated/prisma/client.js';
import { UUID, type TaskRow } from './task.js';

/** Largest page a client may ask for. */
export const MAX_PAGE_SIZE = 100;
/** Tasks read at a time for a whole list: a streamed chunk, and the most a list may hold to count as short. */
export const LIST_CHUNK_SIZE = 250;

/** A task as a list reads it: every column, the timestamps as the ISO text the DateTime scalar writes. */
type ListedTask = TaskRow & { createdAt: string; updatedAt: string };

/** A position in the newest-first order: the (created_at, id) of the last task seen. */
interface Cursor {
  /** As `toISOString()` writes it: every list row's timestamps are that text already (TASK_COLUMNS). */
  createdAt: string;
  id: string;
}

function encodeCursor(task: Cursor): string {
  return Buffer.from(`${task.createdAt}|${task.id}`).toString('base64url');
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
  // The text, which is exactly toISOString's: bound as `::timestamptz`, it means the same instant whatever
  // the session's time zone (a Date would reach PostgreSQL without its zone, see findTaskPage).
  return { createdAt: iso, id: id.toLowerCase() };
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
 * Every column under the name of its field on the Task type, the timestamps as the text
 * `Date.prototype.toISOString` writes: Prisma then parses no date and the DateTime scalar formats none
 * (it passes such text through). `to_char` writes the year with four digits and no sign, which is
 * toISOString's form for years 0001–9999 only; every timestamp of a task is in that range, since the
 * database's clock or Prisma's sets them (CURRENT_TIMESTAMP defaults in the init migration, `@updatedAt`
 * on a change; no migration's trigger writes either column), and no route or field takes one from a client.
 */
const TASK_COLUMNS = Prisma.sql`id, user_id AS "userId", title, completed, version,
  to_char(created_at AT TIME ZONE 'UTC', 'YYYY-MM-DD"T"HH24:MI:SS.MS"Z"') AS "createdAt",
  to_char(updated_at AT TIME ZONE 'UTC', 'YYYY-MM-DD"T"HH24:MI:SS.MS"Z"') AS "updatedAt"`;
const NEWEST_FIRST = Prisma.sql` ORDER BY created_at DESC, id DESC`;
const OLDEST_FIRST = Prisma.sql` ORDER BY created_at, id`;

/**
 * The statement of one keyset page. A cursor is bound as its ISO text cast to timestamptz: both driver
 * adapters send a Date as text without its time zone, which PostgreSQL would read in the session's.
 */
function taskPageSql(userId: string, { completed, after, before, take, reverse }: TaskPageOptions): Prisma.Sql {
  // Written as "<= c and not (= c and id >= …)" rather than an OR, so PostgreSQL keeps an index range scan.
  const afterCursor = after
    ? Prisma.sql` AND created_at <= ${after.createdAt}::timestamptz AND NOT (created_at = ${after.createdAt}::timestamptz AND id >= ${after.id}::uuid)`
    : Prisma.empty;
  const beforeCursor = before
    ? Prisma.sql` AND created_at >= ${before.createdAt}::timestamptz AND NOT (created_at = ${before.createdAt}::timestamptz AND id <= ${before.id}::uuid)`
    : Prisma.empty;
  return Prisma.sql`SELECT ${TASK_COLUMNS} FROM tasks WHERE user_id = ${userId}${
    typeof completed === 'boolean' ? Prisma.sql` AND completed = ${completed}` : Prisma.empty
  }${afterCursor}${beforeCursor}${reverse ? OLDEST_FIRST : NEWEST_FIRST}${take === undefined ? Prisma.empty : Prisma.sql` LIMIT ${take}`}`;
}

/**
 * One keyset page of a user's tasks, newest first: rows strictly after/before a (created_at, id) cursor,
 * read in index order on (user_id, created_at DESC, id DESC) and stopped at `take`. No OFFSET.
 */
export function findTaskPage(prisma: Db, userId: string, options: TaskPageOptions): Promise<ListedTask[]> {
  return prisma.$queryRaw<ListedTask[]>(taskPageSql(userId, options));
}

/** A row of findTaskPageAndVersion: a task, or the one row of a page without any (every column null). */
type VersionedRow = { listVersion: bigint } & (ListedTask | { [column in keyof ListedTask]: null });

/**
 * findTaskPage, and in the same statement (so the same snapshot) the user's list version: their change
 * counter, one more with every change to any of their tasks (kept by triggers, see the
 * versions_and_idempotency migration), 0 before their first task. The page is joined to the one row of
 * the version: a page without tasks is still that row. With `ON true` a nested loop is PostgreSQL's only
 * way to make the join, and one outer row gives the page's rows in the page's own order (an outer ORDER
 * BY would only add a sort: EXPLAIN, tests/pagination.postgres.test.ts).
 */
export async function findTaskPageAndVersion(prisma: Db, userId: string, options: TaskPageOptions) {
  const rows = await prisma.$queryRaw<VersionedRow[]>(Prisma.sql`
    SELECT t.*, v."listVersion"
    FROM (SELECT COALESCE((SELECT change_count FROM users WHERE id = ${userId}), 0) AS "listVersion") v
    LEFT JOIN (${taskPageSql(userId, options)}) t ON true`);
  return { tasks: isPageOfTasks(rows) ? rows : [], version: rows[0]?.listVersion ?? 0n };
}

/** Only the one row of an empty page has a null id. */
const isPageOfTasks = (rows: VersionedRow[]): rows is (VersionedRow & ListedTask)[] => rows[0]?.id !== null;

interface ListOptions {
  completed?: boolean | null | undefined;
  /** Page size; without it, every task. */
  limit?: number | null | undefined;
  /** Where the previous page ended (its `nextCursor`). */
  cursor?: string | null | undefined;
}

/**
 * The user's tasks newest first, whole or one page; `nextCursor` is set when there are more. `pageSize`
 * is the page when the client gave no `limit` (a chunk of a streamed list, or a budget), unchecked. With
 * `withVersion`, also the user's list version, read in the same statement (findTaskPageAndVersion).
 */
async function listTasksForUser(prisma: Db, userId: string, options: ListOptions, pageSize?: number, withVersion = false) {
  const after = options.cursor == null ? undefined : decodeCursor(options.cursor);
  const limit = options.limit == null ? pageSize : parsePageSize(options.limit, 'limit');
  const page: TaskPageOptions = { completed: options.completed, after, take: limit === undefined ? undefined : limit + 1 };
  const { tasks: rows, version } = withVersion
    ? await findTaskPageAndVersion(prisma, userId, page)
    : { tasks: await findTaskPage(prisma, userId, page), version: undefined };
  const more = limit !== undefined && rows.length > limit;
  const tasks = more ? rows.slice(0, limit) : rows;
  const last = tasks.at(-1);
  return { tasks, nextCursor: more && last ? encodeCursor(last) : null, version };
}

/**
 * What a REST route asks of a list, as the operation's root value (GraphQL's is empty): read one chunk of
 * `chunkSize` tasks when the client gave no `limit` (a streamed answer), note in `nextCursor` where the
 * next page starts (the Link header), and with `withVersion` put the user's list version in `version`
 * (the ETag), read in the same statement as the page (GraphQL's lists do not read it).
 */
export interface ListPaging {
  chunkSize?: number;
  nextCursor: string | null;
  withVersion?: boolean;
  version?: bigint;
}

export interface ListRoot {
  paging?: ListPaging;
}

/** `tasks`: the caller's tasks, whole or a page (see the field's description). */
export async function listTasks(ctx: SignedInContext, args: ListOptions, paging?: ListPaging) {
  // A page the client asked for, or one chunk of a REST answer streamed a chunk at a time.
  const pageSize = args.limit == null ? paging?.chunkSize : undefined;
  if (args.limit != null || pageSize !== undefined) {
    const { tasks, nextCursor, version } = await listTasksForUser(await ctx.read(), ctx.userId, args, pageSize, paging?.withVersion);
    if (paging) {
      paging.nextCursor = nextCursor;
      if (version !== undefined) paging.version = version;
    }
    return tasks;
  }
  // Everything in one answer (GraphQL only: REST reads a whole list in chunks), within the answer's budget,
  // charged as each list arrives (aliases run side by side). Most lists are short: a chunk's worth is read
  // at once, like a page; a longer list is read whole under the user's limit on such lists.
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
  const db = await ctx.read();
  const short = await listTasksForUser(db, ctx.userId, args, Math.max(Math.min(budget.left, LIST_CHUNK_SIZE), 1));
  if (short.nextCursor === null || budget.left <= LIST_CHUNK_SIZE) return charge(short);
  return ctx.unpagedLists(
    ctx.userId,
    async () => charge(await listTasksForUser(db, ctx.userId, args, Math.max(budget.left, 1))),
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
    async ({ before, after, limit, inverted }: ResolveCursorConnectionArgs) =>
      findTaskPage(await ctx.read(), ctx.userId, {
        completed: args.completed,
        after: after === undefined ? undefined : decodeCursor(after),
        before: before === undefined ? undefined : decodeCursor(before),
        take: limit,
        reverse: inverted,
      }),
  );
}
