/**
 * The reference subgraph as the gateway and everyone else meet it over HTTP: started on a free
 * loopback port with a fresh gateway key pair, answering the gateway's signed requests, and refusing
 * everything else with 401.
 */
import { readFileSync } from 'node:fs';
import { dirname, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { composeServices } from '@apollo/composition';
import { parse } from 'graphql';
import { exportJWK, generateKeyPair, importJWK, SignJWT, type JWK } from 'jose';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { ASSERTION_HEADER, createAssertionSigner, type AssertionSigner, type Principal } from '../../policies';
import { REFERENCE_AUDIENCE, startReferenceSubgraph, type RunningReferenceSubgraph } from '../../subgraphs/reference';
import { PUBLIC_DATA } from '../helpers/public-data';

const REPO = resolve(dirname(fileURLToPath(import.meta.url)), '../..');
const REAL_KEV = join(PUBLIC_DATA, 'kev/known_exploited_vulnerabilities.json');
const ANALYST: Principal = { subject: 'analyst@deu', nation: 'DEU', clearance: 'SECRET', roles: ['analyst'], communities: ['NATO', 'EU'] };

interface Answer {
  status: number;
  data?: any;
  errors?: Array<{ message: string; path?: (string | number)[]; extensions?: Record<string, any> }>;
}

let gatewayPrivateJwk: JWK;
let sign: AssertionSigner;
let subgraph: RunningReferenceSubgraph;

beforeAll(async () => {
  const { privateKey, publicKey } = await generateKeyPair('EdDSA', { crv: 'Ed25519', extractable: true });
  gatewayPrivateJwk = await exportJWK(privateKey);
  sign = await createAssertionSigner({ privateJwk: gatewayPrivateJwk });
  subgraph = await startReferenceSubgraph({ port: 0, gatewayPublicJwk: await exportJWK(publicKey) });
});

afterAll(async () => subgraph?.stop());

async function post(url: string, query: string, variables: Record<string, unknown>, headers: Record<string, string>): Promise<Answer> {
  const response = await fetch(url, { method: 'POST', headers: { 'content-type': 'application/json', ...headers }, body: JSON.stringify({ query, variables }) });
  return { status: response.status, ...((await response.json()) as object) };
}

/** Asks as the gateway does: with an assertion it signed for this subgraph. */
async function askAsGateway(query: string, variables: Record<string, unknown> = {}, url = subgraph.url): Promise<Answer> {
  return post(url, query, variables, { [ASSERTION_HEADER]: await sign(ANALYST, REFERENCE_AUDIENCE) });
}

const ENTITIES = `query Entities($representations: [_Any!]!) {
  _entities(representations: $representations) {
    ... on Vulnerability { cve vendor product knownRansomwareCampaignUse cwes }
    ... on AttackPattern { id name tactics parent { id name } }
  }
}`;

describe('the gateway resolving techniques and CVEs that nations only hold as keys', () => {
  it('listens on the free port it was given, at /graphql on loopback', () => {
    expect(subgraph.url).toMatch(/^http:\/\/127\.0\.0\.1:\d+\/graphql$/);
    expect(subgraph.url).not.toContain(':0/');
  });

  it('answers a technique by its ATT&CK id with its name and tactics', async () => {
    const answer = await askAsGateway('{ attackPattern(id: "T1566") { name tactics } }');
    expect(answer.status).toBe(200);
    expect(answer.errors).toBeUndefined();
    expect(answer.data.attackPattern).toEqual({ name: 'Phishing', tactics: ['initial-access'] });
  });

  it('gives a sub-technique its parent, and null for a technique it does not know', async () => {
    const answer = await askAsGateway('{ sub: attackPattern(id: "T1566.001") { name isSubtechnique parent { id name } url } none: attackPattern(id: "T9999") { name } }');
    expect(answer.errors).toBeUndefined();
    expect(answer.data.sub).toEqual({ name: 'Spearphishing Attachment', isSubtechnique: true, parent: { id: 'T1566', name: 'Phishing' }, url: 'https://attack.mitre.org/techniques/T1566/001' });
    expect(answer.data.none).toBeNull();
  });

  it('resolves Vulnerability entities by CVE, in the order asked, with null for a CVE not in the catalogue', async () => {
    const answer = await askAsGateway(ENTITIES, {
      representations: [
        { __typename: 'Vulnerability', cve: 'CVE-2021-44228' },
        { __typename: 'Vulnerability', cve: 'CVE-1999-0001' },
        { __typename: 'Vulnerability', cve: 'CVE-2024-3400' },
      ],
    });
    expect(answer.errors).toBeUndefined();
    expect(answer.data._entities).toEqual([
      { cve: 'CVE-2021-44228', vendor: 'Apache', product: 'Log4j2', knownRansomwareCampaignUse: true, cwes: ['CWE-20', 'CWE-400', 'CWE-502'] },
      null,
      { cve: 'CVE-2024-3400', vendor: 'Palo Alto Networks', product: 'PAN-OS', knownRansomwareCampaignUse: true, cwes: ['CWE-20', 'CWE-77'] },
    ]);
  });

  it('resolves AttackPattern entities mixed with vulnerabilities, one unknown id costing only its own slot', async () => {
    const answer = await askAsGateway(ENTITIES, {
      representations: [
        { __typename: 'AttackPattern', id: 'T1059.001' },
        { __typename: 'AttackPattern', id: 'T0000' },
        { __typename: 'Vulnerability', cve: 'CVE-2023-4966' },
      ],
    });
    expect(answer.errors).toBeUndefined();
    expect(answer.data._entities[0]).toEqual({ id: 'T1059.001', name: 'PowerShell', tactics: ['execution'], parent: { id: 'T1059', name: 'Command and Scripting Interpreter' } });
    expect(answer.data._entities[1]).toBeNull();
    expect(answer.data._entities[2]).toMatchObject({ cve: 'CVE-2023-4966', vendor: 'Citrix' });
  });

  it('serves an SDL that composes beside the nations\' contract, where AttackPattern and Vulnerability are stubs', async () => {
    const answer = await askAsGateway('{ _service { sdl } }');
    const contract = readFileSync(join(REPO, 'subgraphs/contract/nation.graphql'), 'utf8');
    const composed = composeServices([
      { name: 'nations', url: 'http://nations.invalid/graphql', typeDefs: parse(contract) },
      { name: 'reference', url: subgraph.url, typeDefs: parse(answer.data._service.sdl) },
    ]);
    expect(composed.errors?.map((e) => e.message)).toBeUndefined();
    expect(composed.supergraphSdl).toMatch(/type AttackPattern[^{]*\{[^}]*tactics: \[String\]/);
  });
});

describe('an analyst browsing the reference lists', () => {
  it('lists the techniques of one tactic in id order', async () => {
    const answer = await askAsGateway('{ attackPatterns(tactic: "initial-access", first: 4) { id } }');
    expect(answer.errors).toBeUndefined();
    expect(answer.data.attackPatterns.map((t: { id: string }) => t.id)).toEqual(['T1078', 'T1133', 'T1190', 'T1566']);
  });

  it("lists one vendor's vulnerabilities newest first, whatever case the vendor is written in", async () => {
    const answer = await askAsGateway('{ vulnerabilities(vendor: "microsoft", first: 3) { cve vendor dateAdded } }');
    expect(answer.errors).toBeUndefined();
    const list = answer.data.vulnerabilities;
    expect(list).toHaveLength(3);
    for (const v of list) expect(v.vendor).toBe('Microsoft');
    expect([...list.map((v: { dateAdded: string }) => v.dateAdded)].sort().reverse()).toEqual(list.map((v: { dateAdded: string }) => v.dateAdded));
  });

  it('is told which argument is wrong when asking for more than 500 at once', async () => {
    const answer = await askAsGateway('{ vulnerabilities(first: 501) { cve } }');
    expect(answer.errors?.[0]).toMatchObject({ message: 'Argument "first" must be between 1 and 500 (got 501)', extensions: { code: 'BAD_USER_INPUT', argument: 'first' } });
  });
});

describe('an operator serving the whole KEV catalogue instead of the built-in one', () => {
  it('answers CVEs only the full catalogue has', async () => {
    const { publicKey, privateKey } = await generateKeyPair('EdDSA', { crv: 'Ed25519', extractable: true });
    const full = await startReferenceSubgraph({ port: 0, gatewayPublicJwk: await exportJWK(publicKey), kevPath: REAL_KEV });
    try {
      expect(full.kev.entries.size).toBe(1404);
      const signFull = await createAssertionSigner({ privateJwk: await exportJWK(privateKey) });
      const answer = await post(full.url, '{ vulnerability(cve: "CVE-2014-6271") { vendor product } }', {}, { [ASSERTION_HEADER]: await signFull(ANALYST, REFERENCE_AUDIENCE) });
      expect(answer.data.vulnerability).toEqual({ vendor: 'GNU', product: 'Bourne-Again Shell (Bash)' });
    } finally {
      await full.stop();
    }
  });
});

describe('anyone but the gateway calling the reference subgraph directly', () => {
  const QUERY = '{ attackPattern(id: "T1566") { name } }';

  async function expectRefused(headers: Record<string, string>, reason: RegExp): Promise<void> {
    const answer = await post(subgraph.url, QUERY, {}, headers);
    expect(answer.status).toBe(401);
    expect(answer.data).toBeUndefined();
    expect(answer.errors).toHaveLength(1);
    expect(answer.errors![0]!.extensions?.code).toBe('UNAUTHENTICATED');
    expect(answer.errors![0]!.message).toMatch(reason);
  }

  it('is refused without an assertion, and told the header it lacks', async () => {
    await expectRefused({}, /missing gateway assertion.*sovgraph-assertion/);
  });

  it('is refused with an assertion the gateway signed for another subgraph', async () => {
    await expectRefused({ [ASSERTION_HEADER]: await sign(ANALYST, 'sovgraph:FRA') }, /invalid gateway assertion: .*"aud"/);
  });

  it('is refused with an expired assertion', async () => {
    const key = await importJWK(gatewayPrivateJwk, 'EdDSA');
    const now = Math.floor(Date.now() / 1000);
    const expired = await new SignJWT({ nation: 'DEU', clearance: 'SECRET', roles: ['analyst'], communities: [] })
      .setProtectedHeader({ alg: 'EdDSA' })
      .setIssuer('sovgraph-gateway')
      .setAudience(REFERENCE_AUDIENCE)
      .setSubject('analyst@deu')
      .setIssuedAt(now - 600)
      .setExpirationTime(now - 300)
      .sign(key);
    await expectRefused({ [ASSERTION_HEADER]: expired }, /invalid gateway assertion: .*"exp"/);
  });

  it('is refused with an assertion forged under another key, or with garbage', async () => {
    const { privateKey } = await generateKeyPair('EdDSA', { crv: 'Ed25519', extractable: true });
    const forge = await createAssertionSigner({ privateJwk: await exportJWK(privateKey) });
    await expectRefused({ [ASSERTION_HEADER]: await forge(ANALYST, REFERENCE_AUDIENCE) }, /invalid gateway assertion: signature verification failed/);
    await expectRefused({ [ASSERTION_HEADER]: 'not-a-jwt' }, /invalid gateway assertion/);
  });

  it('is refused before its request is even parsed, and the subgraph keeps serving the gateway afterwards', async () => {
    const response = await fetch(subgraph.url, { method: 'POST', headers: { 'content-type': 'application/json' }, body: '{not json' });
    expect(response.status).toBe(401);
    const answer = await askAsGateway(QUERY);
    expect(answer.data.attackPattern.name).toBe('Phishing');
  });
});
