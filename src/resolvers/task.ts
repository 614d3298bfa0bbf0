import type { PrismaClient } from '../db/client.js';
import { BadUserInputError, ForbiddenError, NotFoundError } from '../errors.js';
import { Prisma } from '../generated/prisma/client.js';

/** The selection plugin-prisma plans for the GraphQL fields asked for; spread it into every query. */
export type TaskQuery = { select?: Prisma.TaskSelect; include?: Prisma.TaskInclude };

/** Longest title, in characters (code points) as PostgreSQL's varchar(500) counts them. */
export const MAX_TITLE_LENGTH = 500;

const UUID = /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/i;
const LONE_SURROGATE = /\p{Surrogate}/u;

const newestFirst: Prisma.TaskOrderByWithRelationInput[] = [{ createdAt: 'desc' }, { id: 'desc' }];

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

export function listTasksForUser(prisma: PrismaClient, userId: string, query: TaskQuery) {
  return prisma.task.findMany({ ...query, where: { userId }, orderBy: newestFirst });
}

export async function getTaskForUser(prisma: PrismaClient, userId: string, id: string, query: TaskQuery) {
  const taskId = parseTaskId(id);
  const task = await prisma.task.findUnique({ ...query, where: { id: taskId, userId } });
  return task ?? (await failMissingOrForeign(prisma, taskId));
}

export async function createTaskForUser(prisma: PrismaClient, userId: string, title: string, query: TaskQuery) {
  const data = { userId, title: normalizeTitle(title) };
  try {
    return await prisma.task.create({ ...query, data });
  } catch (error) {
    if (!isForeignKeyViolation(error)) throw error;
    // First write by this user: create their row (race-safe), then the task.
    await prisma.user.createMany({ data: [{ id: userId }], skipDuplicates: true });
    return prisma.task.create({ ...query, data });
  }
}

export async function setTaskCompletedForUser(
  prisma: PrismaClient,
  userId: string,
  id: string,
  completed: boolean,
  query: TaskQuery,
) {
  const taskId = parseTaskId(id);
  return updateOwnTask(prisma, userId, taskId, { completed }, query);
}

export async function renameTaskForUser(prisma: PrismaClient, userId: string, id: string, title: string, query: TaskQuery) {
  const taskId = parseTaskId(id);
  return updateOwnTask(prisma, userId, taskId, { title: normalizeTitle(title) }, query);
}

export async function deleteTaskForUser(prisma: PrismaClient, userId: string, id: string, query: TaskQuery) {
  const taskId = parseTaskId(id);
  try {
    return await prisma.task.delete({ ...query, where: { id: taskId, userId } });
  } catch (error) {
    if (isRecordNotFound(error)) return failMissingOrForeign(prisma, taskId);
    throw error;
  }
}

async function updateOwnTask(
  prisma: PrismaClient,
  userId: string,
  taskId: string,
  data: Prisma.TaskUpdateInput,
  query: TaskQuery,
) {
  try {
    return await prisma.task.update({ ...query, where: { id: taskId, userId }, data });
  } catch (error) {
    if (isRecordNotFound(error)) return failMissingOrForeign(prisma, taskId);
    throw error;
  }
}

/** Called when the caller has no task with this id: 403 if someone else does, else 404. */
async function failMissingOrForeign(prisma: PrismaClient, taskId: string): Promise<never> {
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

function isForeignKeyViolation(error: unknown): boolean {
  return error instanceof Prisma.PrismaClientKnownRequestError && error.code === 'P2003';
}
