/**
 * Idempotency-Key on /graphql (../idempotency.ts has the rules): a Yoga plugin around execution, on the
 * document Yoga has parsed and validated (under GraphQL Armor's limits). A POST with a key whose operation
 * is a mutation opens the key's run before it executes:
 * - a stored answer (a retry) or a refusal (409 in progress, 422 reused) stops execution, and the route
 *   (./route.ts) sends that instead of Yoga's answer;
 * - otherwise the resolvers write in the key's transaction (the context's `prisma`), and once Yoga has
 *   serialised its answer, that answer is stored beside the writes and all of it committed, if the
 *   mutation did something (a 200 with a field that is not null); if it did nothing (its data all null:
 *   a field that wrote before another failed is undone too), everything is rolled back and the answer
 *   goes out unstored. An answer that is not JSON (an event stream, multipart) cannot be stored whole: it
 *   is rolled back and refused (400).
 * A query with a key runs as any other (keys are for changes), and a request Yoga refuses before executing
 * (unparsable, invalid) opens nothing. The route settles every run it opened, whatever happened to Yoga.
 */
import { OperationTypeNode, getOperationAST, type DocumentNode, type ExecutionResult } from 'graphql';
import type { Plugin } from 'graphql-yoga';
import type { FastifyReply, FastifyRequest } from 'fastify';
import type { Context } from '../resolvers/context.js';
import type { PrismaClient } from '../db/client.js';
import { BadUserInputError, JSON_TYPE, graphqlErrorBody } from '../errors.js';
import { beginKeyedRun, fingerprintOf, idempotencyKeyOf, type OpenKeyedRun, type StoredResponse } from '../idempotency.js';

/** What ./route.ts hands Yoga with each request. */
export interface ServerContext {
  req: FastifyRequest;
  reply: FastifyReply;
}

/** What a keyed mutation answers instead of Yoga: a response to send, or an error to answer with. */
export type KeyedAnswer = { response: StoredResponse; replayed: boolean } | { error: unknown };

export interface IdempotentMutations {
  plugin: Plugin<ServerContext & Context, ServerContext>;
  /** The answer to send for this request instead of Yoga's, when it was a keyed mutation. */
  answerOf(request: FastifyRequest): KeyedAnswer | undefined;
  /** Rolls back the request's run if it is still open (Yoga failed, or never answered); call once Yoga is done. */
  settle(request: FastifyRequest): Promise<void> | undefined;
}

interface KeyedMutation {
  /** The key's transaction, open until the answer is stored or rolled back. */
  run?: OpenKeyedRun;
  /** Whether execution left some top-level field not null (something was done). */
  madeChanges: boolean;
  answer?: KeyedAnswer;
}

/** Yoga's JSON answers; an event stream or multipart answer is not one. */
const JSON_ANSWER = /^application\/(graphql-response\+)?json/;
/** The result of an execution stopped for a stored answer or a refusal; Yoga's answer to it is not sent. */
const STOPPED: ExecutionResult = { data: null };

export function useIdempotentMutations({ prisma, ttlMs }: { prisma: PrismaClient; ttlMs: number }): IdempotentMutations {
  const keyed = new WeakMap<FastifyRequest, KeyedMutation>();

  const plugin: Plugin<ServerContext & Context, ServerContext> = {
    onExecute({ args, extendContext, setResultAndStopExecution }) {
      const request = args.contextValue.req;
      if (request.method !== 'POST') return;
      // Checked (a malformed key is a 400) by the route before Yoga saw the request.
      const key = idempotencyKeyOf(request.headers);
      if (key === undefined) return;
      const operation = getOperationAST(args.document as DocumentNode, args.operationName as string | null | undefined);
      if (operation?.operation !== OperationTypeNode.MUTATION) return;
      const mutation: KeyedMutation = { madeChanges: false };
      keyed.set(request, mutation);
      const fingerprint = fingerprintOf(request.method, request.url, request.rawBody);
      return beginKeyedRun(prisma, { userId: request.userId ?? '', key, fingerprint, ttlMs }).then(
        (run) => {
          if (run.replay) {
            mutation.answer = { response: run.replay, replayed: true };
            setResultAndStopExecution(STOPPED);
            return undefined;
          }
          mutation.run = run;
          extendContext({ prisma: run.transaction });
          return {
            onExecuteDone({ result }) {
              mutation.madeChanges = madeChanges(result);
            },
          };
        },
        (error: unknown) => {
          mutation.answer = { error };
          setResultAndStopExecution(STOPPED);
        },
      );
    },
    onResponse({ serverContext, response }) {
      const mutation = keyed.get(serverContext.req);
      if (mutation?.run === undefined) return;
      return finish(mutation, mutation.run, response);
    },
  };

  return {
    plugin,
    answerOf: (request) => keyed.get(request)?.answer,
    settle: (request) => keyed.get(request)?.run?.abandon(),
  };
}

/** Ends a live keyed mutation's run with Yoga's serialised answer: stored and committed, or rolled back. */
async function finish(mutation: KeyedMutation, run: OpenKeyedRun, response: Response): Promise<void> {
  const type = response.headers.get('content-type') ?? '';
  const body = await response.text();
  if (!JSON_ANSWER.test(type)) {
    await run.abandon();
    const error = new BadUserInputError('A request with an Idempotency-Key is answered as JSON: send Accept: application/json');
    mutation.answer = { response: { status: 400, headers: { 'content-type': JSON_TYPE }, body: graphqlErrorBody(error) }, replayed: false };
    return;
  }
  // Yoga's headers go out with its answer (a 503's Retry-After); only the answer's type is stored and replayed.
  const headers: Record<string, string> = {};
  response.headers.forEach((value, name) => {
    if (name.toLowerCase() !== 'content-length') headers[name.toLowerCase()] = value;
  });
  const stored: StoredResponse = { status: response.status, headers: { 'content-type': type }, body };
  try {
    await run.finish({ response: stored, store: response.status === 200 && mutation.madeChanges });
    mutation.answer = { response: { ...stored, headers: { ...headers, ...stored.headers } }, replayed: false };
  } catch (error) {
    // The commit failed, and nothing was written. A write conflict or deadlock is answered as the database
    // being unavailable is (../errors.ts: 503 with Retry-After), and the client retries with its key; the
    // mutation is not run again here, as the resolvers ran once already, inside Yoga.
    mutation.answer = { error };
  }
}

/** Whether a mutation's result has data from at least one of its fields (so something was written). */
function madeChanges(result: unknown): boolean {
  const { data } = result as ExecutionResult;
  // `!= null`: what JSON would say (a field left undefined is not in the answer).
  return data != null && Object.values(data).some((value) => value != null);
}
