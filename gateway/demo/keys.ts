/**
 * The demo's keys, made on first start and kept in the data directory: each nation's identity
 * provider key (ES256), the gateway's assertion key (Ed25519), and the trust store built from
 * their public halves. The policy keys (the officers' key files) are made and used by the policy
 * command line in a process of its own (see launch.ts): this process, which runs the gateway,
 * reads only their public halves. A real deployment brings its own; nothing here is hand-made crypto.
 */
import { existsSync, mkdirSync, readdirSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { exportJWK, generateKeyPair, type JWK } from 'jose';
import type { PolicyKey, PolicyTrustStore } from '../../policies';
import type { TrustStoreConfig } from '../auth/trust-store';
import { DEMO_COMMUNITIES, GATEWAY_AUDIENCE, issuerOf } from './coalition';

export interface DemoKeys {
  gatewayPrivateJwk: JWK;
  gatewayPublicJwk: JWK;
  gatewayPublicKeyFile: string;
  idpPrivateJwks: Record<string, JWK>;
  trustStore: TrustStoreConfig;
}

export interface DemoPolicyKeys {
  /** The officers' key files: `<HOLDER>.private.jwk.json` (and `.public.jwk.json`). */
  policyKeysDir: string;
  /** Each holder's private policy key, read from its file only when asked (by tests and tools). */
  policyKeys: Readonly<Record<string, PolicyKey>>;
  policyTrust: PolicyTrustStore;
  policyTrustFile: string;
}

export const COALITION_POLICY_HOLDER = 'COALITION';

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

/**
 * The policy trust store from the public key files in `dir` (written to `trustFile`), and the
 * private keys as lazy reads of their files: a process that never asks never holds one.
 */
export function demoPolicyKeys(dir: string, trustFile: string): DemoPolicyKeys {
  const holders = readdirSync(dir).filter((f) => f.endsWith('.public.jwk.json')).map((f) => f.slice(0, -'.public.jwk.json'.length)).sort();
  const policyTrust: Record<string, JWK[]> = Object.fromEntries(holders.map((h) => [h, [JSON.parse(readFileSync(join(dir, `${h}.public.jwk.json`), 'utf8')) as JWK]]));
  writeFileSync(trustFile, JSON.stringify(policyTrust, null, 2));
  const policyKeys = Object.defineProperties(
    {},
    Object.fromEntries(holders.map((h) => [h, { enumerable: true, get: () => ({ privateJwk: JSON.parse(readFileSync(join(dir, `${h}.private.jwk.json`), 'utf8')) as JWK }) }])),
  ) as Record<string, PolicyKey>;
  return { policyKeysDir: dir, policyKeys, policyTrust, policyTrustFile: trustFile };
}

/** Fresh policy keys for some holders (nations, COALITION), in memory: for tests and tools. */
export async function generatePolicyKeys(holders: readonly string[]): Promise<{ keys: Record<string, PolicyKey>; trust: PolicyTrustStore }> {
  const keys: Record<string, PolicyKey> = {};
  const trust: Record<string, JWK[]> = {};
  for (const holder of holders) {
    const { privateKey, publicKey } = await generateKeyPair('EdDSA', { crv: 'Ed25519', extractable: true });
    const kid = `policy-${holder}-${Math.random().toString(36).slice(2, 8)}`;
    keys[holder] = { privateJwk: { ...(await exportJWK(privateKey)), alg: 'EdDSA', kid } };
    trust[holder] = [{ ...(await exportJWK(publicKey)), alg: 'EdDSA', kid, use: 'sig' }];
  }
  return { keys, trust };
}
