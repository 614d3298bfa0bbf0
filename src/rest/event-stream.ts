/**
 * The runner of a `stream` row of ./routes.ts (GET /api/tasks/events): the user's change stream
 * (../events/stream.ts) as Server-Sent Events. Each event is
 * `id: <cursor>`, `event: task.created|task.updated|task.deleted`, `data: <the task in the REST shape>`;
 * `Last-Event-ID` (or `?after=`) resumes after a cursor. A comment every 15 s keeps proxies from closing
 * an idle stream; at the token's `exp` the stream says `event: reauth` and ends; a client that does not
 * read is sent `event: reset` and cut rather than buffered for; on shutdown every stream ends with a
 * `retry:` hint, to reconnect elsewhere. The caps per user and per instance are ../events/registry.ts's (429).
 */
import type { FastifyReply, FastifyRequest } from 'fastify';
import { BadUserInputError } from '../errors.js';
import type { StreamRegistry } from '../events/registry.js';
import { openTaskEventStream, parseCursor, type StreamItem, type StreamSources } from '../events/stream.js';
import { tokenExpiresInMs } from '../http/request-gate.js';
import type { Metrics } from '../metrics.js';
const HEARTBEAT_MS = 15_000;
/** Bytes a stream may have waiting for its client before it is cut. */
const MAX_BUFFERED_BYTES = 256 * 1024;
/** What a client is told to wait before reconnecting, when this instance stops. */
const RETRY_MS = 1_000;

export interface EventStreamOptions extends StreamSources {
  streams: StreamRegistry;
  metrics: Metrics;
  /** The task as every REST answer shows it (./shape.ts). */
  shape: (task: object) => Record<string, unknown>;
}

/** Serves one request of the stream route at `path` (its authentication has run: `request.userId` is set). */
export function createEventStreamRunner(options: EventStreamOptions, path: string) {
  const { streams, shape } = options;
  return async function runEventStream(request: FastifyRequest, reply: FastifyReply): Promise<void> {
    const userId = request.userId ?? '';
    const after = cursorOf(request);
    const stream = await streams.open(userId);
    const raw = reply.raw;
    const gone = () => raw.destroyed || request.raw.socket.destroyed;
    // The client left while the place was being taken.
    if (gone()) return stream.release();
    // Where the stream starts is read before anything is sent: once the client sees the stream open, every
    // change committed from then on reaches it. If that read fails, the answer is the error (a 503).
    let source: AsyncGenerator<StreamItem, void, undefined> | undefined;
    try {
      // (Not for a stream opened as the instance stops: it only tells its client to come back.)
      if (!stream.signal.aborted) source = await openTaskEventStream(options, userId, after, stream.signal);
    } catch (error) {
      stream.release();
      throw error;
    }
    // Or while its start was being read.
    if (gone()) {
      await source?.return();
      return stream.release();
    }
    const state = { ended: false, events: 0 };
    // Hijacked, the answer is not in the request log or metrics (../http/observability.ts): it gets a line
    // of its own when it ends, and the stream metrics.
    const end = (reason: 'client' | 'shutdown' | 'reauth' | 'reset' | 'error', last = '') => {
      if (state.ended) return;
      state.ended = true;
      stream.release();
      clearInterval(heartbeat);
      clearTimeout(reauth);
      if (!raw.destroyed) raw.end(last);
      options.metrics.countStreamEnd('rest', reason);
      request.log.info(
        { method: 'GET', route: path, status: 200, ms: Math.round(reply.elapsedTime), events: state.events, ended: reason },
        'event stream',
      );
    };
    // The instance stops: the client is told to come back in a moment (to another instance).
    stream.signal.addEventListener('abort', () => end('shutdown', `retry: ${RETRY_MS}\n\n`));
    raw.once('close', () => end('client'));

    reply.hijack();
    raw.writeHead(200, {
      ...(reply.getHeaders() as Record<string, string | number | string[]>),
      'content-type': 'text/event-stream; charset=utf-8',
      'cache-control': 'no-store',
      // nginx and the like: pass each event on as it comes.
      'x-accel-buffering': 'no',
    });
    // A first comment: the client knows the stream is open before any change.
    raw.write(': connected\n\n');
    const heartbeat = setInterval(() => raw.write(': keep-alive\n\n'), HEARTBEAT_MS);
    const reauth = setTimeout(
      () => end('reauth', 'event: reauth\ndata: \n\n'),
      Math.max(0, Math.min(tokenExpiresInMs(request), 2 ** 31 - 1)),
    );

    // Opened as the instance stops (../events/registry.ts): it ends at once, with the hint to come back.
    if (source === undefined || stream.signal.aborted) {
      await source?.return();
      return end('shutdown', `retry: ${RETRY_MS}\n\n`);
    }
    try {
      for await (const item of source) {
        if (state.ended) break;
        raw.write(format(item));
        state.events += 1;
        if (raw.writableLength > MAX_BUFFERED_BYTES) {
          end('reset', `event: reset\ndata: ${JSON.stringify({ reason: 'too slow: reload the list and reconnect' })}\n\n`);
        }
      }
    } catch (error) {
      request.log.warn({ err: { message: (error as Error).message } }, 'task event stream failed');
      // The client reconnects from its last id, as after any cut.
      end('error', `retry: ${RETRY_MS}\n\n`);
    }
    end('shutdown');
  };

  function format(item: StreamItem): string {
    if (item.type === 'reset')
      return `id: ${item.id}\nevent: reset\ndata: ${JSON.stringify({ reason: 'events were pruned: reload the list' })}\n\n`;
    const { id, kind, task } = item.event;
    return `id: ${id}\nevent: task.${kind}\ndata: ${JSON.stringify(shape(task))}\n\n`;
  }
}

function cursorOf(request: FastifyRequest): bigint | null {
  const header = request.headers['last-event-id'];
  const query = (request.query as Record<string, unknown> | undefined)?.after;
  const value = typeof header === 'string' ? header : typeof query === 'string' ? query : undefined;
  if (value === undefined || value === '') return null;
  const cursor = parseCursor(value);
  if (cursor === undefined) throw new BadUserInputError('Last-Event-ID (or after) must be an event id this stream sent');
  return cursor;
}
