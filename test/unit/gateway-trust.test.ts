import { describe, expect, it } from 'vitest';
import { SignJWT, exportJWK, generateKeyPair, type CryptoKey } from 'jose';
import { createTokenVerifier, type TrustStoreConfig } from '../../gateway/auth/trust-store';

async function idp(nation: string) {
  const { privateKey, publicKey } = await generateKeyPair('ES256', { extractable: true });
  const jwk = { ...(await exportJWK(publicKey)), kid: nation, alg: 'ES256' };
  return { nation, issuer: `https://idp.${nation.toLowerCase()}.test`, privateKey, jwk };
}

type Idp = Awaited<ReturnType<typeof idp>>;

function sign(by: Idp, claims: Record<string, unknown>, options: { alg?: string; key?: CryptoKey; exp?: string | number; aud?: string; iss?: string } = {}) {
  return new SignJWT({ clearance: 'SECRET', roles: ['analyst'], communities: ['NATO', 'FVEY'], ...claims })
    .setProtectedHeader({ alg: options.alg ?? 'ES256', kid: by.nation })
    .setIssuer(options.iss ?? by.issuer)
    .setAudience(options.aud ?? 'sovgraph-gateway')
    .setSubject('someone')
    .setIssuedAt()
    .setExpirationTime(options.exp ?? '1h')
    .sign(options.key ?? by.privateKey);
}

describe('the gateway trust store', async () => {
  const fra = await idp('FRA');
  const deu = await idp('DEU');
  const config: TrustStoreConfig = {
    audience: 'sovgraph-gateway',
    algorithms: ['ES256'],
    issuers: [fra, deu].map((i) => ({ issuer: i.issuer, nation: i.nation, jwks: { keys: [i.jwk] } })),
    communities: { NATO: ['FRA', 'DEU'], FVEY: ['USA', 'GBR'] },
  };
  const verify = createTokenVerifier(config);

  it('accepts a French analyst vouched for by the French provider, and keeps only the communities France is in', async () => {
    const principal = await verify(await sign(fra, { nation: 'FRA' }));
    expect(principal).toEqual({ subject: 'someone', nation: 'FRA', clearance: 'SECRET', roles: ['analyst'], communities: ['NATO'] });
  });

  it('refuses a token from the French provider that claims a German user', async () => {
    await expect(verify(await sign(fra, { nation: 'DEU' }))).rejects.toThrow(/vouches only for FRA, the token claims DEU/);
  });

  it('refuses a token signed with a key the provider does not have (forged)', async () => {
    const forger = await idp('FRA');
    await expect(verify(await sign(fra, { nation: 'FRA' }, { key: forger.privateKey }))).rejects.toThrow(/signature verification failed/);
  });

  it('refuses an expired token', async () => {
    await expect(verify(await sign(fra, { nation: 'FRA' }, { exp: Math.floor(Date.now() / 1000) - 3600 }))).rejects.toThrow(/"exp" claim/);
  });

  it('refuses a token for another audience, from an unknown issuer, or with an unknown clearance', async () => {
    await expect(verify(await sign(fra, { nation: 'FRA' }, { aud: 'someone-else' }))).rejects.toThrow(/"aud" claim/);
    await expect(verify(await sign(fra, { nation: 'FRA' }, { iss: 'https://evil.test' }))).rejects.toThrow(/not in the gateway trust store/);
    await expect(verify(await sign(fra, { nation: 'FRA', clearance: 'COSMIC' }))).rejects.toThrow(/clearance/);
  });

  it('refuses unsigned tokens and algorithms outside the allow-list', async () => {
    const header = Buffer.from(JSON.stringify({ alg: 'none' })).toString('base64url');
    const body = Buffer.from(JSON.stringify({ iss: fra.issuer, aud: 'sovgraph-gateway', sub: 'x', nation: 'FRA', clearance: 'SECRET', exp: 9999999999 })).toString('base64url');
    await expect(verify(`${header}.${body}.`)).rejects.toThrow(/token refused/);
    await expect(verify(undefined)).rejects.toThrow(/no bearer token/);
    await expect(verify('not-a-jwt')).rejects.toThrow(/not a JWT/);
  });
});
