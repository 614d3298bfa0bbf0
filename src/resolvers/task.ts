import type { Db } from '../db/client.js';
import { BadUserInputError, ForbiddenError, NotFoundError, PreconditionFailedError, PreconditionRequiredError, QuotaExceededError } from '../errors.js';
import { Prisma, type Task } from '../generated/prisma/client.js';

/** The selection plugin-prisma plans for the GraphQL fields asked for; spread it into every query. */
export type TaskQuery = { select?: Prisma.TaskSelect; include?: Prisma.TaskInclude };

/**
 * A change's condition on the task's version: the versions it may apply to (an If-Match list, or GraphQL's
 * `expectedVersion`), or 'any' (`If-Match: *`: the task must exist, as it must anyway). Undefined: none;
 * 'missing': none, where REQUIRE_IF_MATCH asks for one (428, once the task is known to be the caller's).
 */
export type Precondition = { versions: readonly number[] } | 'any' | 'missing' | undefined;

/** Longest title, in characters (code points) as PostgreSQL's varchar(500) counts them. */
export const MAX_TITLE_LENGTH = 500;
/** Largest page a client may ask for. */
export const MAX_PAGE_SIZE = 100;
/** Tasks read at a time for a whole list: a streamed chunk, and the most a list may hold to count as short. */
export const LIST_CHUNK_SIZE = 250;

const UUID = /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/i;
const LONE_SURROGATE = /\p{Surrogate}/u;

const newestFirst: Prisma.TaskOrderByWithRelationInput[] = [{ createdAt: 'desc' }, { id: 'desc' }];
const oldestFirst: Prisma.TaskOrderByWithRelationInput[] = [{ createdAt: 'asc' }, { id: 'asc' }];

/** A position in the newest-first order: the (created_at, id) of the last task seen. */
export interface Cursor {
  createdAt: Date;
  id: string;
}

export function encodeCursor(task: Cursor): string {
  return Buffer.from(`${task.createdAt.toISOString()}|${task.id}`).toString('base64url');
}

export function decodeCursor(cursor: string): Cursor {
  const [iso, id, extra] = Buffer.from(cursor, 'base64url').toString('utf8').split('|');
  const createdAt = new Date(iso ?? '');
  // Years 0001–9999 only: toISOString writes others as ±YYYYYY, and PostgreSQL refuses most of them.
  if (extra !== undefined || id === undefined || !UUID.test(id) || !iso || !/^(?!0000)\d{4}-/.test(iso) || Number.isNaN(createdAt.getTime()) || createdAt.toISOString() !== iso) {
    throw new BadUserInputError('Invalid cursor');
  }
  return { createdAt, id: id.toLowerCase() };
}

export function parsePageSize(size: number, name: string): number {
  if (!Number.isInteger(size) || size < 1 || size > MAX_PAGE_SIZE) {
    throw new BadUserInputError(`${name} must be an integer from 1 to ${MAX_PAGE_SIZE}`);
  }
  return size;
}

