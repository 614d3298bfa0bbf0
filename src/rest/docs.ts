/**
 * The API's documentation: the OpenAPI document at /openapi.json and Swagger UI at /docs, served from the
 * swagger-ui-dist package (no CDN).
 */
import { createRequire } from 'node:module';
import { dirname, join } from 'node:path';
import type { GraphQLSchema } from 'graphql';
import type { Plugin } from 'graphql-yoga';
import { useStaticFiles } from '../http/static-files.js';
import { createOpenApiDocument } from './openapi.js';

export const OPENAPI_PATH = '/openapi.json';
export const DOCS_PATH = '/docs';

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

const csp =
  "default-src 'none'; script-src 'self'; style-src 'self' 'unsafe-inline'; img-src 'self' data:; " +
  "connect-src 'self'; font-src 'self' data:; frame-ancestors 'none'; base-uri 'none'; form-action 'none'";

const swaggerFiles = ['swagger-ui-bundle.js', 'swagger-ui.css', 'favicon-32x32.png'];

/** Every path the documentation answers at. */
export const DOCS_PATHS = [OPENAPI_PATH, DOCS_PATH, `${DOCS_PATH}/`, `${DOCS_PATH}/swagger-initializer.js`, ...swaggerFiles.map((n) => `${DOCS_PATH}/${n}`)];

export function useApiDocs(schema: GraphQLSchema, version: string): Plugin {
  const document = JSON.stringify(createOpenApiDocument(schema, version));
  return useStaticFiles(
    [
      { urlPath: OPENAPI_PATH, source: { content: document }, contentType: 'application/json; charset=utf-8' },
      { urlPath: DOCS_PATH, source: { content: page }, contentType: 'text/html; charset=utf-8' },
      { urlPath: `${DOCS_PATH}/`, source: { content: page }, contentType: 'text/html; charset=utf-8' },
      { urlPath: `${DOCS_PATH}/swagger-initializer.js`, source: { content: initializer }, contentType: 'text/javascript; charset=utf-8' },
      ...swaggerFiles.map((name) => ({
        urlPath: `${DOCS_PATH}/${name}`,
        source: { file: join(swaggerDir, name) },
        cacheControl: 'public, max-age=86400',
      })),
    ],
    csp,
  );
}
