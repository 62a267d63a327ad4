/**
 * A nation operator's config file: what it may say, and errors that name the file and the field.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { exportJWK, generateKeyPair } from 'jose';
import { loadNationConfig, NationConfigError } from '../../subgraphs';

let dir: string;

beforeAll(async () => {
  dir = mkdtempSync(join(tmpdir(), 'sovgraph-nation-config-'));
  const { privateKey, publicKey } = await generateKeyPair('EdDSA', { crv: 'Ed25519', extractable: true });
  writeFileSync(join(dir, 'gateway.public.jwk'), JSON.stringify(await exportJWK(publicKey)));
  writeFileSync(join(dir, 'gateway.private.jwk'), JSON.stringify(await exportJWK(privateKey)));
  writeFileSync(join(dir, 'policy-trust.json'), JSON.stringify({ FRA: [{ ...(await exportJWK(publicKey)), kid: 'policy-FRA' }] }));
  writeFileSync(join(dir, 'policy-trust-private.json'), JSON.stringify({ FRA: [{ ...(await exportJWK(privateKey)), kid: 'policy-FRA' }] }));
});

afterAll(() => rmSync(dir, { recursive: true, force: true }));

function configFile(name: string, content: unknown): string {
  const path = join(dir, name);
  writeFileSync(path, typeof content === 'string' ? content : JSON.stringify(content));
  return path;
}

const valid = { nation: 'FRA', port: 4101, dataDir: 'silos/FRA', gatewayPublicKeyFile: 'gateway.public.jwk', policyTrustFile: 'policy-trust.json' };

describe('a nation operator configures the subgraph with one JSON file', () => {
  it('reads the nation, port, silo and gateway key, with paths relative to the file', () => {
    const config = loadNationConfig(configFile('ok.json', valid), {});
    expect(config).toMatchObject({ nation: 'FRA', port: 4101, dataDir: join(dir, 'silos/FRA') });
    expect(config.gatewayPublicJwk).toMatchObject({ kty: 'OKP', crv: 'Ed25519' });
    expect(config.databaseUrl).toBeUndefined();
    expect(config.policyTrust.FRA).toEqual([expect.objectContaining({ kid: 'policy-FRA', kty: 'OKP' })]);
  });

  it('DATABASE_URL in the environment puts the silo on a PostgreSQL server instead', () => {
    const config = loadNationConfig(configFile('ok.json', valid), { DATABASE_URL: 'postgres://silo@db/sovgraph' });
    expect(config.databaseUrl).toBe('postgres://silo@db/sovgraph');
    expect(config.dataDir).toBeUndefined();
  });

  it.each([
    ['nation', { ...valid, nation: 'France' }, /"nation" must be an ISO 3166 alpha-3/],
    ['port', { ...valid, port: 70000 }, /"port" must be an integer from 0 to 65535/],
    ['silo', { ...valid, dataDir: undefined }, /needs field "dataDir".*"databaseUrl"/],
    ['key file', { ...valid, gatewayPublicKeyFile: 'nowhere.jwk' }, /nowhere\.jwk: cannot read the gateway public key \(ENOENT\)/],
    ['private key', { ...valid, gatewayPublicKeyFile: 'gateway.private.jwk' }, /holds a private key/],
    ['policy trust store', { ...valid, policyTrustFile: undefined }, /"policyTrustFile" must be the path of the policy trust store/],
    ['private policy key', { ...valid, policyTrustFile: 'policy-trust-private.json' }, /"policyTrustFile".*"FRA" holds a private key/],
    ['signed rules folder', { ...valid, signedRulesDir: 'nowhere' }, /"signedRulesDir".*cannot read the signed rules folder \(ENOENT\)/],
  ])('refuses a bad %s, naming the file and what is wrong', (_label, content, message) => {
    const path = configFile('bad.json', content);
    expect(() => loadNationConfig(path, {})).toThrow(NationConfigError);
    expect(() => loadNationConfig(path, {})).toThrow(message);
    expect(() => loadNationConfig(path, {})).toThrow(`${path}: `);
  });

  it('refuses a file that is not JSON', () => {
    const path = configFile('broken.json', '{ nation: FRA');
    expect(() => loadNationConfig(path, {})).toThrow(`${path}: the nation config is not valid JSON`);
  });
});
