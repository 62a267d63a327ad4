/**
 * The principal assertion: a short-lived JWT the gateway signs for one subgraph (its audience),
 * carrying the principal it verified. Subgraphs accept nothing without one.
 */
import { SignJWT, jwtVerify, importJWK, type JWK, type CryptoKey } from 'jose';
import { isClassification, isNationCode } from './markings';
import type { Principal } from './principal';

export const ASSERTION_HEADER = 'sovgraph-assertion';
export const ASSERTION_ISSUER = 'sovgraph-gateway';
export const ASSERTION_ALGORITHM = 'EdDSA';
const DEFAULT_TTL_SECONDS = 60;

export interface AssertionSignerOptions {
  privateJwk: JWK;
  ttlSeconds?: number;
}

export type AssertionSigner = (principal: Principal, audience: string) => Promise<string>;

/**
 * Signs assertions, reusing one per (principal, audience) until half its lifetime is gone: the
 * same caller asking again costs a map lookup, not a signature.
 */
export async function createAssertionSigner(options: AssertionSignerOptions): Promise<AssertionSigner> {
  const key = (await importJWK(options.privateJwk, ASSERTION_ALGORITHM)) as CryptoKey;
  const ttl = options.ttlSeconds ?? DEFAULT_TTL_SECONDS;
  const cache = new Map<string, { token: string; renewAt: number }>();
  return async (principal, audience) => {
    const cacheKey = `${audience}\u0000${principalKey(principal)}`;
    const now = Date.now();
    const hit = cache.get(cacheKey);
    if (hit && hit.renewAt > now) return hit.token;
    const token = await new SignJWT({
      nation: principal.nation,
      clearance: principal.clearance,
      roles: principal.roles,
      communities: principal.communities,
    })
      .setProtectedHeader({ alg: ASSERTION_ALGORITHM, typ: 'sovgraph-assertion+jwt' })
      .setIssuer(ASSERTION_ISSUER)
      .setAudience(audience)
      .setSubject(principal.subject)
      .setIssuedAt()
      .setExpirationTime(`${ttl}s`)
      .sign(key);
    if (cache.size > 10_000) cache.clear();
    cache.set(cacheKey, { token, renewAt: now + (ttl * 1000) / 2 });
    return token;
  };
}

export interface AssertionVerifierOptions {
  publicJwk: JWK;
  /** This subgraph's name as the gateway addresses it, e.g. `sovgraph:FRA`. */
  audience: string;
}

export type AssertionVerifier = (token: string | undefined) => Promise<Principal>;

export class AssertionError extends Error {
  override readonly name = 'AssertionError';
}

/**
 * Verifies assertions (signature, algorithm, issuer, audience, expiry, claim shapes). Verified
 * tokens are remembered until they expire, so a busy caller is verified once, not per request.
 */
export async function createAssertionVerifier(options: AssertionVerifierOptions): Promise<AssertionVerifier> {
  const key = (await importJWK(options.publicJwk, ASSERTION_ALGORITHM)) as CryptoKey;
  const verified = new Map<string, { principal: Principal; expiresAt: number }>();
  return async (token) => {
    if (!token) throw new AssertionError('missing gateway assertion: this subgraph answers only the coalition gateway');
    const hit = verified.get(token);
    if (hit && hit.expiresAt > Date.now()) return hit.principal;
    let payload;
    try {
      ({ payload } = await jwtVerify(token, key, {
        algorithms: [ASSERTION_ALGORITHM],
        issuer: ASSERTION_ISSUER,
        audience: options.audience,
        requiredClaims: ['exp', 'sub'],
      }));
    } catch (error) {
      throw new AssertionError(`invalid gateway assertion: ${(error as Error).message}`);
    }
    const principal = principalFromClaims(payload);
    if (verified.size > 10_000) verified.clear();
    verified.set(token, { principal, expiresAt: (payload.exp as number) * 1000 });
    return principal;
  };
}

function principalFromClaims(claims: Record<string, unknown>): Principal {
  const { sub, nation, clearance, roles, communities } = claims;
  if (typeof sub !== 'string' || !isNationCode(nation) || !isClassification(clearance) || !isStringArray(roles) || !isStringArray(communities)) {
    throw new AssertionError('invalid gateway assertion: malformed principal claims');
  }
  return { subject: sub, nation, clearance, roles, communities };
}

function isStringArray(value: unknown): value is string[] {
  return Array.isArray(value) && value.every((v) => typeof v === 'string');
}

function principalKey(p: Principal): string {
  return [p.subject, p.nation, p.clearance, p.roles.join(','), p.communities.join(',')].join('\u0000');
}
