/**
 * Bearer-token authentication: the one place that decides who a request is from.
 *
 * Two independent paths, chosen by the token's `alg` and never accepting each other's algorithms:
 * - JWKS: asymmetric signatures (Better Auth's JWT plugin signs EdDSA) checked against the issuer's public
 *   keys, with issuer and audience always pinned;
 * - shared secret: HS256 with BETTER_AUTH_SECRET, pinned to issuer/audience/typ when those are configured.
 */
import { decodeProtectedHeader, errors, jwtVerify, type JWTPayload, type JWTVerifyOptions } from 'jose';
import { AppError, UnauthenticatedError } from '../errors.js';
import { JwksKeyStore } from './jwks.js';

/** Longest `Authorization` value we will look at; real tokens are well under 2 KB. */
const MAX_AUTHORIZATION_LENGTH = 8192;
/** Seconds of clock skew allowed on `exp`, `nbf` and `iat`. */
const CLOCK_TOLERANCE_SECONDS = 5;

export const ASYMMETRIC_ALGORITHMS = ['EdDSA', 'ES256', 'ES384', 'ES512', 'RS256', 'RS384', 'RS512', 'PS256', 'PS384', 'PS512'] as const;
export type AsymmetricAlgorithm = (typeof ASYMMETRIC_ALGORITHMS)[number];

/** Claims every accepted token is pinned to, when set. */
export interface TokenPins {
  issuer?: string | undefined;
  audience?: string | undefined;
  /** Required `typ` header value, compared case-insensitively. */
  type?: string | undefined;
}

export interface AuthConfig {
  /** Shared-secret path: HS256 only. */
  hs256?: (TokenPins & { secret: string }) | undefined;
  /** Public-key path: the asymmetric algorithms listed, keys from the JWKS URL. */
  jwks?:
    | (TokenPins & {
        url: URL;
        algorithms: readonly AsymmetricAlgorithm[];
        issuer: string;
        audience: string;
        /** Key-store timings (see JwksKeyStore); defaults suit production. */
        timeoutMs?: number;
        cooldownMs?: number;
        maxAgeMs?: number;
      })
    | undefined;
}

/**
 * Resolves to the user id (`sub`) of a valid bearer token; rejects with `UnauthenticatedError` (or a 503
 * when keys are unreachable). `beforeVerifying` runs first whenever the answer is not already known (a
 * token verified a moment ago): the place for a limit on what unproven requests may cost.
 */
export type VerifyBearer = (authorization: string | null, beforeVerifying?: () => Promise<void>) => Promise<string>;

/**
 * A verified token is remembered this long at most (and never past its `exp`): jose's WebCrypto verify was
 * the dearest step of a small request (bench/RESULTS.md), and clients send the same token many times.
 */
const VERIFIED_TOKEN_TTL_MS = 60_000;
/** Most verified tokens remembered at once; the oldest is forgotten first. */
const VERIFIED_TOKEN_CACHE_SIZE = 10_000;

const BEARER = /^Bearer +([A-Za-z0-9\-._~+/]+=*) *$/i;
/** Header parameters that point at keys chosen by the token's author; we only trust our own. */
const FORBIDDEN_HEADERS = ['jku', 'x5u', 'jwk', 'x5c'] as const;

