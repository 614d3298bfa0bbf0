import type { Precondition, SignedInContext } from './context.js';
import type { Db } from '../db/client.js';
import {
  BadUserInputError,
  ForbiddenError,
  NotFoundError,
  PreconditionFailedError,
  PreconditionRequiredError,
  QuotaExceededError,
} from '../errors.js';
import { Prisma, type Task } from '../generated/prisma/client.js';

/**
 * A task as resolvers hand it to the schema's Task type: Prisma's row, or a list's, whose timestamps the
 * database has written as ISO text already (./task-list.ts); the DateTime scalar takes either.
 */
export type TaskRow = Omit<Task, 'createdAt' | 'updatedAt'> & { createdAt: Date | string; updatedAt: Date | string };

/** The selection plugin-prisma plans for the GraphQL fields asked for; spread it into every query. */
export type TaskQuery = { select?: Prisma.TaskSelect; include?: Prisma.TaskInclude };

/** Longest title, in characters (code points) as PostgreSQL's varchar(500) counts them. */
export const MAX_TITLE_LENGTH = 500;
export const UUID = /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/i;
const LONE_SURROGATE = /\p{Surrogate}/u;

function parseTaskId(id: string): string {
  if (!UUID.test(id)) throw new BadUserInputError('Task id must be a UUID');
  return id.toLowerCase();
}

function normalizeTitle(title: string): string {
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

async function findOwnTask(prisma: Db, userId: string, id: string, query: TaskQuery) {
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
async function createTaskForUser(prisma: Db, userId: string, title: string, maxTasks: number): Promise<Task> {
  const normalized = normalizeTitle(title);
  for (;;) {
    const [task] = await prisma.$queryRaw<Task[]>`
      WITH owner AS (SELECT id FROM users WHERE id = ${userId} AND task_count < ${maxTasks} FOR UPDATE)
      INSERT INTO tasks (user_id, title) SELECT id, ${normalized} FROM owner
      RETURNING id, user_id AS "userId", title, completed, version, created_at AS "createdAt", updated_at AS "updatedAt"`;
    if (task) return task;
    // Nothing inserted: the user is at the limit, or had no row when the statement began (a concurrent
    // first write may have made it since: then this tries again rather than refusing).
    const owner = await prisma.user.findUnique({ where: { id: userId }, select: { taskCount: true } });
    if (owner && owner.taskCount >= maxTasks) throw new QuotaExceededError();
    // First write by this user: create their row (race-safe), then the task.
    if (!owner) await prisma.user.createMany({ data: [{ id: userId }], skipDuplicates: true });
  }
}

/** The arguments of a change to one task. */
interface ChangeArgs {
  id: string;
  expectedVersion?: number | null | undefined;
}

export async function getTask(ctx: SignedInContext, { id }: { id: string }, query: TaskQuery) {
  return findOwnTask(await ctx.read(), ctx.userId, id, query);
}

export function createTask(ctx: SignedInContext, { title }: { title: string }): Promise<Task> {
  ctx.wrote();
  return createTaskForUser(ctx.prisma, ctx.userId, title, ctx.maxTasksPerUser);
}

export function setTaskCompleted(ctx: SignedInContext, args: ChangeArgs & { completed: boolean }, query: TaskQuery) {
  ctx.wrote();
  return updateOwnTask(ctx.prisma, ctx.userId, parseTaskId(args.id), { completed: args.completed }, query, preconditionOf(ctx, args));
}

export function renameTask(ctx: SignedInContext, args: ChangeArgs & { title: string }, query: TaskQuery) {
  const taskId = parseTaskId(args.id);
  ctx.wrote();
  return updateOwnTask(ctx.prisma, ctx.userId, taskId, { title: normalizeTitle(args.title) }, query, preconditionOf(ctx, args));
}

export function deleteTask(ctx: SignedInContext, args: ChangeArgs, query: TaskQuery) {
  ctx.wrote();
  return deleteOwnTask(ctx.prisma, ctx.userId, args.id, query, preconditionOf(ctx, args));
}

/**
 * The condition a change is made under: GraphQL's `expectedVersion`, or a REST route's If-Match. With
 * REQUIRE_IF_MATCH a change without one is refused (after the checks on its id and title).
 */
function preconditionOf(ctx: SignedInContext, { expectedVersion }: ChangeArgs): Precondition {
  const precondition = expectedVersion == null ? ctx.precondition : { versions: [expectedVersion] };
  return precondition === undefined && ctx.requireIfMatch ? 'missing' : precondition;
}

async function deleteOwnTask(prisma: Db, userId: string, id: string, query: TaskQuery, precondition?: Precondition) {
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
  if (typeof precondition === 'object' && (await prisma.task.count({ where: { id: taskId, userId } })) > 0)
    throw new PreconditionFailedError();
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

/** Length in code points, as PostgreSQL counts characters (a surrogate pair is one). */
function codePointLength(text: string): number {
  return text.length - (text.match(/[\uD800-\uDBFF]/g)?.length ?? 0);
}

function isRecordNotFound(error: unknown): boolean {
  return error instanceof Prisma.PrismaClientKnownRequestError && error.code === 'P2025';
}
