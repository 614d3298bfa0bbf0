import type { CombinedError } from 'urql';
import { useCallback, useState } from 'react';
import { describeError, isStale } from './errors';
import { useLiveTasks } from './live';
import {
  useCreateTaskMutation,
  useDeleteTaskMutation,
  useRenameTaskMutation,
  useSetTaskCompletedMutation,
  useTasksQuery,
  type TaskFieldsFragment,
} from './generated/graphql';

/** How a change went: made, refused as made to an outdated task (the page now shows the current one), or failed. */
type Outcome = 'done' | 'stale' | 'failed';

/** Queries listing tasks are refetched after any mutation that returns a Task, even from an empty list. */
const context = { additionalTypenames: ['Task'] };

export function TaskList({ user, onSignInAgain }: { user: string; onSignInAgain: () => void }) {
  const [{ data, fetching, error: loadError }, reload] = useTasksQuery({ context });
  // A change made elsewhere (another tab, a phone, the API) shows here as it is committed.
  useLiveTasks(
    useCallback(() => reload({ requestPolicy: 'network-only' }), [reload]),
    user,
  );
  const [, createTask] = useCreateTaskMutation();
  const [title, setTitle] = useState('');
  const [error, setError] = useState<{ message: string; signInAgain: boolean } | null>(null);

  /**
   * Runs a mutation; shows its error, if any. Changes carry the version the page shows, so one made to a
   * task changed elsewhere is refused rather than overwriting it; the page then shows the current tasks.
   */
  async function run(mutation: Promise<{ error?: CombinedError | undefined }>): Promise<Outcome> {
    const result = await mutation;
    setError(result.error ? describeError(result.error) : null);
    if (!result.error) return 'done';
    if (!isStale(result.error)) return 'failed';
    reload({ requestPolicy: 'network-only' });
    return 'stale';
  }

  const shown = error ?? (loadError ? describeError(loadError) : null);

  return (
    <section>
      <form
        aria-label="New task"
        onSubmit={(event) => {
          event.preventDefault();
          void run(createTask({ title }, context)).then((outcome) => outcome === 'done' && setTitle(''));
        }}
      >
        <input aria-label="New task title" value={title} onChange={(e) => setTitle(e.target.value)} placeholder="What needs doing?" />
        <button type="submit">Add</button>
      </form>

      {shown && (
        <div role="alert" className="error">
          {shown.message}
          {shown.signInAgain && (
            <button type="button" onClick={onSignInAgain}>
              Sign in again
            </button>
          )}
        </div>
      )}

      {fetching && !data && <p>Loading…</p>}
      <ul aria-label="Tasks">
        {data?.tasks.map((task) => (
          <TaskItem key={task.id} task={task} run={run} />
        ))}
      </ul>
      {data?.tasks.length === 0 && <p className="empty">Nothing to do.</p>}
    </section>
  );
}

function TaskItem({
  task,
  run,
}: {
  task: TaskFieldsFragment;
  run: (mutation: Promise<{ error?: CombinedError | undefined }>) => Promise<Outcome>;
}) {
  const [, setCompleted] = useSetTaskCompletedMutation();
  const [, renameTask] = useRenameTaskMutation();
  const [, deleteTask] = useDeleteTaskMutation();
  const [editing, setEditing] = useState(false);
  const [title, setTitle] = useState(task.title);
  // The version the edit started from: if the task changes meanwhile (the list is live), saving is refused.
  const [editingFrom, setEditingFrom] = useState(task.version);

  return (
    <li className={task.completed ? 'done' : undefined}>
      <input
        type="checkbox"
        aria-label={`Completed: ${task.title}`}
        checked={task.completed}
        onChange={(e) => void run(setCompleted({ id: task.id, completed: e.target.checked, expectedVersion: task.version }, context))}
      />
      {editing ? (
        <form
          aria-label={`Rename ${task.title}`}
          onSubmit={(event) => {
            event.preventDefault();
            // Stale: the edit closes on the current title; a bad title stays open to be fixed.
            void run(renameTask({ id: task.id, title, expectedVersion: editingFrom }, context)).then(
              (outcome) => outcome !== 'failed' && setEditing(false),
            );
          }}
        >
          <input aria-label="Title" value={title} onChange={(e) => setTitle(e.target.value)} />
          <button type="submit">Save</button>
        </form>
      ) : (
        <span className="title">{task.title}</span>
      )}
      {!editing && (
        <button
          type="button"
          onClick={() => {
            setTitle(task.title);
            setEditingFrom(task.version);
            setEditing(true);
          }}
        >
          Rename
        </button>
      )}
      <button type="button" aria-label={`Delete ${task.title}`} onClick={() => void run(deleteTask({ id: task.id }, context))}>
        Delete
      </button>
    </li>
  );
}
