import { useEffect } from 'react';
import { useClient } from 'urql';
import { onEnd, pipe, subscribe } from 'wonka';
import { TaskEventsDocument, type TaskEventsSubscription, type TaskEventsSubscriptionVariables } from './generated/graphql';

/**
 * Keeps the page live: subscribes to the caller's task changes (GraphQL over SSE) and calls `onChange` for
 * each. When the stream ends (a server restart, a network drop, the token's end) it subscribes again after
 * 1 s, doubling to 10 s, from the last event seen, so nothing committed meanwhile is missed.
 */
export function useLiveTasks(onChange: () => void): void {
  const client = useClient();
  useEffect(() => {
    let cursor: string | null = null;
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
          onChange();
        }),
      ));
    };
    start();
    return () => {
      stopped = true;
      window.clearTimeout(timer);
      stop();
    };
  }, [client, onChange]);
}
