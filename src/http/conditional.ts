/**
 * Entity tags and the conditional request headers (RFC 9110 §8.8.3, §13.1.1–2) as the task routes use
 * them. A task's ETag is its version (`"v3"`); a list's is its user's change counter (`"l17"`), which
 * moves with every change to any of their tasks. Both are opaque to clients.
 *
 * Written here rather than taken from a library: `fresh` (Express, @fastify/etag) answers only "is this
 * GET's If-None-Match a match", and the writes need If-Match's strong comparison turned into the versions
 * the update's WHERE may accept, so the check and the change are one statement.
 */
import { BadUserInputError } from '../errors.js';
import type { Precondition } from '../resolvers/task.js';

export const taskEtag = (version: number): string => `"v${version}"`;
export const listEtag = (changeCount: bigint): string => `"l${changeCount}"`;

interface EntityTag {
  weak: boolean;
  opaque: string;
}

/** `*` or a comma-separated list of `"…"` / `W/"…"`; anything else is a 400 rather than a silent mismatch. */
function parseEntityTags(value: string, header: string): '*' | EntityTag[] {
  if (value.trim() === '*') return '*';
  const tags: EntityTag[] = [];
  for (const item of value.split(',')) {
    const part = item.trim();
    if (part === '') continue;
    const match = /^(W\/)?"([\x21\x23-\x7e\x80-\xff]*)"$/.exec(part);
    if (!match) throw new BadUserInputError(`${header} must be * or a list of quoted entity tags, as in ${header}: "v3"`);
    tags.push({ weak: match[1] !== undefined, opaque: match[2] ?? '' });
  }
  if (tags.length === 0) throw new BadUserInputError(`${header} must be * or a list of quoted entity tags, as in ${header}: "v3"`);
  return tags;
}

/**
 * A change's If-Match as the condition its update runs under: `*` passes for an existing task; a list
 * passes for the versions it names by strong comparison (a weak tag, or another resource's, matches none).
 */
export function ifMatchPrecondition(header: string | string[] | undefined): Precondition {
  if (header === undefined) return undefined;
  const tags = parseEntityTags(String(header), 'If-Match');
  if (tags === '*') return 'any';
  const versions: number[] = [];
  for (const { weak, opaque } of tags) {
    const match = /^v(\d{1,9})$/.exec(opaque);
    if (!weak && match) versions.push(Number(match[1]));
  }
  return { versions };
}

/** Whether a GET's If-None-Match names `etag` (weak comparison), so the answer is 304. */
export function noneMatch(header: string | string[] | undefined, etag: string): boolean {
  if (header === undefined) return false;
  const tags = parseEntityTags(String(header), 'If-None-Match');
  return tags === '*' || tags.some(({ opaque }) => `"${opaque}"` === etag);
}
