import { useEffect, useRef } from 'react';
import { useClient, type Client } from 'urql';
import { onEnd, pipe, subscribe } from 'wonka';
import { TaskEventsDocument, type TaskEventsSubscription, type TaskEventsSubscriptionVariables } from './generated/graphql';

/**
 * Keeps the page live: calls `onChange` for each change to the caller's tasks (GraphQL subscription over
 * SSE). The tabs of one browser signed in as one user share one stream (the server allows a user ten):
 * the tab holding the Web Lock `task-events:<user>` subscribes and passes each change on over a
 * BroadcastChannel of the same name; when it closes, another tab takes the lock and subscribes from the
 * last change the tabs saw. A browser without Web Locks or BroadcastChannel subscribes in every tab.
 */
export function useLiveTasks(onChange: () => void, user: string): void {
  const client = useClient();
  // The latest callback, without subscribing again each time the page passes a new one.
  const latest = useRef(onChange);
  latest.current = onChange;
  useEffect(() => {
    const onChange = () => latest.current();
    const name = `task-events:${user}`;
    if (!('locks' in navigator) || typeof BroadcastChannel === 'undefined') return follow(client, null, onChange);
    const stopped = new AbortController();
    const openedAt = performance.now();
    const channel = new BroadcastChannel(name);
    let cursor: string | null = null;
    let unsubscribe = () => {};
    channel.onmessage = (message: MessageEvent<{ cursor: string }>) => {
      cursor = message.data.cursor;
      onChange();
    };
    navigator.locks
      .request(name, { signal: stopped.signal }, () => {
        // Granted just as the page stopped: let go at once.
        if (stopped.signal.aborted) return;
        // This tab leads from here: on from the last change any tab saw, passing each on to the others.
        // Taking over with no change seen yet, it reloads once: the last leader may have closed before a
        // change it did not pass on.
        if (cursor === null && performance.now() - openedAt > 500) onChange();
        unsubscribe = follow(client, cursor, (next) => {
          cursor = next;
          onChange();
          channel.postMessage({ cursor: next });
        });
        // Held until this tab closes or stops.
        return new Promise<void>((resolve) => stopped.signal.addEventListener('abort', () => resolve()));
      })
      // Aborted while waiting for the lock: the tab stopped before it led.
      .catch(() => {});
    return () => {
      stopped.abort();
      unsubscribe();
      channel.close();
    };
  }, [client, user]);
}

/**
 * Subscribes after `cursor` (null: from now) and calls `onChange` with each change's cursor. When the
 * stream ends (a server restart, a network drop, the token's end) it subscribes again after 1 s, doubling
 * to 10 s, from the last change seen, so nothing committed meanwhile is missed. Returns the way to stop.
 */
function follow(client: Client, cursor: string | null, onChange: (cursor: string) => void): () => void {
  let stopped = false;
  let delay = 1_000;
  let timer: number | undefined;
  let stop = () => {};
  const start = () => {
    ({ unsubscribe: stop } = pipe(
      client.subscription<TaskEventsSubscription, TaskEventsSubscriptionVariables>(TaskEventsDocument, { after: cursor }),
      onEnd(() => {
        if (stopped) return;
        timer = window.setTimeout(start, delay);
        delay = Math.min(delay * 2, 10_000);
      }),
      subscribe((result) => {
        const event = result.data?.taskEvents;
        if (!event) return;
        delay = 1_000;
        cursor = event.cursor;
        onChange(event.cursor);
      }),
    ));
  };
  start();
  return () => {
    stopped = true;
    window.clearTimeout(timer);
    stop();
  };
}

/** The user a bearer token is for (its `sub`), or the token itself if it cannot be read. */
export function subjectOf(token: string): string {
  try {
    const payload = token.split('.')[1] ?? '';
    const claims = JSON.parse(atob(payload.replace(/-/g, '+').replace(/_/g, '/'))) as { sub?: unknown };
    return typeof claims.sub === 'string' ? claims.sub : token;
  } catch {
    return token;
  }
}
