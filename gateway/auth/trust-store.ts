/**
 * Who may vouch for whom. Each national identity provider is trusted for exactly one nation: a
 * French issuer cannot mint a German principal. Tokens are verified with jose against the issuer's
 * keys, an algorithm allow-list, the gateway's audience and an expiry.
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
}

export class TokenRejected extends Error {
  override readonly name = 'TokenRejected';
}

export type TokenVerifier = (token: string | undefined) => Promise<Principal>;

export function createTokenVerifier(config: TrustStoreConfig): TokenVerifier {
  const issuers = new Map(config.issuers.map((entry) => [entry.issuer, { entry, keys: keySetOf(entry) }]));
  const verified = new Map<string, { principal: Principal; expiresAt: number }>();
  return async (token) => {
    if (!token) throw new TokenRejected('no bearer token: send "Authorization: Bearer <token from your national identity provider>"');
    const hit = verified.get(token);
    if (hit && hit.expiresAt > Date.now()) return hit.principal;
    const trusted = issuers.get(unverifiedIssuer(token));
    if (!trusted) throw new TokenRejected('token refused: its issuer is not in the gateway trust store');
    const payload = await verifyWith(token, trusted.keys, trusted.entry.issuer, config);
    const principal = principalOf(payload, trusted.entry, config.communities);
    if (verified.size > 10_000) verified.clear();
    verified.set(token, { principal, expiresAt: (payload.exp as number) * 1000 });
    return principal;
  };
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
  try {
    const { payload } = await jwtVerify(token, keys, {
      issuer,
      audience: config.audience,
      algorithms: config.algorithms,
      requiredClaims: ['exp', 'sub'],
      clockTolerance: config.clockToleranceSeconds ?? 30,
    });
    return payload;
  } catch (error) {
    throw new TokenRejected(`token refused: ${(error as Error).message}`);
  }
}

function principalOf(payload: JWTPayload, issuer: TrustedIssuer, communities: Record<string, string[]>): Principal {
  const { sub, nation, clearance } = payload;
  if (nation !== issuer.nation) {
    throw new TokenRejected(`token refused: issuer ${issuer.issuer} vouches only for ${issuer.nation}, the token claims ${String(nation)}`);
  }
  if (!isNationCode(nation)) throw new TokenRejected('token refused: "nation" must be an ISO 3166 alpha-3 code');
  if (!isClassification(clearance)) throw new TokenRejected('token refused: "clearance" is not a known classification');
  const claimed = stringList(payload.communities);
  return {
    subject: sub!,
    nation,
    clearance,
    roles: stringList(payload.roles),
    communities: claimed.filter((c) => communities[c]?.includes(nation)),
  };
}

/** Accepts a JSON array or a space-separated string (OAuth `scope` style). */
function stringList(value: unknown): string[] {
  if (Array.isArray(value)) return value.filter((v): v is string => typeof v === 'string');
  if (typeof value === 'string') return value.split(/[\s,]+/).filter(Boolean);
  return [];
}
