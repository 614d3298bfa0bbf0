import { useMemo, useState } from 'react';
import { Provider } from 'urql';
import { createClient } from './client';
import { subjectOf } from './live';
import { TaskList } from './TaskList';

const TOKEN_KEY = 'task-gateway.token';

/** Paste a token (from `npm run token -- <user>` or Better Auth's /api/auth/token), then manage tasks. */
export function App() {
  const [token, setToken] = useState(() => localStorage.getItem(TOKEN_KEY) ?? '');
  const [draft, setDraft] = useState('');
  const client = useMemo(() => (token ? createClient(token) : null), [token]);

  function signIn(value: string) {
    localStorage.setItem(TOKEN_KEY, value);
    setToken(value);
  }

  function signOut() {
    localStorage.removeItem(TOKEN_KEY);
    setToken('');
  }

  if (!client) {
    return (
      <main>
        <h1>Tasks</h1>
        <form
          aria-label="Sign in"
          className="signin"
          onSubmit={(event) => {
            event.preventDefault();
            if (draft.trim()) signIn(draft.trim());
          }}
        >
          <label htmlFor="token">Access token</label>
          <textarea id="token" value={draft} onChange={(e) => setDraft(e.target.value)} rows={4} placeholder="Paste a bearer token" />
          <p className="hint">
            For local use, mint one with <code>npm run token -- alice</code>.
          </p>
          <button type="submit">Sign in</button>
        </form>
      </main>
    );
  }

  return (
    <Provider value={client}>
      <main>
        <header>
          <h1>Tasks</h1>
          <button type="button" onClick={signOut}>
            Sign out
          </button>
        </header>
        <TaskList user={subjectOf(token)} onSignInAgain={signOut} />
      </main>
    </Provider>
  );
}
