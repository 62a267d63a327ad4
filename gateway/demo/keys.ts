/**
 * The demo's keys, made on first start and kept in the data directory: each nation's identity
 * provider key (ES256), the gateway's assertion key (Ed25519), and the trust store built from
 * their public halves. A real deployment brings its own; nothing here is hand-made crypto.
 */
import { existsSync, mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { exportJWK, generateKeyPair, type JWK } from 'jose';
import type { TrustStoreConfig } from '../auth/trust-store';
import { DEMO_COMMUNITIES, GATEWAY_AUDIENCE, issuerOf } from './coalition';

export interface DemoKeys {
  gatewayPrivateJwk: JWK;
  gatewayPublicJwk: JWK;
  gatewayPublicKeyFile: string;
  idpPrivateJwks: Record<string, JWK>;
  trustStore: TrustStoreConfig;
}

const IDP_ALGORITHM = 'ES256';

export async function ensureDemoKeys(dataDir: string, nations: readonly string[]): Promise<DemoKeys> {
  const dir = join(dataDir, 'keys');
  mkdirSync(join(dir, 'idp'), { recursive: true });
  const gateway = await ensureKeyPair(join(dir, 'gateway'), 'EdDSA', 'sovgraph-gateway');
  const idpPrivateJwks: Record<string, JWK> = {};
  const issuers = [];
  for (const nation of nations) {
    const pair = await ensureKeyPair(join(dir, 'idp', nation), IDP_ALGORITHM, `idp-${nation}`);
    idpPrivateJwks[nation] = pair.privateJwk;
    issuers.push({ issuer: issuerOf(nation), nation, jwks: { keys: [pair.publicJwk] } });
  }
  const trustStore: TrustStoreConfig = { audience: GATEWAY_AUDIENCE, algorithms: ['ES256', 'EdDSA'], issuers, communities: DEMO_COMMUNITIES };
  writeFileSync(join(dir, 'trust-store.json'), JSON.stringify(trustStore, null, 2));
  return {
    gatewayPrivateJwk: gateway.privateJwk,
    gatewayPublicJwk: gateway.publicJwk,
    gatewayPublicKeyFile: `${join(dir, 'gateway')}.public.jwk.json`,
    idpPrivateJwks,
    trustStore,
  };
}

async function ensureKeyPair(base: string, alg: 'EdDSA' | 'ES256', kid: string): Promise<{ privateJwk: JWK; publicJwk: JWK }> {
  const privatePath = `${base}.private.jwk.json`;
  const publicPath = `${base}.public.jwk.json`;
  if (existsSync(privatePath) && existsSync(publicPath)) {
    return { privateJwk: JSON.parse(readFileSync(privatePath, 'utf8')), publicJwk: JSON.parse(readFileSync(publicPath, 'utf8')) };
  }
  const { privateKey, publicKey } = await generateKeyPair(alg, { extractable: true, ...(alg === 'EdDSA' ? { crv: 'Ed25519' } : {}) });
  const privateJwk = { ...(await exportJWK(privateKey)), alg, kid };
  const publicJwk = { ...(await exportJWK(publicKey)), alg, kid, use: 'sig' };
  writeFileSync(privatePath, JSON.stringify(privateJwk, null, 2), { mode: 0o600 });
  writeFileSync(publicPath, JSON.stringify(publicJwk, null, 2));
  return { privateJwk, publicJwk };
}
