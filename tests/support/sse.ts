/** Reads a Server-Sent Events answer as a client would (fetch, as browsers with a bearer token must). */

export interface SseEvent {
  id?: string;
  event: string;
  data: string;
  retry?: number;
}

export interface SseStream {
  status: number;
  headers: Headers;
  /** The next event (comments skipped), or null once the stream has ended; rejects after `timeoutMs`. */
  next(timeoutMs?: number): Promise<SseEvent | null>;
  /** Every event until the stream ends (or `timeoutMs` passes). */
  rest(timeoutMs?: number): Promise<SseEvent[]>;
  close(): void;
}

export async function openSse(
  url: string,
  headers: Record<string, string>,
  init: { method?: string; body?: string } = {},
): Promise<SseStream> {
  const controller = new AbortController();
  const response = await fetch(url, { ...init, headers: { accept: 'text/event-stream', ...headers }, signal: controller.signal });
  const reader = response.body?.getReader();
  const decoder = new TextDecoder();
  let buffer = '';
  let done = false;
  const queue: SseEvent[] = [];

  const parse = () => {
    for (let end = buffer.indexOf('\n\n'); end !== -1; end = buffer.indexOf('\n\n')) {
      const block = buffer.slice(0, end);
      buffer = buffer.slice(end + 2);
      const event: SseEvent = { event: 'message', data: '' };
      const data: string[] = [];
      let fields = 0;
      for (const line of block.split('\n')) {
        if (line.startsWith(':')) continue;
        const colon = line.indexOf(':');
        const name = colon === -1 ? line : line.slice(0, colon);
        const value = colon === -1 ? '' : line.slice(colon + 1).replace(/^ /, '');
        fields++;
        if (name === 'id') event.id = value;
        else if (name === 'event') event.event = value;
        else if (name === 'data') data.push(value);
        else if (name === 'retry') event.retry = Number(value);
      }
      event.data = data.join('\n');
      if (fields > 0) queue.push(event);
    }
  };

  async function next(timeoutMs = 5_000): Promise<SseEvent | null> {
    const deadline = Date.now() + timeoutMs;
    for (;;) {
      const queued = queue.shift();
      if (queued) return queued;
      if (done || !reader) return null;
      const left = deadline - Date.now();
      if (left <= 0) throw new Error('no event in time');
      let timer: NodeJS.Timeout | undefined;
      const chunk = await Promise.race([
        reader.read(),
        new Promise<never>((_, reject) => (timer = setTimeout(() => reject(new Error('no event in time')), left))),
      ]).finally(() => clearTimeout(timer));
      if (chunk.done) done = true;
      else buffer += decoder.decode(chunk.value, { stream: true });
      parse();
    }
  }

  return {
    status: response.status,
    headers: response.headers,
    next,
    async rest(timeoutMs = 5_000) {
      const events: SseEvent[] = [];
      for (let event = await next(timeoutMs); event; event = await next(timeoutMs)) events.push(event);
      return events;
    },
    close: () => controller.abort(),
  };
}
