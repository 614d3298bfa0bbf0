/**
 * GraphiQL as a small page and static files: @graphql-yoga/render-graphiql's bundle (its script, styles,
 * favicon and Monaco's three workers, 9 MB that its renderer inlines into every page) served under
 * content-hashed names, cached for good, each compressed once with gzip and brotli. The page starts with
 * no headers: the schema loads without a token (./introspection.ts), queries need one in the Headers tab.
 */
import { createHash } from 'node:crypto';
import { createRequire } from 'node:module';
import { dirname, join } from 'node:path';
import { pathToFileURL } from 'node:url';
import { promisify } from 'node:util';
import { Worker } from 'node:worker_threads';
import { brotliCompress, constants, gzip } from 'node:zlib';
import type { FastifyInstance, FastifyReply, FastifyRequest } from 'fastify';
import { NotFoundError } from '../errors.js';
import { noneMatch } from '../http/conditional.js';
import { pageCsp } from '../http/security-headers.js';

const graphiqlCsp = pageCsp.graphiql;

const IMMUTABLE = 'public, max-age=31536000, immutable';
/** Brotli's quality 6 takes ~0.4 s for the whole bundle, 11 (the default) ~15 s for 11% less. */
const BROTLI_QUALITY = 6;

type Encoding = 'br' | 'gzip';
const compressors: Record<Encoding, (body: Buffer) => Promise<Buffer>> = {
  br: (body) =>
    promisify(brotliCompress)(body, {
      params: {
        [constants.BROTLI_PARAM_QUALITY]: BROTLI_QUALITY,
        [constants.BROTLI_PARAM_SIZE_HINT]: body.length,
      },
    }),
  gzip: (body) => promisify(gzip)(body),
};

interface Asset {
  type: string;
  body: Buffer;
  hash: string;
  /** Each encoding made on its first request, then kept. */
  encoded: Partial<Record<Encoding, Promise<Buffer>>>;
}

export interface GraphiQLOptions {
  /** Where GraphQL is served; the page is served there too, its files below `${endpoint}/assets/`. */
  endpoint: string;
  title: string;
  defaultQuery: string;
}

export interface GraphiQL {
  /** The page, for a browser's GET of the endpoint. */
  sendPage(request: FastifyRequest, reply: FastifyReply): Promise<FastifyReply>;
}

const SOURCE_NAMES = ['js', 'css', 'favicon', 'editorWorkerService', 'jsonWorker', 'graphqlWorker'] as const;
type Sources = Record<(typeof SOURCE_NAMES)[number], Buffer>;

/** Registers the asset route; the bundle is read on the first request for the page or a file. */
export function useGraphiQL(app: FastifyInstance, options: GraphiQLOptions): GraphiQL {
  const assetsPath = `${options.endpoint}/assets/`;
  let built: Promise<{ page: Buffer; pageEtag: string; assets: Map<string, Asset> }> | undefined;
  const build = () => {
    if (built === undefined) {
      built = readSources().then((sources) => buildFiles(sources, assetsPath, options));
      // A failure is not kept: the next request tries again.
      built.catch(() => (built = undefined));
    }
    return built;
  };

  app.get<{ Params: { name: string } }>(`${assetsPath}:name`, async (request, reply) => {
    const asset = (await build()).assets.get(request.params.name);
    if (asset === undefined) throw new NotFoundError('Not Found');
    const encoding = preferredEncoding(request.headers['accept-encoding']);
    const etag = encoding === undefined ? `"${asset.hash}"` : `"${asset.hash}.${encoding}"`;
    reply
      .header('content-type', asset.type)
      .header('cache-control', IMMUTABLE)
      .header('content-security-policy', graphiqlCsp)
      .header('etag', etag);
    addVary(reply, 'Accept-Encoding');
    if (noneMatch(request.headers['if-none-match'], etag)) return reply.code(304).send();
    if (encoding === undefined) return reply.send(asset.body);
    const body = await (asset.encoded[encoding] ??= compressors[encoding](asset.body));
    return reply.header('content-encoding', encoding).send(body);
  });

  return {
    async sendPage(request, reply) {
      const { page, pageEtag } = await build();
      reply
        .type('text/html; charset=utf-8')
        .header('cache-control', 'no-cache')
        .header('content-security-policy', graphiqlCsp)
        .header('etag', pageEtag);
      // The same URL answers GraphQL to other clients.
      addVary(reply, 'Accept');
      if (noneMatch(request.headers['if-none-match'], pageEtag)) return reply.code(304).send();
      return reply.send(page);
    },
  };
}

