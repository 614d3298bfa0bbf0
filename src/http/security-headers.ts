/**
 * Response headers every answer carries: nothing may be sniffed, framed, cached or referred, and the API's
 * JSON may run no content. Pages that need more (GraphiQL, Swagger UI) set their own CSP, which is kept.
 */
import type { Plugin } from 'graphql-yoga';

/** For HTML no other plugin gave a policy: GraphiQL, whose page inlines its scripts and starts workers from blobs. */
const inlinePageCsp =
  "default-src 'none'; script-src 'self' 'unsafe-inline'; style-src 'self' 'unsafe-inline'; img-src 'self' data: blob:; " +
  "font-src 'self' data:; connect-src 'self'; worker-src blob:; frame-ancestors 'none'; base-uri 'none'; form-action 'none'";

const headers: Record<string, string> = {
  'content-security-policy': "default-src 'none'; frame-ancestors 'none'",
  'x-content-type-options': 'nosniff',
  'x-frame-options': 'DENY',
  'referrer-policy': 'no-referrer',
  'cache-control': 'no-store',
  'cross-origin-resource-policy': 'same-site',
  'strict-transport-security': 'max-age=63072000; includeSubDomains',
};

export function useSecurityHeaders(): Plugin {
  return {
    onResponse({ response }) {
      if (!response.headers.has('content-security-policy') && response.headers.get('content-type')?.startsWith('text/html')) {
        response.headers.set('content-security-policy', inlinePageCsp);
      }
      for (const [name, value] of Object.entries(headers)) {
        if (!response.headers.has(name)) response.headers.set(name, value);
      }
      response.headers.delete('x-powered-by');
      const vary = response.headers.get('vary');
      if (!vary?.toLowerCase().includes('origin')) response.headers.set('vary', vary ? `${vary}, Origin` : 'Origin');
    },
  };
}
