/**
 * The live change stream on GraphQL: `subscription { taskEvents(after) }`, served by Yoga over
 * GraphQL-over-SSE from the same log and wake-ups as GET /api/tasks/events (../events/).
 */
import type { Context } from '../resolvers/context.js';
import { BadUserInputError, UnauthenticatedError } from '../errors.js';
import type { TaskSnapshot } from '../events/log.js';
import { openTaskEventStream, parseCursor } from '../events/stream.js';
import { builder } from './builder.js';
import { Task } from './task.js';

interface TaskEventItem {
  cursor: string;
  kind: 'created' | 'updated' | 'deleted' | 'reset';
  task: TaskSnapshot | null;
}

const TaskEventKind = builder.enumType('TaskEventKind', {
  description: 'What happened. RESET: the cursor was older than the log keeps; reload the tasks, then go on from this cursor.',
  values: {
    CREATED: { value: 'created' },
    UPDATED: { value: 'updated' },
    DELETED: { value: 'deleted' },
    RESET: { value: 'reset' },
  } as const,
});

const TaskEvent = builder.objectRef<TaskEventItem>('TaskEvent').implement({
  description: "A change to one of the caller's tasks, in commit order.",
  fields: (t) => ({
    cursor: t.exposeString('cursor', { description: 'Pass it as `after` to resume after this event.' }),
    kind: t.field({ type: TaskEventKind, resolve: (event) => event.kind }),
    task: t.field({
      type: Task,
      nullable: true,
      description: 'The task after the change (as it was, for DELETED); null for RESET.',
      resolve: (event) => event.task,
    }),
  }),
});

builder.subscriptionFields((t) => ({
  taskEvents: t.withAuth({ signedIn: true }).field({
    type: TaskEvent,
    description:
      "The caller's task changes as they are committed, on any instance: after `after` (a cursor from an earlier event) every one missed, in order, once; without it, from now. Served over GraphQL-over-SSE (Accept: text/event-stream).",
    args: { after: t.arg.string({ description: 'Resume after this cursor.' }) },
    subscribe: (_root, { after }, ctx) => subscribe(ctx, ctx.userId, after ?? null),
    resolve: (event) => event,
  }),
}));

/**
 * The stream as an async iterator whose return() (the client went) ends it at once, even while it waits
 * for the next change; it ends with UNAUTHENTICATED when the token expires.
 */
async function subscribe(ctx: Context, userId: string, after: string | null): Promise<AsyncIterableIterator<TaskEventItem>> {
  const cursor = after === null ? null : parseCursor(after);
  if (cursor === undefined) throw new BadUserInputError('after must be a cursor from an earlier event');
  const { streams, metrics } = ctx.events;
  const stream = await streams.open(userId);
  let expired = false;
  let finished = false;
  const expiry = setTimeout(
    () => {
      expired = true;
      stream.release();
    },
    Math.max(0, Math.min(ctx.tokenExpiresInMs(), 2 ** 31 - 1)),
  );
  // Where it starts is read before Yoga answers: once the client sees the subscription open, every change
  // committed from then on reaches it.
  const source = await openTaskEventStream(ctx.events, userId, cursor, stream.signal).catch((error: unknown) => {
    clearTimeout(expiry);
    stream.release();
    throw error;
  });
  const finish = (reason: 'client' | 'shutdown' | 'reauth' | 'error') => {
    clearTimeout(expiry);
    stream.release();
    if (finished) return;
    finished = true;
    metrics.countStreamEnd('graphql', reason);
  };
  const iterator: AsyncIterableIterator<TaskEventItem> = {
    [Symbol.asyncIterator]() {
      return iterator;
    },
    async next() {
      const { done, value } = await source.next().catch((error: unknown) => {
        finish('error');
        throw error;
      });
      if (done) {
        finish(expired ? 'reauth' : 'shutdown');
        if (expired) throw new UnauthenticatedError('The token has expired: subscribe again with a new one');
        return { done: true, value: undefined };
      }
      if (value.type === 'reset') return { done: false, value: { cursor: String(value.id), kind: 'reset', task: null } };
      const { id, kind, task } = value.event;
      return { done: false, value: { cursor: String(id), kind, task } };
    },
    async return() {
      finish('client');
      await source.return();
      return { done: true, value: undefined };
    },
  };
  return iterator;
}
