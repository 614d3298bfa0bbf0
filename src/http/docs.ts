/**
 * The API's documentation: the OpenAPI document at /openapi.json and Swagger UI at /docs, served from the
 * swagger-ui-dist package (no CDN).
 */
import { createRequire } from 'node:module';
import { dirname } from 'node:path';
import type { FastifyInstance } from 'fastify';
import { DOCS_PATH, OPENAPI_PATH } from '../paths.js';
import { pageCsp } from './security-headers.js';
import { serveFiles } from './static-files.js';

const swaggerDir = dirname(createRequire(import.meta.url).resolve('swagger-ui-dist/package.json'));

const page = `<!doctype html>
<html lang="en">
  <head>
    <meta charset="utf-8" />
    <title>Task API</title>
    <link rel="stylesheet" href="${DOCS_PATH}/swagger-ui.css" />
    <link rel="icon" type="image/png" href="${DOCS_PATH}/favicon-32x32.png" />
  </head>
  <body>
    <div id="swagger-ui"></div>
    <script src="${DOCS_PATH}/swagger-ui-bundle.js"></script>
    <script src="${DOCS_PATH}/swagger-initializer.js"></script>
  </body>
</html>
`;

const initializer = `window.ui = SwaggerUIBundle({
  url: '${OPENAPI_PATH}',
  dom_id: '#swagger-ui',
  deepLinking: true,
  validatorUrl: null,
  presets: [SwaggerUIBundle.presets.apis],
  layout: 'BaseLayout',
});
`;

const csp = pageCsp.docs;

const swaggerFiles = ['swagger-ui-bundle.js', 'swagger-ui.css', 'favicon-32x32.png'];

/** Serves `openApiDocument` (../rest/openapi.ts builds it from the route table) and Swagger UI over it. */
export async function useApiDocs(app: FastifyInstance, openApiDocument: object): Promise<void> {
  const document = JSON.stringify(openApiDocument);
  const inMemory: [path: string, contentType: string, content: string][] = [
    [OPENAPI_PATH, 'application/json; charset=utf-8', document],
    [DOCS_PATH, 'text/html; charset=utf-8', page],
    [`${DOCS_PATH}/`, 'text/html; charset=utf-8', page],
    [`${DOCS_PATH}/swagger-initializer.js`, 'text/javascript; charset=utf-8', initializer],
  ];
  for (const [path, contentType, content] of inMemory) {
    app.get(path, (_request, reply) =>
      reply.type(contentType).header('content-security-policy', csp).header('cache-control', 'no-cache').send(content),
    );
  }
  await serveFiles(app, {
    dir: swaggerDir,
    files: swaggerFiles.map((name) => ({ urlPath: `${DOCS_PATH}/${name}`, name })),
    cacheControl: 'public, max-age=86400',
    contentSecurityPolicy: csp,
  });
}
