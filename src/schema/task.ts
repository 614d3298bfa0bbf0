import { resolveCursorConnection, type ResolveCursorConnectionArgs } from '@pothos/plugin-relay';
import {
  LIST_CHUNK_SIZE,
  MAX_PAGE_SIZE,
  createTaskForUser,
  decodeCursor,
  encodeCursor,
  findTaskPage,
  parsePageSize,
  deleteTaskForUser,
  getTaskForUser,
  type Precondition,
  listTasksForUser,
  renameTaskForUser,
  setTaskCompletedForUser,
} from '../resolvers/task.js';
import { MAX_UNPAGED_TASKS } from '../context.js';
import type { Context } from '../context.js';
import { BadUserInputError } from '../errors.js';
import { builder } from './builder.js';

export const Task = builder.prismaObject('Task', {
  description: 'A to-do item. Every task belongs to exactly one user: the `sub` of the token that created it.',
  fields: (t) => ({
    id: t.exposeID('id'),
    title: t.exposeString('title', { description: '1–500 characters, trimmed.' }),
    completed: t.exposeBoolean('completed'),
    version: t.exposeInt('version', {
      description: 'One more on every change. Pass it as `expectedVersion` to change the task only if no one else has since (REST: the ETag).',
    }),
    userId: t.exposeString('userId', { description: "The owner's user id (the JWT `sub`)." }),
    createdAt: t.expose('createdAt', { type: 'DateTime' }),
    updatedAt: t.expose('updatedAt', { type: 'DateTime' }),
  }),
});

builder.queryFields((t) => {
  const signedIn = t.withAuth({ signedIn: true });
  return {
    tasks: signedIn.prismaField({
      type: ['Task'],
      description: `The caller's tasks, newest first: all of them (at most ${MAX_UNPAGED_TASKS} in one answer, all \`tasks\` fields together; more is an error), or with \`limit\` (1–${MAX_PAGE_SIZE}) one page, continuing after \`cursor\`. (Pages are easier through taskConnection.)`,
      args: {
        completed: t.arg.boolean({ description: 'Only completed (true) or only open (false) tasks.' }),
        limit: t.arg.int(),
        cursor: t.arg.string({ description: 'Where the previous page ended (the REST Link header carries it).' }),
      },
      resolve: async (query, _root, args, ctx) => {
        // A page the client asked for, or one chunk of a REST answer streamed a chunk at a time.
        const pageSize = args.limit == null ? ctx.page?.chunkSize : undefined;
        if (args.limit != null || pageSize !== undefined) {
          const { tasks, nextCursor } = await listTasksForUser(ctx.prisma, ctx.userId, args, query, pageSize);
          if (ctx.page) ctx.page.nextCursor = nextCursor;
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
      },
    }),
    taskConnection: signedIn.connection({
      type: Task,
      description: `The caller's tasks as a Relay connection, newest first (first/after forwards, last/before backwards; at most ${MAX_PAGE_SIZE} a page).`,
      args: { completed: t.arg.boolean({ description: 'Only completed (true) or only open (false) tasks.' }) },
      resolve: (_root, args, ctx) => {
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
      },
    }, { name: 'TaskConnection' }, { name: 'TaskEdge' }),
    task: signedIn.prismaField({
      type: 'Task',
      description: 'One of the caller\'s tasks. FORBIDDEN if it is someone else\'s, NOT_FOUND if there is none.',
      args: { id: t.arg.id({ required: true }) },
      resolve: (query, _root, { id }, ctx) => getTaskForUser(ctx.prisma, ctx.userId, id, query),
    }),
  };
});

/**
 * The condition a change is made under: GraphQL's `expectedVersion`, or a REST route's If-Match. With
 * REQUIRE_IF_MATCH a change without one is refused (after the checks on its id and title).
 */
function preconditionOf(expectedVersion: number | null | undefined, ctx: Context): Precondition {
  const precondition = expectedVersion == null ? ctx.precondition : { versions: [expectedVersion] };
  return precondition === undefined && ctx.requireIfMatch ? 'missing' : precondition;
}

builder.mutationFields((t) => {
  const signedIn = t.withAuth({ signedIn: true });
  const expectedVersion = t.arg.int({
    description: 'Change the task only if its version is still this one; otherwise PRECONDITION_FAILED and nothing changes.',
  });
  return {
    createTask: signedIn.prismaField({
      type: 'Task',
      description: 'Creates a task owned by the caller.',
      args: { title: t.arg.string({ required: true }) },
      resolve: (_query, _root, { title }, ctx) => createTaskForUser(ctx.prisma, ctx.userId, title, ctx.maxTasksPerUser),
    }),
    setTaskCompleted: signedIn.prismaField({
      type: 'Task',
      description: 'Marks one of the caller\'s tasks completed or not.',
      args: { id: t.arg.id({ required: true }), completed: t.arg.boolean({ required: true }), expectedVersion },
      resolve: (query, _root, args, ctx) =>
        setTaskCompletedForUser(ctx.prisma, ctx.userId, args.id, args.completed, query, preconditionOf(args.expectedVersion, ctx)),
    }),
    renameTask: signedIn.prismaField({
      type: 'Task',
      description: 'Changes the title of one of the caller\'s tasks.',
      args: { id: t.arg.id({ required: true }), title: t.arg.string({ required: true }), expectedVersion },
      resolve: (query, _root, args, ctx) =>
        renameTaskForUser(ctx.prisma, ctx.userId, args.id, args.title, query, preconditionOf(args.expectedVersion, ctx)),
    }),
    deleteTask: signedIn.prismaField({
      type: 'Task',
      description: 'Deletes one of the caller\'s tasks and returns it as it was.',
      args: { id: t.arg.id({ required: true }), expectedVersion },
      resolve: (query, _root, args, ctx) => deleteTaskForUser(ctx.prisma, ctx.userId, args.id, query, preconditionOf(args.expectedVersion, ctx)),
    }),
  };
});
