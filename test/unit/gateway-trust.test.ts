import { describe, expect, it } from 'vitest';
import { SignJWT, exportJWK, generateKeyPair, type CryptoKey } from 'jose';
import { createTokenVerifier, type TrustStoreConfig } from '../../gateway/auth/trust-store';

async function idp(nation: string) {
  const { privateKey, publicKey } = await generateKeyPair('ES256', { extractable: true });
  const jwk = { ...(await exportJWK(publicKey)), kid: nation, alg: 'ES256' };
  return { nation, issuer: `https://idp.${nation.toLowerCase()}.test`, privateKey, jwk };
}

type Idp = Awaited<ReturnType<typeof idp>>;

interface SignOptions {
  alg?: string;
  key?: CryptoKey;
  exp?: string | number;
  aud?: string;
  iss?: string;
  /** An `iat` of its own (seconds since the epoch); `null` leaves it out. */
  iat?: number | null;
}

function sign(by: Idp, claims: Record<string, unknown>, options: SignOptions = {}) {
  const jwt = new SignJWT({ clearance: 'SECRET', roles: ['analyst'], communities: ['NATO', 'FVEY'], ...claims })
    .setProtectedHeader({ alg: options.alg ?? 'ES256', kid: by.nation })
    .setIssuer(options.iss ?? by.issuer)
    .setAudience(options.aud ?? 'sovgraph-gateway')
    .setSubject('someone')
    .setExpirationTime(options.exp ?? '1h');
  if (options.iat !== null) jwt.setIssuedAt(options.iat);
  return jwt.sign(options.key ?? by.privateKey);
}

const nowSeconds = () => Math.floor(Date.now() / 1000);
const HOUR = 3600;
const YEAR = 365 * 24 * HOUR;

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

  describe('a validly signed token whose communities name properties every object inherits', () => {
    for (const name of ['__proto__', 'constructor', 'toString', 'hasOwnProperty', 'valueOf']) {
      it(`is accepted with "${name}" dropped, never a crash`, async () => {
        const principal = await verify(await sign(fra, { nation: 'FRA', communities: [name, 'NATO'] }));
        expect(principal.communities).toEqual(['NATO']);
      });
    }

    it('as a space-separated string too', async () => {
      const principal = await verify(await sign(fra, { nation: 'FRA', communities: '__proto__ constructor NATO' }));
      expect(principal.communities).toEqual(['NATO']);
    });

    it('even against a coalition whose configuration was parsed from JSON naming "__proto__" (an own key there)', async () => {
      const communities = JSON.parse('{"__proto__": ["FRA"], "NATO": ["FRA"]}') as Record<string, string[]>;
      const principal = await createTokenVerifier({ ...config, communities })(await sign(fra, { nation: 'FRA', communities: ['__proto__', 'constructor', 'NATO'] }));
      expect(principal.communities).toEqual(['__proto__', 'NATO']);
    });
  });

  describe('issue time and lifetime', () => {
    it('refuses a token issued ten years from now', async () => {
      const iat = nowSeconds() + 10 * YEAR;
      await expect(verify(await sign(fra, { nation: 'FRA' }, { iat, exp: iat + HOUR }))).rejects.toThrow(/token refused: "iat" claim timestamp check failed \(it should be in the past\)/);
    });

    it('allows an issue time a few seconds ahead (clock skew within the tolerance), refuses one beyond it', async () => {
      const skewed = await sign(fra, { nation: 'FRA' }, { iat: nowSeconds() + 10 });
      await expect(verify(skewed)).resolves.toMatchObject({ nation: 'FRA' });
      await expect(verify(await sign(fra, { nation: 'FRA' }, { iat: nowSeconds() + 120 }))).rejects.toThrow(/it should be in the past/);
    });

    it('refuses a token without "iat": a maximum lifetime cannot be checked without it', async () => {
      await expect(verify(await sign(fra, { nation: 'FRA' }, { iat: null }))).rejects.toThrow(/missing required "iat" claim/);
    });

    it('refuses a token declared valid for longer than the maximum lifetime (default 12 h)', async () => {
      await expect(verify(await sign(fra, { nation: 'FRA' }, { exp: '13h' }))).rejects.toThrow(/valid for 46800 s from "iat" to "exp", the gateway accepts at most 43200 s/);
      await expect(verify(await sign(fra, { nation: 'FRA' }, { exp: '12h' }))).resolves.toMatchObject({ nation: 'FRA' });
    });

    it('refuses a token issued longer ago than the maximum lifetime, even with a far expiry', async () => {
      const iat = nowSeconds() - 2 * HOUR;
      const short = createTokenVerifier({ ...config, maxTokenLifetimeSeconds: HOUR });
      await expect(short(await sign(fra, { nation: 'FRA' }, { iat, exp: nowSeconds() + 10 * HOUR }))).rejects.toThrow(/token refused/);
      await expect(short(await sign(fra, { nation: 'FRA' }, { exp: '2h' }))).rejects.toThrow(/the gateway accepts at most 3600 s/);
      await expect(short(await sign(fra, { nation: 'FRA' }, { exp: '1h' }))).resolves.toMatchObject({ nation: 'FRA' });
    });

    it('refuses a "sub" that is not a string', async () => {
      const token = await new SignJWT({ nation: 'FRA', clearance: 'SECRET', sub: { toString: 1 } as unknown as string })
        .setProtectedHeader({ alg: 'ES256', kid: 'FRA' })
        .setIssuer(fra.issuer)
        .setAudience('sovgraph-gateway')
        .setIssuedAt()
        .setExpirationTime('1h')
        .sign(fra.privateKey);
      await expect(verify(token)).rejects.toThrow(/"sub" must be a non-empty string/);
    });
  });

  describe('the verified-token cache', () => {
    it('never remembers a refused token, and forgets an accepted one when it expires', async () => {
      const strict = createTokenVerifier({ ...config, clockToleranceSeconds: 0 });
      const soon = await sign(fra, { nation: 'FRA' }, { exp: nowSeconds() + 2 });
      await expect(strict(soon)).resolves.toMatchObject({ nation: 'FRA' });
      await expect(strict(soon)).resolves.toMatchObject({ nation: 'FRA' });
      await new Promise((resolve) => setTimeout(resolve, 2100));
      await expect(strict(soon)).rejects.toThrow(/"exp" claim/);
      await expect(strict(soon)).rejects.toThrow(/"exp" claim/);
    });
  });
});
