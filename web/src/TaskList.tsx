import { useState } from 'react';
import type { CombinedError } from 'urql';
import { describeError } from './errors';
import {
  useCreateTaskMutation,
  useDeleteTaskMutation,
  useRenameTaskMutation,
  useSetTaskCompletedMutation,
  useTasksQuery,
  type TaskFieldsFragment,
} from './generated/graphql';

/** Queries listing tasks are refetched after any mutation that returns a Task, even from an empty list. */
const context = { additionalTypenames: ['Task'] };

export function TaskList({ onSignInAgain }: { onSignInAgain: () => void }) {
  const [{ data, fetching, error: loadError }] = useTasksQuery({ context });
  const [, createTask] = useCreateTaskMutation();
  const [title, setTitle] = useState('');
  const [error, setError] = useState<{ message: string; signInAgain: boolean } | null>(null);

  /** Runs a mutation; shows its error, if any. Resolves to whether it succeeded. */
  async function run(mutation: Promise<{ error?: CombinedError | undefined }>): Promise<boolean> {
    const result = await mutation;
    setError(result.error ? describeError(result.error) : null);
    return !result.error;
  }

  const shown = error ?? (loadError ? describeError(loadError) : null);

  return (
    <section>
      <form
        aria-label="New task"
        onSubmit={(event) => {
          event.preventDefault();
          void run(createTask({ title }, context)).then((ok) => ok && setTitle(''));
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
        {data?.tasks.map((task) => <TaskItem key={task.id} task={task} run={run} />)}
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
  run: (mutation: Promise<{ error?: CombinedError | undefined }>) => Promise<boolean>;
}) {
  const [, setCompleted] = useSetTaskCompletedMutation();
  const [, renameTask] = useRenameTaskMutation();
  const [, deleteTask] = useDeleteTaskMutation();
  const [editing, setEditing] = useState(false);
  const [title, setTitle] = useState(task.title);

  return (
    <li className={task.completed ? 'done' : undefined}>
      <input
        type="checkbox"
        aria-label={`Completed: ${task.title}`}
        checked={task.completed}
        onChange={(e) => void run(setCompleted({ id: task.id, completed: e.target.checked }, context))}
      />
      {editing ? (
        <form
          aria-label={`Rename ${task.title}`}
          onSubmit={(event) => {
            event.preventDefault();
            void run(renameTask({ id: task.id, title }, context)).then((ok) => ok && setEditing(false));
          }}
        >
          <input aria-label="Title" value={title} onChange={(e) => setTitle(e.target.value)} />
          <button type="submit">Save</button>
        </form>
      ) : (
        <span className="title">{task.title}</span>
      )}
      {!editing && (
        <button type="button" onClick={() => setEditing(true)}>
          Rename
        </button>
      )}
      <button type="button" aria-label={`Delete ${task.title}`} onClick={() => void run(deleteTask({ id: task.id }, context))}>
        Delete
      </button>
    </li>
  );
}
