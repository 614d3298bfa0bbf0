/**
 * `npm run token -- <user-id> [--expires-in 1h]`: prints an HS256 bearer token for local use, signed with the
 * same secret the server uses (BETTER_AUTH_SECRET, or the development secret in .data/), with the issuer,
 * audience and type the server pins (AUTH_ISSUER, AUTH_AUDIENCE, AUTH_TOKEN_TYPE) when they are set.
 */
import { parseArgs } from 'node:util';
import { SignJWT } from 'jose';
import { loadEnvOrExit } from '../src/env.js';

const { values, positionals } = parseArgs({
  allowPositionals: true,
  options: { 'expires-in': { type: 'string', default: '1h' } },
});
const userId = positionals[0];
if (!userId) {
  console.error('usage: npm run token -- <user-id> [--expires-in 1h]');
  process.exit(2);
}

const { hs256 } = loadEnvOrExit().auth;
if (hs256 === undefined) {
  console.error('This server does not accept HS256 tokens (AUTH_JWKS_URL is set): get a token from Better Auth instead.');
  process.exit(1);
}
const jwt = new SignJWT()
  .setProtectedHeader({ alg: 'HS256', typ: hs256.type ?? 'JWT' })
  .setSubject(userId)
  .setIssuedAt()
  .setExpirationTime(values['expires-in']);
if (hs256.issuer !== undefined) jwt.setIssuer(hs256.issuer);
if (hs256.audience !== undefined) jwt.setAudience(hs256.audience);
console.log(await jwt.sign(new TextEncoder().encode(hs256.secret)));
