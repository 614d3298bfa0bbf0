/**
 * Answers over 1 KB compressed as the request's Accept-Encoding asks (@fastify/compress): JSON lists, the
 * OpenAPI document, pages and the web page's assets. An event stream never is (each event must leave
 * when it happens, not when a compressor's buffer fills), nor an answer already compressed (GraphiQL's
 * assets are, once). Request bodies are not decompressed: a compressed one stays a 415 (./../app.ts).
 */
import fastifyCompress from '@fastify/compress';
import type { FastifyInstance } from 'fastify';

/**
 * gzip first when a client takes both (every browser does): on a 10,000-task list brotli (quality 4)
 * cost 2.8 times gzip's extra CPU for 8 % fewer bytes (bench/RESULTS.md, "Issue 14"). A client that asks
 * for brotli alone, or ranks it higher, gets brotli.
 */
const COMPRESSION_ENCODINGS = ['gzip', 'br'] as const;

export async function useCompression(app: FastifyInstance): Promise<void> {
  await app.register(fastifyCompress, {
    encodings: [...COMPRESSION_ENCODINGS],
    threshold: 1024,
    globalDecompression: false,
  });
}
