/**
 * `npm run token -- <user-id> [--expires-in 1h]`: prints an HS256 bearer token for local use, signed with the
 * same secret the server uses (BETTER_AUTH_SECRET, or the development secret in .data/).
 */
import { parseArgs } from 'node:util';
import { SignJWT } from 'jose';
import { EnvError, loadDotEnvFile, loadEnv } from '../src/env.js';

const { values, positionals } = parseArgs({
  allowPositionals: true,
  options: { 'expires-in': { type: 'string', default: '1h' } },
});
const userId = positionals[0];
if (!userId) {
  console.error('usage: npm run token -- <user-id> [--expires-in 1h]');
  process.exit(2);
}

loadDotEnvFile();
try {
  const { authSecret } = loadEnv();
  if (authSecret === undefined) {
    console.error('This server does not accept HS256 tokens (AUTH_JWKS_URL is set): get a token from Better Auth instead.');
    process.exit(1);
  }
  const token = await new SignJWT()
    .setProtectedHeader({ alg: 'HS256', typ: 'JWT' })
    .setSubject(userId)
    .setIssuedAt()
    .setExpirationTime(values['expires-in'])
    .sign(new TextEncoder().encode(authSecret));
  console.log(token);
} catch (error) {
  if (!(error instanceof EnvError)) throw error;
  console.error(error.message);
  process.exit(1);
}
