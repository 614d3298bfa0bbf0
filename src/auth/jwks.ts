/**
 * The issuer's public keys, fetched from its JWKS endpoint (Better Auth: /api/auth/jwks) and kept.
 *
 * jose's createRemoteJWKSet is close, but when the endpoint is down it blocks every request once the cache
 * is stale (so keys already fetched stop working) and refetches for every unknown `kid` after its cooldown,
 * measured from the last *success*. Here: keys once fetched keep working; staleness triggers a refresh in
 * the background; every fetch attempt, failed or not, starts the cooldown; a key we cannot look up because
 * the endpoint is failing is a 503, never a hang.
 */
import { context, propagation } from '@opentelemetry/api';
import { createLocalJWKSet, errors, type JSONWebKeySet, type JWTHeaderParameters, type KeyObject } from 'jose';
import { ServiceUnavailableError } from '../errors.js';

export interface JwksOptions {
  url: URL;
  /** Abort a fetch after this many milliseconds. */
  timeoutMs?: number;
  /** After any fetch attempt, do not start another for this many milliseconds. */
  cooldownMs?: number;
  /** Refresh keys older than this many milliseconds (in the background). */
  maxAgeMs?: number;
}

type KeyLookup = ReturnType<typeof createLocalJWKSet>;
type Key = CryptoKey | KeyObject;

export class JwksKeyStore {
  private readonly timeoutMs: number;
  private readonly cooldownMs: number;
  private readonly maxAgeMs: number;
  private lookup: KeyLookup | undefined;
  private fetchedAt = Number.NEGATIVE_INFINITY;
  private attemptedAt = Number.NEGATIVE_INFINITY;
  private lastAttemptFailed = false;
  private pending: Promise<void> | undefined;

  constructor(private readonly options: JwksOptions) {
    this.timeoutMs = options.timeoutMs ?? 3_000;
    this.cooldownMs = options.cooldownMs ?? 30_000;
    this.maxAgeMs = options.maxAgeMs ?? 10 * 60_000;
  }

  /** jose's key-resolver signature: the key for this token's header. */
  readonly getKey = async (header: JWTHeaderParameters): Promise<Key> => {
    if (this.keys() === undefined) await this.refreshWithinCooldown();
    else if (Date.now() - this.fetchedAt > this.maxAgeMs) void this.refreshWithinCooldown();
    const keys = this.keys();
    if (keys === undefined) throw new ServiceUnavailableError('Token keys are unavailable; try again shortly');
    try {
      return await keys(header);
    } catch (error) {
      if (!(error instanceof errors.JWKSNoMatchingKey)) throw error;
      // Perhaps the issuer rotated its keys: look again, at most once per cooldown.
      await this.refreshWithinCooldown();
      try {
        return await (this.keys() ?? keys)(header);
      } catch (retryError) {
        if (retryError instanceof errors.JWKSNoMatchingKey && this.lastAttemptFailed) {
          throw new ServiceUnavailableError('Token keys are unavailable; try again shortly');
        }
        throw retryError;
      }
    }
  };

  /** The current key set (a call, so the compiler does not assume it is unchanged across an await). */
  private keys(): KeyLookup | undefined {
    return this.lookup;
  }

  /** Fetches the key set unless an attempt is under way (then waits for it) or was made within the cooldown. */
  private async refreshWithinCooldown(): Promise<void> {
    if (this.pending) return this.pending;
    if (Date.now() - this.attemptedAt < this.cooldownMs) return;
    this.attemptedAt = Date.now();
    this.pending = this.fetchKeySet()
      .then((jwks) => {
        this.lookup = createLocalJWKSet(jwks);
        this.fetchedAt = Date.now();
        this.lastAttemptFailed = false;
      })
      .catch(() => {
        this.lastAttemptFailed = true;
      })
      .finally(() => {
        this.pending = undefined;
      });
    return this.pending;
  }

  private async fetchKeySet(): Promise<JSONWebKeySet> {
    const headers: Record<string, string> = { accept: 'application/jwk-set+json, application/json' };
    // The trace of the request that needed the keys goes on to the issuer (a no-op with tracing off).
    propagation.inject(context.active(), headers);
    const response = await fetch(this.options.url, {
      headers,
      redirect: 'error',
      signal: AbortSignal.timeout(this.timeoutMs),
    });
    if (response.status !== 200) throw new Error(`JWKS endpoint answered ${response.status}`);
    const body = (await response.json()) as unknown;
    if (!body || typeof body !== 'object' || !Array.isArray((body as JSONWebKeySet).keys)) {
      throw new Error('JWKS endpoint did not return a key set');
    }
    return body as JSONWebKeySet;
  }
}