/** The bundle's strings as bytes, read in a worker thread: parsing the 9 MB module takes ~0.5 s. */
async function readSources(): Promise<Sources> {
  const main = createRequire(import.meta.url).resolve('@graphql-yoga/render-graphiql');
  const url = pathToFileURL(join(dirname(main), 'graphiql.js')).href;
  const code = `
    const { parentPort, workerData } = require('node:worker_threads');
    import(workerData.url).then((bundle) => {
      const sources = {};
      for (const name of workerData.names) sources[name] = new TextEncoder().encode(bundle[name]);
      parentPort.postMessage(sources, Object.values(sources).map((bytes) => bytes.buffer));
    });`;
  const worker = new Worker(code, { eval: true, workerData: { url, names: SOURCE_NAMES } });
  try {
    const sources = await new Promise<Record<string, Uint8Array>>((resolve, reject) => {
      worker.once('message', resolve);
      worker.once('error', reject);
      worker.once('exit', (code) => reject(new Error(`GraphiQL bundle reader exited (${code})`)));
    });
    const bytes = (name: string) => {
      const source = sources[name];
      if (!(source instanceof Uint8Array)) throw new Error(`@graphql-yoga/render-graphiql has no ${name}`);
      return Buffer.from(source.buffer, source.byteOffset, source.byteLength);
    };
    return Object.fromEntries(SOURCE_NAMES.map((name) => [name, bytes(name)])) as Sources;
  } finally {
    await worker.terminate();
  }
}

function buildFiles(sources: Sources, assetsPath: string, options: GraphiQLOptions) {
  const assets = new Map<string, Asset>();
  const add = (stem: string, extension: string, type: string, body: Buffer) => {
    const hash = createHash('sha256').update(body).digest('base64url').slice(0, 12);
    const name = `${stem}.${hash}.${extension}`;
    assets.set(name, { type, body, hash, encoded: {} });
    return `${assetsPath}${name}`;
  };
  const script = 'text/javascript; charset=utf-8';
  const favicon = /^data:image\/x-icon;base64,(.*)$/s.exec(sources.favicon.toString('latin1'))?.[1];
  if (favicon === undefined) throw new Error('@graphql-yoga/render-graphiql: the favicon is not a base64 data: URL');
  const workers = {
    editorWorkerService: add('editor.worker', 'js', script, sources.editorWorkerService),
    json: add('json.worker', 'js', script, sources.jsonWorker),
    graphql: add('graphql.worker', 'js', script, sources.graphqlWorker),
  };
  const graphiqlOptions = { title: options.title, endpoint: options.endpoint, headers: '{}', defaultQuery: options.defaultQuery };
  // What render-graphiql's page runs inline: Monaco's workers from our files instead of blob: URLs.
  const setup = `'use strict';
{
  const workers = ${JSON.stringify(workers)};
  self.MonacoEnvironment = { globalAPI: false, getWorkerUrl: (_moduleId, label) => workers[label] };
  document.addEventListener('DOMContentLoaded', () => {
    YogaGraphiQL.renderYogaGraphiQL(document.querySelector('#root'), ${JSON.stringify(graphiqlOptions)});
  });
}
`;
  const setupUrl = add('setup', 'js', script, Buffer.from(setup));
  const scriptUrl = add('graphiql', 'js', script, sources.js);
  const styleUrl = add('graphiql', 'css', 'text/css; charset=utf-8', sources.css);
  const faviconUrl = add('favicon', 'ico', 'image/x-icon', Buffer.from(favicon, 'base64'));
  // Deferred scripts run in order, before DOMContentLoaded: the setup, the bundle, then the render.
  const page = Buffer.from(`<!doctype html>
<html lang="en">
  <head>
    <meta charset="utf-8" />
    <title>${escapeHtml(options.title)}</title>
    <link rel="icon" href="${faviconUrl}" />
    <link rel="stylesheet" href="${styleUrl}" />
    <script defer src="${setupUrl}"></script>
    <script defer src="${scriptUrl}"></script>
  </head>
  <body id="body" class="no-focus-outline">
    <noscript>You need to enable JavaScript to run GraphiQL.</noscript>
    <div id="root"></div>
  </body>
</html>
`);
  const pageEtag = `"${createHash('sha256').update(page).digest('base64url').slice(0, 12)}"`;
  return { page, pageEtag, assets };
}

/**
 * The encoding to send: brotli over gzip when the request accepts both (RFC 9110 §12.5.3: `q=0` refuses
 * one, `*` stands for any not named); none (identity) when it accepts neither. Not @fastify/accept-negotiator
 * (what @fastify/compress uses): it answers `*, br;q=0` with br, the one coding the client refused.
 */
export function preferredEncoding(header: string | undefined): Encoding | undefined {
  if (header === undefined) return undefined;
  const weights = new Map<string, number>();
  for (const part of header.split(',')) {
    const [coding = '', ...parameters] = part.split(';').map((piece) => piece.trim().toLowerCase());
    const q = parameters.find((parameter) => parameter.startsWith('q='));
    const weight = q === undefined ? 1 : Number(q.slice(2));
    if (coding !== '') weights.set(coding, Number.isFinite(weight) ? weight : 0);
  }
  const weightOf = (coding: Encoding) => weights.get(coding) ?? weights.get('*') ?? 0;
  const best = weightOf('gzip') > weightOf('br') ? 'gzip' : 'br';
  return weightOf(best) > 0 ? best : undefined;
}

function addVary(reply: FastifyReply, field: string): void {
  const vary = reply.getHeader('vary');
  reply.header('vary', vary === undefined ? field : `${String(vary)}, ${field}`);
}

function escapeHtml(text: string): string {
  return text.replace(/[&<>"']/g, (character) => `&#${character.charCodeAt(0)};`);
}
