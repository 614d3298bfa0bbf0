/**
 * Serves a fixed set of files (Swagger UI, the built web page): only paths listed at start-up exist, so
 * nothing outside them can be reached, whatever the URL. Files are read once, on first request.
 */
import { readdirSync } from 'node:fs';
import { readFile } from 'node:fs/promises';
import { extname, join, relative, sep } from 'node:path';
import type { Plugin } from 'graphql-yoga';

export interface StaticFile {
  /** Where the file is served, e.g. `/docs/swagger-ui.css`. */
  urlPath: string;
  /** A file on disk, or the content itself. */
  source: { file: string } | { content: string };
  /** Defaults to one by the file's extension. */
  contentType?: string;
  /** Defaults to `no-cache` (revalidate every time). */
  cacheControl?: string;
}

const contentTypes: Record<string, string> = {
  '.html': 'text/html; charset=utf-8',
  '.js': 'text/javascript; charset=utf-8',
  '.css': 'text/css; charset=utf-8',
  '.json': 'application/json; charset=utf-8',
  '.png': 'image/png',
  '.svg': 'image/svg+xml',
  '.ico': 'image/x-icon',
  '.map': 'application/json; charset=utf-8',
};

/** Every file below `dir`, served below `prefix` (index.html also at the prefix itself). Empty if `dir` is missing. */
export function filesIn(dir: string, prefix: string): StaticFile[] {
  let entries;
  try {
    entries = readdirSync(dir, { recursive: true, withFileTypes: true });
  } catch {
    return [];
  }
  return entries
    .filter((entry) => entry.isFile())
    .flatMap((entry) => {
      const file = join(entry.parentPath, entry.name);
      const urlPath = `${prefix}${relative(dir, file).split(sep).join('/')}`;
      // Vite puts content-hashed names under assets/: they never change.
      const cacheControl = urlPath.includes('/assets/') ? 'public, max-age=31536000, immutable' : undefined;
      const served: StaticFile = { urlPath, source: { file }, cacheControl };
      return entry.name === 'index.html' ? [served, { ...served, urlPath: prefix }] : [served];
    });
}

export function useStaticFiles(files: StaticFile[], contentSecurityPolicy: string): Plugin {
  const byPath = new Map(files.map((f) => [f.urlPath, f]));
  const cache = new Map<string, Promise<Buffer | string>>();
  return {
    async onRequest({ request, url, endResponse, fetchAPI }) {
      const file = byPath.get(url.pathname);
      if (!file) return;
      if (request.method !== 'GET' && request.method !== 'HEAD') {
        return endResponse(new fetchAPI.Response(null, { status: 405, headers: { allow: 'GET, HEAD' } }));
      }
      let body = cache.get(file.urlPath);
      if (!body) {
        body = 'content' in file.source ? Promise.resolve(file.source.content) : readFile(file.source.file);
        cache.set(file.urlPath, body);
      }
      const type = file.contentType ?? contentTypes[extname('file' in file.source ? file.source.file : file.urlPath)];
      const headers = {
        'content-type': type ?? 'application/octet-stream',
        'cache-control': file.cacheControl ?? 'no-cache',
        'content-security-policy': contentSecurityPolicy,
      };
      const content = request.method === 'HEAD' ? null : await body;
      endResponse(new fetchAPI.Response(content as BodyInit | null, { status: 200, headers }));
    },
  };
}
