/**
 * GET /api/tasks/events: the user's change stream as Server-Sent Events (./stream.ts). Each event is
 * `id: <cursor>`, `event: task.created|task.updated|task.deleted`, `data: <the task in the REST shape>`;
 * `Last-Event-ID` (or `?after=`) resumes after a cursor. A comment every 15 s keeps proxies from closing
 * an idle stream; at the token's `exp` the stream says `event: reauth` and ends; a client that does not
 * read is sent `event: reset` and cut rather than buffered for; on shutdown every stream ends with a
 * `retry:` hint, to reconnect elsewhere. The caps per user and per instance are ./registry.ts's (429).
 */
import type { FastifyInstance, FastifyRequest } from 'fastify';
import { decodeJwt } from 'jose';
import type { Authenticate } from '../auth/request-gate.js';
import type { Metrics } from '../metrics.js';
import type { PrismaClient } from '../db/client.js';
import { BadUserInputError } from '../errors.js';
import { REST_BASE_PATH } from '../rest/routes.js';
import type { ChangeFeed } from './feed.js';
import type { TaskSnapshot } from './log.js';
import type { StreamRegistry } from './registry.js';
import { parseCursor, taskEventStream, type StreamItem } from './stream.js';

const EVENTS_PATH = `${REST_BASE_PATH}/tasks/events`;
const HEARTBEAT_MS = 15_000;
/** Bytes a stream may have waiting for its client before it is cut. */
const MAX_BUFFERED_BYTES = 256 * 1024;
/** What a client is told to wait before reconnecting, when this instance stops. */
const RETRY_MS = 1_000;

export interface EventStreamOptions {
  prisma: PrismaClient;
  feed: ChangeFeed;
  streams: StreamRegistry;
  authenticate: Authenticate;
  metrics: Metrics;
}

/** The task as REST shows it (the same six keys as every route). */
function restTask(task: TaskSnapshot) {
  return {
    id: task.id,
    title: task.title,
    completed: task.completed,
    user_id: task.userId,
    created_at: task.createdAt.toISOString(),
    updated_at: task.updatedAt.toISOString(),
  };
}

export function useEventStreams(app: FastifyInstance, options: EventStreamOptions): void {
  const { prisma, feed, streams } = options;
  app.register((scope, _options, done) => {
    scope.addHook('onRequest', options.authenticate);
    scope.get(EVENTS_PATH, async (request, reply) => {
      const userId = request.userId ?? '';
      const after = cursorOf(request);
      const stream = await streams.open(userId);
      const raw = reply.raw;
      // The client left while the place was being taken.
      if (raw.destroyed || request.raw.socket.destroyed) return stream.release();
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
          { method: 'GET', route: EVENTS_PATH, status: 200, ms: Math.round(reply.elapsedTime), events: state.events, ended: reason },
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
      const reauth = setTimeout(() => end('reauth', 'event: reauth\ndata: \n\n'), Math.max(0, Math.min(tokenExpiresInMs(request), 2 ** 31 - 1)));

      try {
        for await (const item of taskEventStream(prisma, feed, userId, after, stream.signal)) {
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
    });
    done();
  });
}

function format(item: StreamItem): string {
  if (item.type === 'reset') return `id: ${item.id}\nevent: reset\ndata: ${JSON.stringify({ reason: 'events were pruned: reload the list' })}\n\n`;
  const { id, kind, task } = item.event;
  return `id: ${id}\nevent: task.${kind}\ndata: ${JSON.stringify(restTask(task))}\n\n`;
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

/** Time left on the request's (verified) token. */
export function tokenExpiresInMs(request: FastifyRequest): number {
  const token = /^Bearer +(\S+)/i.exec(request.headers.authorization ?? '')?.[1];
  const exp = token ? decodeJwt(token).exp : undefined;
  return exp === undefined ? 2 ** 31 - 1 : exp * 1000 - Date.now();
}
