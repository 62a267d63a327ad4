/**
 * Who may vouch for whom. Each national identity provider is trusted for exactly one nation: a
 * French issuer cannot mint a German principal. Tokens are verified with jose against the issuer's
 * keys, an algorithm allow-list, the gateway's audience, an expiry, and an issue time that is
 * neither in the future nor further back than the maximum token lifetime.
 */
import { createLocalJWKSet, createRemoteJWKSet, decodeJwt, jwtVerify, type JSONWebKeySet, type JWTPayload, type JWTVerifyGetKey } from 'jose';
import { isClassification, isNationCode, type Principal } from '../../policies';

export interface TrustedIssuer {
  /** The `iss` claim the provider puts in its tokens. */
  issuer: string;
  /** The one nation this provider may vouch for. */
  nation: string;
  /** Its public keys, inline… */
  jwks?: JSONWebKeySet;
  /** …or where to fetch them. */
  jwksUri?: string;
}

export interface TrustStoreConfig {
  /** The `aud` every token must name. */
  audience: string;
  /** Accepted signature algorithms; anything else (`none` included) is refused. */
  algorithms: string[];
  issuers: TrustedIssuer[];
  /** Coalition communities and their member nations: membership is the coalition's word, not the token's. */
  communities: Record<string, string[]>;
  clockToleranceSeconds?: number;
  /**
   * The longest a token may live: both its declared lifetime (`exp - iat`) and its age (now - `iat`)
   * are refused beyond it, so every token must carry `iat` (default 12 hours).
   */
  maxTokenLifetimeSeconds?: number;
}

export const DEFAULT_MAX_TOKEN_LIFETIME_SECONDS = 12 * 60 * 60;
const DEFAULT_CLOCK_TOLERANCE_SECONDS = 30;
/** Verified tokens kept so a busy client is not re-verified on every request; the oldest go first. */
const VERIFIED_CACHE_ENTRIES = 10_000;

export class TokenRejected extends Error {
  override readonly name = 'TokenRejected';
}

export type TokenVerifier = (token: string | undefined) => Promise<Principal>;

export function createTokenVerifier(config: TrustStoreConfig): TokenVerifier {
  const issuers = new Map(config.issuers.map((entry) => [entry.issuer, { entry, keys: keySetOf(entry) }]));
  const members = membershipOf(config.communities);
  const verified = new Map<string, { principal: Principal; expiresAt: number }>();
  return async (token) => {
    if (!token) throw new TokenRejected('no bearer token: send "Authorization: Bearer <token from your national identity provider>"');
    const hit = verified.get(token);
    if (hit && hit.expiresAt > Date.now()) return hit.principal;
    verified.delete(token);
    const trusted = issuers.get(unverifiedIssuer(token));
    if (!trusted) throw new TokenRejected('token refused: its issuer is not in the gateway trust store');
    const payload = await verifyWith(token, trusted.keys, trusted.entry.issuer, config);
    const principal = principalOf(payload, trusted.entry, members);
    // Only a token that passed every check reaches the cache.
    if (verified.size >= VERIFIED_CACHE_ENTRIES) verified.delete(verified.keys().next().value!);
    verified.set(token, { principal, expiresAt: (payload.exp as number) * 1000 });
    return principal;
  };
}

/**
 * Community → member nations as a Map of the configuration's own entries: a claimed community named
 * `__proto__`, `constructor` or `toString` is simply not a community, never an inherited property.
 */
function membershipOf(communities: Record<string, string[]>): Map<string, ReadonlySet<string>> {
  return new Map(Object.entries(communities).map(([community, nations]) => [community, new Set(nations)]));
}

function keySetOf(entry: TrustedIssuer): JWTVerifyGetKey {
  if (entry.jwks) return createLocalJWKSet(entry.jwks);
  if (entry.jwksUri) return createRemoteJWKSet(new URL(entry.jwksUri));
  throw new Error(`trust store: issuer ${entry.issuer} has neither "jwks" nor "jwksUri"`);
}

function unverifiedIssuer(token: string): string {
  try {
    const iss = decodeJwt(token).iss;
    if (typeof iss === 'string') return iss;
  } catch {
    // fall through: a token we cannot even decode is refused like one without an issuer
  }
  throw new TokenRejected('token refused: not a JWT with an "iss" claim');
}

async function verifyWith(token: string, keys: JWTVerifyGetKey, issuer: string, config: TrustStoreConfig): Promise<JWTPayload> {
  const maxLifetime = config.maxTokenLifetimeSeconds ?? DEFAULT_MAX_TOKEN_LIFETIME_SECONDS;
  let payload: JWTPayload;
  try {
    // maxTokenAge makes jose require `iat` and refuse one in the future beyond the tolerance.
    ({ payload } = await jwtVerify(token, keys, {
      issuer,
      audience: config.audience,
      algorithms: config.algorithms,
      requiredClaims: ['exp', 'sub', 'iat'],
      clockTolerance: config.clockToleranceSeconds ?? DEFAULT_CLOCK_TOLERANCE_SECONDS,
      maxTokenAge: maxLifetime,
    }));
  } catch (error) {
    throw new TokenRejected(`token refused: ${(error as Error).message}`);
  }
  const lifetime = (payload.exp as number) - (payload.iat as number);
  if (lifetime > maxLifetime) {
    throw new TokenRejected(`token refused: it is valid for ${lifetime} s from "iat" to "exp", the gateway accepts at most ${maxLifetime} s`);
  }
  return payload;
}

function principalOf(payload: JWTPayload, issuer: TrustedIssuer, members: Map<string, ReadonlySet<string>>): Principal {
  const { sub, nation, clearance } = payload;
  if (nation !== issuer.nation) {
    throw new TokenRejected(`token refused: issuer ${issuer.issuer} vouches only for ${issuer.nation}, the token claims ${String(nation)}`);
  }
  if (!isNationCode(nation)) throw new TokenRejected('token refused: "nation" must be an ISO 3166 alpha-3 code');
  if (!isClassification(clearance)) throw new TokenRejected('token refused: "clearance" is not a known classification');
  if (typeof sub !== 'string' || !sub) throw new TokenRejected('token refused: "sub" must be a non-empty string');
  const claimed = stringList(payload.communities);
  return {
    subject: sub,
    nation,
    clearance,
    roles: stringList(payload.roles),
    communities: claimed.filter((c) => members.get(c)?.has(nation) ?? false),
  };
}

/** Accepts a JSON array or a space-separated string (OAuth `scope` style). */
function stringList(value: unknown): string[] {
  if (Array.isArray(value)) return value.filter((v): v is string => typeof v === 'string');
  if (typeof value === 'string') return value.split(/[\s,]+/).filter(Boolean);
  return [];
}