export function createBearerVerifier(config: AuthConfig): VerifyBearer {
  // Imported once: jose would import raw key bytes again on every verification.
  const hs256 = config.hs256 && {
    key: crypto.subtle.importKey('raw', new TextEncoder().encode(config.hs256.secret), { name: 'HMAC', hash: 'SHA-256' }, false, [
      'verify',
    ]),
    options: verifyOptions(['HS256'], config.hs256),
  };
  const jwks = config.jwks && {
    store: new JwksKeyStore(config.jwks),
    algorithms: new Set<string>(config.jwks.algorithms),
    options: verifyOptions(config.jwks.algorithms, config.jwks),
  };
  if (!hs256 && !jwks) throw new Error('No token verification configured');
  // Exact token string → subject. Only successes are kept, so nothing about a bad token is remembered;
  // a key withdrawn from the JWKS stops working for its tokens within the TTL.
  const verified = new Map<string, { sub: string; until: number }>();

  return async (authorization, beforeVerifying) => {
    const match = authorization !== null && authorization.length <= MAX_AUTHORIZATION_LENGTH ? BEARER.exec(authorization) : null;
    const token = match?.[1];
    const known = token === undefined ? undefined : verified.get(token);
    if (known && Date.now() < known.until) return known.sub;
    await beforeVerifying?.();
    // No bearer credentials at all (RFC 6750 §3.1: then the challenge carries no error code).
    if (authorization === null || !/^Bearer(\s|$)/i.test(authorization)) throw new UnauthenticatedError();
    if (!token) throw invalidToken();
    if (known) verified.delete(token);
    try {
      const header = decodeProtectedHeader(token);
      if (FORBIDDEN_HEADERS.some((name) => name in header)) throw invalidToken();
      let payload: JWTPayload;
      if (header.alg === 'HS256' && hs256) {
        ({ payload } = await jwtVerify(token, await hs256.key, hs256.options));
      } else if (jwks && typeof header.alg === 'string' && jwks.algorithms.has(header.alg)) {
        ({ payload } = await jwtVerify(token, jwks.store.getKey, jwks.options));
      } else {
        throw invalidToken();
      }
      const sub = subjectOf(payload);
      remember(verified, token, sub, payload.exp);
      return sub;
    } catch (error) {
      if (error instanceof AppError) throw error;
      if (error instanceof errors.JOSEError || error instanceof TypeError) throw invalidToken();
      throw error;
    }
  };
}

function remember(verified: Map<string, { sub: string; until: number }>, token: string, sub: string, exp: number | undefined): void {
  if (exp === undefined) return;
  // A Map iterates in insertion order: its first key is the oldest.
  const oldest = verified.size >= VERIFIED_TOKEN_CACHE_SIZE ? verified.keys().next().value : undefined;
  if (oldest !== undefined) verified.delete(oldest);
  // jose accepts a token until exp + tolerance; so does the cache, and never longer than the TTL.
  verified.set(token, { sub, until: Math.min((exp + CLOCK_TOLERANCE_SECONDS) * 1000, Date.now() + VERIFIED_TOKEN_TTL_MS) });
}

function verifyOptions(algorithms: readonly string[], pins: TokenPins): JWTVerifyOptions {
  return {
    algorithms: [...algorithms],
    requiredClaims: ['exp', 'sub'],
    clockTolerance: CLOCK_TOLERANCE_SECONDS,
    ...(pins.issuer !== undefined && { issuer: pins.issuer }),
    ...(pins.audience !== undefined && { audience: pins.audience }),
    ...(pins.type !== undefined && { typ: pins.type }),
  };
}

function subjectOf(payload: JWTPayload): string {
  const now = Math.floor(Date.now() / 1000);
  // jose checks iat only together with a maximum age; a token issued in the future is forged or mis-clocked.
  if (typeof payload.iat === 'number' && payload.iat > now + CLOCK_TOLERANCE_SECONDS) throw invalidToken();
  if (typeof payload.sub !== 'string' || !isWellFormedSubject(payload.sub)) throw invalidToken();
  return payload.sub;
}

/** Longest user id accepted, in bytes of UTF-8: it is stored and indexed with every task. */
const MAX_SUBJECT_BYTES = 255;
/** C0 controls, DEL and C1 controls (Unicode's Cc): no identity needs them, and NUL cannot be stored at all. */
const CONTROL_CHARACTER = /\p{Cc}/u;

/**
 * A `sub` is one user only if it survives storage unchanged: an unpaired surrogate would become U+FFFD in
 * UTF-8 (so `v\uD800` and `v\uDFFF` would be the same user), NUL is refused by PostgreSQL, and a very long
 * one does not fit the index.
 */
function isWellFormedSubject(sub: string): boolean {
  return (
    sub.trim() !== '' &&
    sub.isWellFormed() &&
    !CONTROL_CHARACTER.test(sub) &&
    (sub.length <= MAX_SUBJECT_BYTES / 3 || Buffer.byteLength(sub, 'utf8') <= MAX_SUBJECT_BYTES)
  );
}

function invalidToken(): UnauthenticatedError {
  return new UnauthenticatedError('Invalid or expired token', 'Bearer error="invalid_token"');
}
