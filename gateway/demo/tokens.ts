/**
 * Mints a token as a nation's identity provider would: for the demo, the README's token command
 * and the tests. The gateway itself never holds these keys.
 */
import { SignJWT, importJWK, type CryptoKey, type JWK } from 'jose';
import type { Classification } from '../../policies';
import { GATEWAY_AUDIENCE, issuerOf } from './coalition';

export interface TokenRequest {
  nation: string;
  clearance: Classification;
  roles?: string[];
  communities?: string[];
  subject?: string;
  /** Lifetime, in a form jose understands ('8h', '30s'); default 8 hours. */
  expiresIn?: string | number;
  issuer?: string;
}

export async function mintToken(privateJwk: JWK, request: TokenRequest): Promise<string> {
  const alg = privateJwk.alg ?? 'ES256';
  const key = (await importJWK(privateJwk, alg)) as CryptoKey;
  return new SignJWT({
    nation: request.nation,
    clearance: request.clearance,
    roles: request.roles ?? [],
    communities: request.communities ?? [],
  })
    .setProtectedHeader({ alg, kid: privateJwk.kid, typ: 'JWT' })
    .setIssuer(request.issuer ?? issuerOf(request.nation))
    .setAudience(GATEWAY_AUDIENCE)
    .setSubject(request.subject ?? `${request.clearance.toLowerCase()}-${(request.roles ?? ['user'])[0]}@${request.nation.toLowerCase()}`)
    .setIssuedAt()
    .setExpirationTime(request.expiresIn ?? '8h')
    .sign(key);
}
