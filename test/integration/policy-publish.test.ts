/**
 * Publishing signed rules over a running coalition: every refused publication changes nothing that
 * is released (byte for byte) and raises an alert; an accepted one is followed at France's own
 * subgraph and by the gateway under load, without a single failed request.
 */
import { copyFileSync, mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { CompactSign, importJWK, type CryptoKey, type JWK } from 'jose';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { generatePolicyKeys } from '../../gateway/demo/keys';
import { ASSERTION_HEADER, createAssertionSigner, DEFAULT_RULES_DIR, SIGNED_RULES_TYPE, signRules, type Principal } from '../../policies';
import { postGraphQL, startTestCoalition, type GraphQLAnswer, type TestCoalition } from '../helpers/coalition';

const FRA_V1 = readFileSync(join(DEFAULT_RULES_DIR, 'FRA.yaml'), 'utf8');
const COALITION_V1 = readFileSync(join(DEFAULT_RULES_DIR, 'coalition.yaml'), 'utf8');
const RULE_ID = 'descriptions-stay-in-france';
const FRA_V2 = `${FRA_V1.replace(/^version: 1$/m, 'version: 2')}  - id: ${RULE_ID}
    description: Indicator descriptions never leave France.
    match: { types: [Indicator], fields: [description] }
    when: { principal: { notNations: [FRA] } }
    effect: deny
`;
const QUERY = `{ indicators(first: 25, filter: { nations: ["FRA"] }) { edges { node { id name description pattern source { name kind } } } } }`;

let world: TestCoalition;
let analystToken: string;
let officerToken: string;
let fraUrl: string;
let rulesDir: string | undefined;

const fraRoute = (path: string) => new URL(path, fraUrl);
const gatewayRoute = (path: string) => new URL(path, world.coalition.gateway.url);

async function askRaw(): Promise<{ status: number; text: string }> {
  const response = await fetch(world.coalition.gateway.url, {
    method: 'POST',
    headers: { 'content-type': 'application/json', authorization: `Bearer ${analystToken}` },
    body: JSON.stringify({ query: QUERY }),
  });
  return { status: response.status, text: await response.text() };
}

async function publishAtFrance(jws: string): Promise<{ status: number; body: any }> {
  const response = await fetch(fraRoute('/policy'), { method: 'POST', headers: { 'content-type': 'application/jose' }, body: jws });
  return { status: response.status, body: await response.json() };
}

async function getJson(url: URL, token?: string): Promise<any> {
  const response = await fetch(url, { headers: token ? { authorization: `Bearer ${token}` } : {} });
  expect(response.status).toBe(200);
  return response.json();
}

async function signRaw(text: string, jwk: JWK, header: Record<string, unknown>): Promise<string> {
  const key = (await importJWK(jwk, 'EdDSA')) as CryptoKey;
  return new CompactSign(new TextEncoder().encode(text))
    .setProtectedHeader({ alg: 'EdDSA', kid: jwk.kid, typ: SIGNED_RULES_TYPE, signedBy: 'someone', signedAt: new Date().toISOString(), ...header })
    .sign(key);
}

beforeAll(async () => {
  // Three nations keep the start quick; their rule files are the demo's, unchanged.
  rulesDir = mkdtempSync(join(tmpdir(), 'sovgraph-publish-rules-'));
  for (const file of ['USA.yaml', 'FRA.yaml', 'DEU.yaml', 'coalition.yaml']) copyFileSync(join(DEFAULT_RULES_DIR, file), join(rulesDir, file));
  world = await startTestCoalition({ seedSize: 40, policyPollMs: 200, nations: ['USA', 'FRA', 'DEU'], rulesDir });
  fraUrl = world.coalition.nations.find((n) => n.nation === 'FRA')!.url;
  analystToken = await world.token({ nation: 'USA', clearance: 'SECRET', roles: ['analyst'], communities: ['NATO', 'FVEY'] });
  officerToken = await world.token({ nation: 'FRA', clearance: 'SECRET', roles: ['policy-officer'], communities: ['NATO', 'EU'] });
});

afterAll(async () => {
  await world?.stop();
  if (rulesDir) rmSync(rulesDir, { recursive: true, force: true });
});

describe('a refused publication changes nothing', () => {
  let baseline: { status: number; text: string };

  beforeAll(async () => {
    baseline = await askRaw();
    expect(baseline.status).toBe(200);
    const body = JSON.parse(baseline.text);
    // The question is worth asking: France releases some descriptions to a US analyst under version 1.
    expect(body.data.indicators.edges.some((e: any) => typeof e.node.description === 'string')).toBe(true);
    // And the answer is deterministic, so byte-identical means nothing changed.
    expect((await askRaw()).text).toBe(baseline.text);
  });

  const attempts: Array<[string, string, () => Promise<string>]> = [
    ['unsigned YAML', 'unsigned', async () => FRA_V2],
    [
      'a signed file with one byte of its payload changed',
      'tampered',
      async () => {
        const [h, p, s] = (await signRules(FRA_V2, world.coalition.keys.policyKeys.FRA!, { signedBy: 'Officer Dupont' })).split('.');
        const bytes = Buffer.from(p!, 'base64url');
        const at = bytes.indexOf('effect: deny');
        bytes[at + 8] = 'c'.charCodeAt(0);
        return [h, bytes.toString('base64url'), s].join('.');
      },
    ],
    ['a FRA file signed with a German key', 'wrong-key', () => signRules(FRA_V2, world.coalition.keys.policyKeys.DEU!, { signedBy: 'Offizier Müller' })],
    ['a FRA file signed with a key nobody trusts', 'wrong-key', async () => signRules(FRA_V2, (await generatePolicyKeys(['FRA'])).keys.FRA!, { signedBy: 'an impostor' })],
    ['other rules under version 1, freshly signed with France\'s key (rollback)', 'rollback', () => signRules(FRA_V1.replace('effect: deny', 'effect: redact'), world.coalition.keys.policyKeys.FRA!, { signedBy: 'Officer Dupont' })],
  ];

  for (const [what, reason, make] of attempts) {
    it(`France's subgraph answers 409 ${reason} to ${what}, /health turns to alert naming it, and the gateway's answer is byte-identical`, async () => {
      const published = await publishAtFrance(await make());
      expect(published.status).toBe(409);
      expect(published.body.error.reason).toBe(reason);
      const health = await getJson(fraRoute('/health'));
      expect(health.status).toBe('alert');
      expect(health.alerts[0].reason).toBe(reason);
      if (reason !== 'unsigned') expect(health.alerts[0].nation).toBe('FRA');
      expect(health.rules.version).toBe(1);
      // Give the gateway more than one poll to pick up anything (it must not).
      await new Promise((resolve) => setTimeout(resolve, 500));
      const after = await askRaw();
      expect(after.status).toBe(200);
      expect(after.text).toBe(baseline.text);
      expect((await getJson(gatewayRoute('/health'))).rules.FRA).toBe(1);
    });
  }

  it("France's version 1 exactly as in force, signed again (a redeployment), is taken as unchanged: 200, version 1 stays, the answer is byte-identical", async () => {
    const alertsBefore = (await getJson(fraRoute('/health'))).alerts.length;
    const published = await publishAtFrance(await signRules(FRA_V1, world.coalition.keys.policyKeys.FRA!, { signedBy: 'the deployment, again' }));
    expect(published.status).toBe(200);
    expect(published.body).toMatchObject({ accepted: true, unchanged: true, version: 1 });
    const health = await getJson(fraRoute('/health'));
    expect(health.alerts.length).toBe(alertsBefore);
    expect(health.rules.version).toBe(1);
    expect((await askRaw()).text).toBe(baseline.text);
  });

  it("a coalition file that releases, signed with the coalition's key, is refused 409 coalition-releases at the gateway", async () => {
    const releasing = `${COALITION_V1.replace(/^version: 1$/m, 'version: 2')}  - id: release-everything
    description: Everything to everyone.
    match: { types: ["*"], fields: ["*"] }
    effect: allow
`;
    const jws = await signRaw(releasing, world.coalition.keys.policyKeys.COALITION!.privateJwk, { nation: 'COALITION', version: 2 });
    const response = await fetch(gatewayRoute('/policy'), { method: 'POST', headers: { authorization: `Bearer ${officerToken}` }, body: jws });
    expect(response.status).toBe(409);
    expect((await response.json()).error.reason).toBe('coalition-releases');
    const health = await getJson(gatewayRoute('/health'));
    expect(health.status).toBe('alert');
    expect(health.alerts[0]).toMatchObject({ reason: 'coalition-releases' });
    expect(health.rules.COALITION).toBe(1);
    expect((await askRaw()).text).toBe(baseline.text);
  });

  it('the gateway\'s policy endpoints are for policy officers only', async () => {
    expect((await fetch(gatewayRoute('/policy'), { headers: { authorization: `Bearer ${analystToken}` } })).status).toBe(403);
    expect((await fetch(gatewayRoute('/policy'))).status).toBe(401);
  });
});

describe("France's officer publishes stricter rules while the coalition is under load", () => {
  interface Sample {
    /** Through the gateway, or straight at France's subgraph (as the gateway would ask it). */
    where: 'gateway' | 'source';
    startedAt: number;
    status: number;
    ok: boolean;
    /** Every description in the answer withheld with FRA/<RULE_ID>. */
    withheld: boolean;
    problems: string[];
  }

  it('no request fails, and within 5 s of the publish every answer withholds the description with FRA/' + RULE_ID, async () => {
    const samples: Sample[] = [];
    const t0 = Date.now();
    const stopAt = t0 + 12_000;
    const usAnalyst: Principal = { subject: 'analyst@usa', nation: 'USA', clearance: 'SECRET', roles: ['analyst'], communities: ['NATO', 'FVEY'] };
    const sign = await createAssertionSigner({ privateJwk: world.coalition.keys.gatewayPrivateJwk });
    const atSource = async (): Promise<GraphQLAnswer> => postGraphQL(fraUrl, QUERY, {}, { [ASSERTION_HEADER]: await sign(usAnalyst, 'sovgraph:FRA') });
    const atGateway = () => world.ask(analystToken, QUERY);
    const loop = async (where: Sample['where']) => {
      while (Date.now() < stopAt) {
        const startedAt = Date.now();
        const problems: string[] = [];
        let status = 0;
        let withheld = false;
        try {
          const answer = await (where === 'gateway' ? atGateway() : atSource());
          status = answer.status;
          const edges: any[] = answer.data?.indicators?.edges ?? [];
          if (!answer.data || edges.length === 0) problems.push('no data');
          for (const e of answer.errors ?? []) if (e.extensions?.code !== 'WITHHELD') problems.push(`${e.extensions?.code}: ${e.message}`);
          // Every description is withheld (a marking may withhold some already), and the new rule withholds the rest.
          const reasons = new Map((answer.errors ?? []).filter((e) => e.path?.at(-1) === 'description').map((e) => [e.path!.join('.'), String(e.extensions?.reason)]));
          withheld =
            edges.length > 0 &&
            edges.every((e, i) => e.node === null || (e.node.description === null && reasons.has(`indicators.edges.${i}.node.description`))) &&
            [...reasons.values()].some((r) => r === `FRA/${RULE_ID}`) &&
            [...reasons.values()].every((r) => r === `FRA/${RULE_ID}` || r.startsWith('marking:'));
        } catch (error) {
          problems.push(String(error));
        }
        samples.push({ where, startedAt, status, ok: status === 200 && problems.length === 0, withheld, problems });
      }
    };
    const load = Promise.all([loop('gateway'), loop('gateway'), loop('gateway'), loop('source')]);

    await new Promise((resolve) => setTimeout(resolve, 3000));
    const jws = await signRules(FRA_V2, world.coalition.keys.policyKeys.FRA!, { signedBy: 'Officer Martin (ANSSI)' });
    const publishedAt = Date.now();
    const published = await publishAtFrance(jws);
    expect(published.status).toBe(201);
    expect(published.body).toMatchObject({ accepted: true, nation: 'FRA', version: 2, signedBy: 'Officer Martin (ANSSI)' });
    // When the gateway itself has FRA version 2 in force.
    let gatewayFollowedAt = Number.NaN;
    while (Date.now() < publishedAt + 5000) {
      if ((await getJson(gatewayRoute('/health'))).rules.FRA === 2) {
        gatewayFollowedAt = Date.now();
        break;
      }
      await new Promise((resolve) => setTimeout(resolve, 20));
    }
    await load;

    const failed = samples.filter((s) => !s.ok);
    expect(failed.map((s) => `${s.where} ${s.status} ${s.problems.join('; ')}`).slice(0, 5)).toEqual([]);
    for (const where of ['gateway', 'source'] as const) {
      expect(samples.filter((s) => s.where === where && s.startedAt < publishedAt).some((s) => !s.withheld)).toBe(true);
      const late = samples.filter((s) => s.where === where && s.startedAt >= publishedAt + 5000);
      expect(late.length).toBeGreaterThan(where === 'gateway' ? 10 : 3);
      expect(late.filter((s) => !s.withheld)).toEqual([]);
    }
    // The delay: from the publish to the first answer after which every answer withholds.
    const after = samples.filter((s) => s.where === 'gateway' && s.startedAt >= publishedAt).sort((a, b) => a.startedAt - b.startedAt);
    const lastOld = after.findLastIndex((s) => !s.withheld);
    const followedAt = after[lastOld + 1]!.startedAt;
    console.log(
      `[policy-publish] ${samples.length} requests over ${((Date.now() - t0) / 1000).toFixed(1)} s, 0 failed; ` +
        `answers withhold description ${followedAt - publishedAt} ms after the publish; ` +
        `gateway /health shows FRA version 2 ${gatewayFollowedAt - publishedAt} ms after the publish (poll every 200 ms)`,
    );
    expect(gatewayFollowedAt - publishedAt).toBeLessThan(5000);
  });

  it("France's history lists versions 1 and 2 with who signed them, and the gateway reports FRA version 2 in force", async () => {
    const history = await getJson(fraRoute('/policy/history'));
    const fra = history.versions.filter((v: any) => v.nation === 'FRA');
    expect(fra.map((v: any) => [v.version, v.signedBy])).toEqual([
      [1, 'the demo launcher'],
      [2, 'Officer Martin (ANSSI)'],
    ]);
    const gateway = await getJson(gatewayRoute('/policy'), officerToken);
    expect(gateway.inForce.find((f: any) => f.nation === 'FRA')).toMatchObject({ version: 2, signedBy: 'Officer Martin (ANSSI)' });
    expect((await getJson(fraRoute('/health'))).rules.version).toBe(2);
  });
});
