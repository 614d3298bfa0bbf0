/**
 * The Task type and its root fields: declarations only; what they do is ../resolvers/.
 */
import { MAX_UNPAGED_TASKS } from '../resolvers/context.js';
import { createTask, deleteTask, getTask, renameTask, setTaskCompleted } from '../resolvers/task.js';
import { MAX_PAGE_SIZE, listTaskConnection, listTasks, type ListRoot } from '../resolvers/task-list.js';
import { builder } from './builder.js';

export const Task = builder.prismaObject('Task', {
  description: 'A to-do item. Every task belongs to exactly one user: the `sub` of the token that created it.',
  fields: (t) => ({
    id: t.exposeID('id'),
    title: t.exposeString('title', { description: '1–500 characters, trimmed.' }),
    completed: t.exposeBoolean('completed'),
    version: t.exposeInt('version', {
      description:
        'One more on every change. Pass it as `expectedVersion` to change the task only if no one else has since (REST: the ETag).',
    }),
    userId: t.exposeString('userId', { description: "The owner's user id (the JWT `sub`)." }),
    createdAt: t.expose('createdAt', { type: 'DateTime' }),
    updatedAt: t.expose('updatedAt', { type: 'DateTime' }),
  }),
});

builder.queryFields((t) => {
  const signedIn = t.withAuth({ signedIn: true });
  return {
    // A plain field, not a prismaField: the list reads every column with its own SQL (../resolvers/task-list.ts),
    // so there is no Prisma selection to plan. Task has no relation fields to load.
    tasks: signedIn.field({
      type: [Task],
      description: `The caller's tasks, newest first: all of them (at most ${MAX_UNPAGED_TASKS} in one answer, all \`tasks\` fields together; more is an error), or with \`limit\` (1–${MAX_PAGE_SIZE}) one page, continuing after \`cursor\`. (Pages are easier through taskConnection.)`,
      args: {
        completed: t.arg.boolean({ description: 'Only completed (true) or only open (false) tasks.' }),
        limit: t.arg.int(),
        cursor: t.arg.string({ description: 'Where the previous page ended (the REST Link header carries it).' }),
      },
      resolve: (root, args, ctx) => listTasks(ctx, args, (root as ListRoot | undefined)?.paging),
    }),
    taskConnection: signedIn.connection(
      {
        type: Task,
        description: `The caller's tasks as a Relay connection, newest first (first/after forwards, last/before backwards; at most ${MAX_PAGE_SIZE} a page).`,
        args: { completed: t.arg.boolean({ description: 'Only completed (true) or only open (false) tasks.' }) },
        resolve: (_root, args, ctx) => listTaskConnection(ctx, args),
      },
      { name: 'TaskConnection' },
      { name: 'TaskEdge' },
    ),
    task: signedIn.prismaField({
      type: 'Task',
      description: "One of the caller's tasks. FORBIDDEN if it is someone else's, NOT_FOUND if there is none.",
      args: { id: t.arg.id({ required: true }) },
      resolve: (query, _root, args, ctx) => getTask(ctx, args, query),
    }),
  };
});

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
      resolve: (_query, _root, args, ctx) => createTask(ctx, args),
    }),
    setTaskCompleted: signedIn.prismaField({
      type: 'Task',
      description: "Marks one of the caller's tasks completed or not.",
      args: { id: t.arg.id({ required: true }), completed: t.arg.boolean({ required: true }), expectedVersion },
      resolve: (query, _root, args, ctx) => setTaskCompleted(ctx, args, query),
    }),
    renameTask: signedIn.prismaField({
      type: 'Task',
      description: "Changes the title of one of the caller's tasks.",
      args: { id: t.arg.id({ required: true }), title: t.arg.string({ required: true }), expectedVersion },
      resolve: (query, _root, args, ctx) => renameTask(ctx, args, query),
    }),
    deleteTask: signedIn.prismaField({
      type: 'Task',
      description: "Deletes one of the caller's tasks and returns it as it was.",
      args: { id: t.arg.id({ required: true }), expectedVersion },
      resolve: (query, _root, args, ctx) => deleteTask(ctx, args, query),
    }),
  };
});
