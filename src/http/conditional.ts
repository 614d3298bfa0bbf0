/**
 * Entity tags and the conditional request headers (RFC 9110 §8.8.3, §13.1.1–2) as the task routes use
 * them. A task's ETag is its version (`"v3"`); a list's is its user's change counter (`"l17"`), which
 * moves with every change to any of their tasks. Both are opaque to clients.
 *
 * Written here rather than taken from a library: `fresh` (Express, @fastify/etag) answers only "is this
 * GET's If-None-Match a match", and the writes need If-Match's strong comparison turned into the versions
 * the update's WHERE may accept, so the check and the change are one statement.
 */
import { createHash } from 'node:crypto';
import { BadUserInputError } from '../errors.js';
import type { Precondition } from '../resolvers/context.js';

export const taskEtag = (version: number): string => `"v${version}"`;
/** The user is part of it, so no cache keyed by URL alone could take one user's list for another's. */
export const listEtag = (userId: string, changeCount: bigint): string =>
  `"l${changeCount}.${createHash('sha256').update(userId).digest('base64url').slice(0, 10)}"`;

interface EntityTag {
  weak: boolean;
  opaque: string;
}

/** One entity tag and the separator after it (RFC 9110 §8.8.3: the opaque part may hold commas). */
const ENTITY_TAG = /[ \t]*(W\/)?"([\x21\x23-\x7e\x80-\xff]*)"[ \t]*(?:,|$)/y;

/** `*` or a comma-separated list of `"…"` / `W/"…"`; anything else is undefined (malformed). */
function parseEntityTags(value: string): '*' | EntityTag[] | undefined {
  if (value.trim() === '*') return '*';
  const tags: EntityTag[] = [];
  ENTITY_TAG.lastIndex = 0;
  while (ENTITY_TAG.lastIndex < value.length) {
    const match = ENTITY_TAG.exec(value);
    if (!match) return undefined;
    tags.push({ weak: match[1] !== undefined, opaque: match[2] ?? '' });
  }
  return tags.length > 0 ? tags : undefined;
}

/**
 * A change's If-Match as the condition its update runs under: `*` passes for an existing task; a list
 * passes for the versions it names by strong comparison (a weak tag, or another resource's, matches none).
 */
export function ifMatchPrecondition(header: string | string[] | undefined): Precondition {
  if (header === undefined) return undefined;
  const tags = parseEntityTags(String(header));
  // Ignoring it would make the change unconditional: refused instead.
  if (tags === undefined) throw new BadUserInputError('If-Match must be * or a list of quoted entity tags, as in If-Match: "v3"');
  if (tags === '*') return 'any';
  const versions: number[] = [];
  for (const { weak, opaque } of tags) {
    // Exactly as taskEtag writes them: "v03" is not "v3".
    const match = /^v([1-9]\d{0,8})$/.exec(opaque);
    if (!weak && match) versions.push(Number(match[1]));
  }
  return { versions };
}

/** Whether a GET's If-None-Match names `etag` (weak comparison), so the answer is 304. A malformed one is ignored. */
export function noneMatch(header: string | string[] | undefined, etag: string): boolean {
  if (header === undefined) return false;
  const tags = parseEntityTags(String(header));
  return tags === '*' || (tags?.some(({ opaque }) => `"${opaque}"` === etag) ?? false);
}
