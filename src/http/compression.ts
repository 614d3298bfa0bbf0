/**
 * Answers over 1 KB compressed as the request's Accept-Encoding asks (@fastify/compress): JSON lists, the
 * OpenAPI document, pages and the web page's assets. An event stream never is (each event must leave
 * when it happens, not when a compressor's buffer fills), nor an answer already compressed (GraphiQL's
 * assets are, once). Request bodies are not decompressed: a compressed one stays a 415 (./../app.ts).
 */
import fastifyCompress from '@fastify/compress';
import type { FastifyInstance } from 'fastify';

/** What compressing costs and saves: bench/RESULTS.md, "Compression". */
export const COMPRESSION_ENCODINGS = ['br', 'gzip'] as const;

export async function useCompression(app: FastifyInstance): Promise<void> {
  await app.register(fastifyCompress, {
    encodings: [...COMPRESSION_ENCODINGS],
    threshold: 1024,
    globalDecompression: false,
  });
}
