/**
 * The change log (table task_events, written by triggers in the transaction of every write: see the
 * task_events migration) as the live streams read it: a user's events after a cursor, in commit order;
 * where a stream without a cursor starts; whether a cursor is older than what pruning has kept.
 */
import type { Db, PrismaClient } from '../db/client.js';

export type TaskEventKind = 'created' | 'updated' | 'deleted';

/** A task as an event carries it: as it is after the change (as it was, for a delete). */
export interface TaskSnapshot {
  id: string;
  userId: string;
  title: string;
  completed: boolean;
  version: number;
  createdAt: Date;
  updatedAt: Date;
}

export interface LoggedEvent {
  /** The cursor: resume after it. */
  id: bigint;
  kind: TaskEventKind;
  task: TaskSnapshot;
}

/** The user's events after `after`, oldest first, at most `take`. */
export async function eventsAfter(prisma: Db, userId: string, after: bigint, take: number): Promise<LoggedEvent[]> {
  const rows = await prisma.taskEvent.findMany({
    where: { userId, id: { gt: after } },
    orderBy: { id: 'asc' },
    take,
    select: { id: true, kind: true, task: true },
  });
  return rows.map((row) => ({ id: row.id, kind: row.kind as TaskEventKind, task: snapshotOf(row.task) }));
}

/** The user's last event id, or 0: a stream without a cursor starts after it. */
export async function lastEventId(prisma: Db, userId: string): Promise<bigint> {
  const last = await prisma.taskEvent.findFirst({ where: { userId }, orderBy: { id: 'desc' }, select: { id: true } });
  return last?.id ?? 0n;
}

/** The highest event id pruning has deleted: events after an older cursor may be gone. */
export async function prunedThrough(prisma: Db): Promise<bigint> {
  const horizon = await prisma.taskEventHorizon.findUnique({ where: { id: 1 }, select: { prunedThrough: true } });
  return horizon?.prunedThrough ?? 0n;
}

/**
 * Deletes events older than `retentionMs`, a batch at a time along the created_at index, and moves the
 * horizon past the last one deleted (in the same transaction, so no reader sees the one without the other).
 */
export async function pruneTaskEvents(prisma: PrismaClient, retentionMs: number, batch = 5_000): Promise<number> {
  const before = new Date(Date.now() - retentionMs);
  let total = 0;
  for (;;) {
    const deleted = await prisma.$transaction(async (tx) => {
      const rows = await tx.$queryRaw<{ id: bigint }[]>`
        DELETE FROM task_events
        WHERE ctid = ANY(ARRAY(SELECT ctid FROM task_events WHERE created_at < ${before} LIMIT ${batch}))
        RETURNING id`;
      const highest = rows.reduce((max, row) => (row.id > max ? row.id : max), 0n);
      if (highest > 0n) {
        await tx.$executeRaw`UPDATE task_event_horizon SET pruned_through = GREATEST(pruned_through, ${highest}) WHERE id = 1`;
      }
      return rows.length;
    });
    total += deleted;
    if (deleted < batch) return total;
  }
}

function snapshotOf(json: unknown): TaskSnapshot {
  const row = json as Record<string, unknown>;
  return {
    id: String(row.id),
    userId: String(row.user_id),
    title: String(row.title),
    completed: row.completed === true,
    version: Number(row.version),
    createdAt: new Date(String(row.created_at)),
    updatedAt: new Date(String(row.updated_at)),
  };
}