export interface TaskPageOptions {
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

export function parseTaskId(id: string): string {
  if (!UUID.test(id)) throw new BadUserInputError('Task id must be a UUID');
  return id.toLowerCase();
}

export function normalizeTitle(title: string): string {
  const trimmed = title.trim();
  if (trimmed === '') throw new BadUserInputError('Title must not be empty');
  // PostgreSQL text can hold neither.
  if (trimmed.includes('\u0000') || LONE_SURROGATE.test(trimmed)) {
    throw new BadUserInputError('Title must not contain NUL characters or unpaired surrogates');
  }
  if (codePointLength(trimmed) > MAX_TITLE_LENGTH) {
    throw new BadUserInputError(`Title must be at most ${MAX_TITLE_LENGTH} characters`);
  }
  return trimmed;
}

export interface ListOptions {
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
export async function listTasksForUser(prisma: Db, userId: string, options: ListOptions, query: TaskQuery, pageSize?: number) {
  const after = options.cursor == null ? undefined : decodeCursor(options.cursor);
  const limit = options.limit == null ? pageSize : parsePageSize(options.limit, 'limit');
  const rows = await findTaskPage(prisma, userId, { completed: options.completed, after, take: limit === undefined ? undefined : limit + 1 }, withCursorFields(query));
  const more = limit !== undefined && rows.length > limit;
  const tasks = more ? rows.slice(0, limit) : rows;
  const last = tasks.at(-1);
  return { tasks, nextCursor: more && last ? encodeCursor(last) : null };
}

/** The selection plus the two columns a cursor is made of. */
function withCursorFields(query: TaskQuery): TaskQuery {
  return query.select ? { ...query, select: { ...query.select, createdAt: true, id: true } } : query;
}

export async function getTaskForUser(prisma: Db, userId: string, id: string, query: TaskQuery) {
  const taskId = parseTaskId(id);
  const task = await prisma.task.findUnique({ ...query, where: { id: taskId, userId } });
  return task ?? (await failMissingOrForeign(prisma, taskId));
}

/**
 * Creates a task unless the user has `maxTasks` already. One statement, without a race: it locks the
 * user's row (where a trigger keeps the count of their tasks, see the task_quota migration) and inserts
 * only while the count is below the limit, so concurrent creates by one user queue on that row and each
 * sees the count the one before it left. Returns every column, which covers any selection.
 */
export async function createTaskForUser(prisma: Db, userId: string, title: string, maxTasks: number): Promise<Task> {
  const normalized = normalizeTitle(title);
  for (;;) {
    const [task] = await prisma.$queryRaw<Task[]>`
      WITH owner AS (SELECT id FROM users WHERE id = ${userId} AND task_count < ${maxTasks} FOR UPDATE)
      INSERT INTO tasks (user_id, title) SELECT id, ${normalized} FROM owner
      RETURNING id, user_id AS "userId", title, completed, version, created_at AS "createdAt", updated_at AS "updatedAt"`;
    if (task) return task;
    if (await prisma.user.count({ where: { id: userId } })) throw new QuotaExceededError();
    // First write by this user: create their row (race-safe), then the task.
    await prisma.user.createMany({ data: [{ id: userId }], skipDuplicates: true });
  }
}

export async function setTaskCompletedForUser(
  prisma: Db,
  userId: string,
  id: string,
  completed: boolean,
  query: TaskQuery,
  precondition?: Precondition,
) {
  const taskId = parseTaskId(id);
  return updateOwnTask(prisma, userId, taskId, { completed }, query, precondition);
}

export async function renameTaskForUser(prisma: Db, userId: string, id: string, title: string, query: TaskQuery, precondition?: Precondition) {
  const taskId = parseTaskId(id);
  return updateOwnTask(prisma, userId, taskId, { title: normalizeTitle(title) }, query, precondition);
}

export async function deleteTaskForUser(prisma: Db, userId: string, id: string, query: TaskQuery, precondition?: Precondition) {
  const taskId = parseTaskId(id);
  if (precondition === 'missing') return failUnconditional(prisma, userId, taskId);
  try {
    return await prisma.task.delete({ ...query, where: ownTask(userId, taskId, precondition) });
  } catch (error) {
    if (isRecordNotFound(error)) return failUnchanged(prisma, userId, taskId, precondition);
    throw error;
  }
}

/**
 * Changes a task and bumps its version in one statement, only where the precondition holds, so of two
 * changes made with the same If-Match exactly one finds the version it expects.
 */
async function updateOwnTask(
  prisma: Db,
  userId: string,
  taskId: string,
  data: Prisma.TaskUpdateInput,
  query: TaskQuery,
  precondition: Precondition,
) {
  if (precondition === 'missing') return failUnconditional(prisma, userId, taskId);
  try {
    // The version moves in the same statement, by a trigger (see the versions_and_idempotency migration).
    return await prisma.task.update({ ...query, where: ownTask(userId, taskId, precondition), data });
  } catch (error) {
    if (isRecordNotFound(error)) return failUnchanged(prisma, userId, taskId, precondition);
    throw error;
  }
}

function ownTask(userId: string, taskId: string, precondition: Precondition): Prisma.TaskWhereUniqueInput {
  return { id: taskId, userId, ...(typeof precondition === 'object' && { version: { in: [...precondition.versions] } }) };
}

/** Called when a change found nothing to change: 412 if the caller's task is there at another version, else 403 or 404. */
async function failUnchanged(prisma: Db, userId: string, taskId: string, precondition: Precondition): Promise<never> {
  if (typeof precondition === 'object' && (await prisma.task.count({ where: { id: taskId, userId } })) > 0) throw new PreconditionFailedError();
  return failMissingOrForeign(prisma, taskId);
}

/** A change without the condition REQUIRE_IF_MATCH asks for: 428 for the caller's task, else 403 or 404 as always. */
async function failUnconditional(prisma: Db, userId: string, taskId: string): Promise<never> {
  if ((await prisma.task.count({ where: { id: taskId, userId } })) > 0) throw new PreconditionRequiredError();
  return failMissingOrForeign(prisma, taskId);
}

/** Called when the caller has no task with this id: 403 if someone else does, else 404. */
async function failMissingOrForeign(prisma: Db, taskId: string): Promise<never> {
  const exists = await prisma.task.count({ where: { id: taskId } });
  throw exists > 0 ? new ForbiddenError() : new NotFoundError();
}

/**
 * The version of everything the user's lists show: one more with every change to any of their tasks
 * (kept by triggers, see the versions_and_idempotency migration), 0 before their first task.
 */
export async function listVersionForUser(prisma: Db, userId: string): Promise<bigint> {
  const user = await prisma.user.findUnique({ where: { id: userId }, select: { changeCount: true } });
  return user?.changeCount ?? 0n;
}

/** Length in code points, as PostgreSQL counts characters (a surrogate pair is one). */
function codePointLength(text: string): number {
  return text.length - (text.match(/[\uD800-\uDBFF]/g)?.length ?? 0);
}

function isRecordNotFound(error: unknown): boolean {
  return error instanceof Prisma.PrismaClientKnownRequestError && error.code === 'P2025';
}
