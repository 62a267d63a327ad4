/**
 * What a policy officer does at the gateway besides publishing: try a draft as a shadow on live
 * traffic, see what a partner would get from the officer's own nation, check and compare a draft,
 * and read the nation's recent releases — and what the officer may not do.
 */
import { execFile } from 'node:child_process';
import { readFileSync } from 'node:fs';
import { promisify } from 'node:util';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { DEFAULT_RULES_DIR, signRules, type ShadowReport } from '../../policies';
import { startTestCoalition, type TestCoalition } from '../helpers/coalition';

let world: TestCoalition;
let gatewayBase: string;
let frenchOfficer: string;
let germanOfficer: string;
let usAnalyst: string;

const FRA_RULES = readFileSync(`${DEFAULT_RULES_DIR}/FRA.yaml`, 'utf8');
/** France's rules with one more rule: indicator descriptions stay in France. */
const withDescriptionsAtHome = (version: number) =>
  `${FRA_RULES.replace(/^version: \d+$/m, `version: ${version}`)}  - id: descriptions-stay-in-france
    description: Indicator descriptions never leave France.
    match: { types: [Indicator], fields: [description] }
    when: { principal: { notNations: [FRA] } }
    effect: deny
`;
const FRENCH_INDICATORS = '{ indicators(first: 20, filter: { nations: ["FRA"] }) { edges { node { id name description source { name } } } } }';
const US_SECRET = { nation: 'USA', clearance: 'SECRET', roles: ['analyst'], communities: ['NATO', 'FVEY'] };

beforeAll(async () => {
  world = await startTestCoalition({ seedSize: 40 });
  gatewayBase = world.coalition.gateway.url.replace(/\/graphql$/, '');
  frenchOfficer = await world.token({ nation: 'FRA', clearance: 'SECRET', roles: ['policy-officer'], communities: ['NATO', 'EU'], subject: 'claire@anssi' });
  germanOfficer = await world.token({ nation: 'DEU', clearance: 'SECRET', roles: ['policy-officer'], communities: ['NATO', 'EU'], subject: 'dieter@bsi' });
  usAnalyst = await world.token({ nation: 'USA', clearance: 'SECRET', roles: ['analyst'], communities: ['NATO', 'FVEY'] });
}, 180_000);

afterAll(async () => world?.stop());

async function call(token: string, path: string, body?: unknown): Promise<{ status: number; body: any }> {
  const response = await fetch(`${gatewayBase}${path}`, {
    method: body === undefined ? 'GET' : 'POST',
    headers: { authorization: `Bearer ${token}`, 'content-type': 'application/json' },
    ...(body !== undefined && { body: JSON.stringify(body) }),
  });
  return { status: response.status, body: await response.json() };
}

const signedAsFrance = (text: string) => signRules(text, world.coalition.keys.policyKeys.FRA!, { signedBy: 'claire@anssi' });

describe('a French policy officer tries a stricter draft as a shadow', () => {
  it('the shadow changes nothing a US analyst gets, and the report counts per draft rule what it would have withheld, by type, field and partner', async () => {
    const before = await world.ask(usAnalyst, FRENCH_INDICATORS);
    const descriptions = before.data.indicators.edges.filter((e: any) => e.node.description !== null).length;
    expect(descriptions).toBeGreaterThan(0);

    const published = await call(frenchOfficer, '/policy/publish', { jws: await signedAsFrance(withDescriptionsAtHome(2)), shadow: true });
    expect(published.status).toBe(201);
    expect(published.body).toMatchObject({ accepted: true, shadow: true, nation: 'FRA', version: 2 });
    await expect.poll(async () => (await call(frenchOfficer, '/policy')).body.shadows.map((s: any) => `${s.nation}@${s.version}`), { timeout: 5000 }).toEqual(['FRA@2']);

    const during = await world.ask(usAnalyst, FRENCH_INDICATORS);
    expect(during.data).toEqual(before.data);
    expect((await call(frenchOfficer, '/policy')).body.inForce.find((f: any) => f.nation === 'FRA').version).toBe(1);

    const report: ShadowReport = (await call(frenchOfficer, '/policy/shadow-report')).body.reports.find((r: ShadowReport) => r.nation === 'FRA');
    expect(report.version).toBe(2);
    expect(report.compared).toBeGreaterThan(0);
    const cases = report.byRule['FRA/descriptions-stay-in-france'];
    // Released before (in full, or with IPv4 addresses generalised), withheld under the draft.
    expect(cases).toContainEqual({ type: 'Indicator', field: 'description', partner: 'USA', from: expect.stringMatching(/^(allow|transform)$/), to: 'deny', count: expect.any(Number) });
    expect(cases!.find((c) => c.partner === 'USA')!.count).toBeGreaterThanOrEqual(descriptions);
    // Only the draft's new rule changed anything.
    expect(Object.keys(report.byRule)).toEqual(['FRA/descriptions-stay-in-france']);
  });
});

describe('a French policy officer sees what France would give a US analyst', () => {
  it('sources withheld for the rule that withholds them, and with the draft, descriptions too; nothing of any other nation is asked', async () => {
    const seen = await call(frenchOfficer, '/policy/simulate', { as: US_SECRET, query: '{ indicators(first: 30) { edges { node { id nation name description source { name } } } } }' });
    expect(seen.status).toBe(200);
    expect(seen.body.onlyNation).toBe('FRA');
    expect(seen.body.as).toMatchObject({ nation: 'USA', clearance: 'SECRET', subject: expect.stringContaining('claire@anssi') });
    const nodes = seen.body.data.indicators.edges.map((e: any) => e.node);
    expect(nodes.length).toBeGreaterThan(0);
    expect(nodes.every((n: any) => n.nation === 'FRA')).toBe(true);
    // Each source is withheld: by France's rule, or before it by the source's own TLP:RED marking.
    const sources = seen.body.withheld.filter((w: any) => w.path.at(-1) === 'source').map((w: any) => w.reason);
    expect(sources).toHaveLength(nodes.length);
    expect(sources).toContain('FRA/sources-stay-in-france');
    expect(sources.every((reason: string) => reason === 'FRA/sources-stay-in-france' || reason === 'marking:tlp-red')).toBe(true);
    expect(seen.body.released.some((r: any) => r.path.at(-1) === 'source' || r.path.includes('source'))).toBe(false);
    // Descriptions reach the partner (with any IPv4 address generalised: FRA/partner-ips-outside-eu).
    expect([...seen.body.released, ...seen.body.transformed].some((r: any) => r.path.at(-1) === 'description')).toBe(true);

    const withDraft = await call(frenchOfficer, '/policy/simulate', { as: US_SECRET, query: FRENCH_INDICATORS, draft: withDescriptionsAtHome(3) });
    expect(withDraft.body.draft).toEqual({ version: 3 });
    // Every description withheld: by the draft's rule, or before it by the description's own marking.
    const descriptions = withDraft.body.withheld.filter((w: any) => w.path.at(-1) === 'description').map((w: any) => w.reason);
    expect(descriptions).toHaveLength(withDraft.body.data.indicators.edges.length);
    expect(descriptions).toContain('FRA/descriptions-stay-in-france');
    expect(descriptions.every((reason: string) => reason === 'FRA/descriptions-stay-in-france' || reason.startsWith('marking:'))).toBe(true);
    expect([...withDraft.body.released, ...withDraft.body.transformed].some((r: any) => r.path.at(-1) === 'description')).toBe(false);
  });

  it("the simulation is in France's audit log under the officer's name, and in no other nation's", async () => {
    const french = await call(frenchOfficer, '/policy/audit?limit=200');
    expect(french.status).toBe(200);
    expect(french.body.records.some((r: any) => r.entry.principal.subject.includes('claire@anssi') && r.entry.principal.nation === 'USA')).toBe(true);
    const german = await call(germanOfficer, '/policy/audit?limit=200');
    expect(german.status).toBe(200);
    expect(german.body.records.some((r: any) => r.entry.principal.subject.includes('claire@anssi'))).toBe(false);
  });

  it('a draft that is not a valid rule file is refused with the line, and a draft of another nation is refused', async () => {
    const broken = await call(frenchOfficer, '/policy/simulate', { as: US_SECRET, query: FRENCH_INDICATORS, draft: FRA_RULES.replace('effect: deny', 'effect: forbid') });
    expect(broken.status).toBe(400);
    expect(broken.body.error.issues[0]).toMatchObject({ line: expect.any(Number), rule: 'sources-stay-in-france' });
    const german = await call(frenchOfficer, '/policy/simulate', { as: US_SECRET, query: FRENCH_INDICATORS, draft: readFileSync(`${DEFAULT_RULES_DIR}/DEU.yaml`, 'utf8') });
    expect(german.status).toBe(400);
    expect(german.body.error.message).toContain("simulates FRA's rules only");
  });
});

describe('the same, from the command line', () => {
  it('`policy simulate` as a US analyst lists the sources withheld with their reason, from France only', async () => {
    const { stdout } = await promisify(execFile)(
      process.execPath,
      ['--import', 'tsx', 'policies/cli/policy.ts', 'simulate', '--gateway', gatewayBase, '--token', frenchOfficer, '--as', 'USA:SECRET:analyst:NATO,FVEY', '--query', FRENCH_INDICATORS],
      { cwd: process.cwd() },
    );
    expect(stdout).toMatch(/^as USA SECRET \[analyst\] communities \[NATO,FVEY\], from FRA only/);
    expect(stdout).toMatch(/withheld \(\d+\)\n(.*\n)*  indicators\.edges\.\d+\.node\.source  \[FRA\/sources-stay-in-france\]/);
    expect(stdout).not.toMatch(/source\.name/);
  });
});

describe('a French policy officer checks a draft before signing it', () => {
  it('validation names the line and rule of an error, and warns about a rule that can never match', async () => {
    const invalid = await call(frenchOfficer, '/policy/validate', { text: FRA_RULES.replace('effect: deny', 'effect: forbid') });
    expect(invalid.body.valid).toBe(false);
    expect(invalid.body.issues[0]).toMatchObject({ rule: 'sources-stay-in-france', line: expect.any(Number) });
    const unmatchable = `${FRA_RULES}  - id: about-nothing\n    description: names a type the contract does not have\n    match: { types: [Spaceship], fields: ["*"] }\n    effect: deny\n`;
    const warned = await call(frenchOfficer, '/policy/validate', { text: unmatchable });
    expect(warned.body.valid).toBe(true);
    expect(warned.body.warnings.map((w: any) => w.rule)).toContain('about-nothing');
  });

  it('the diff against the rules in force lists the descriptions a partner would lose, and nothing for France itself', async () => {
    const diff = await call(frenchOfficer, '/policy/diff', { text: withDescriptionsAtHome(2) });
    expect(diff.status).toBe(200);
    expect(diff.body).toMatchObject({ nation: 'FRA', from: 1, to: 2 });
    expect(diff.body.total).toBeGreaterThan(0);
    expect(diff.body.changes.every((c: any) => c.type === 'Indicator' && c.field === 'description' && c.after.effect === 'deny')).toBe(true);
    expect(diff.body.changes.some((c: any) => c.principal.startsWith('FRA '))).toBe(false);
  });
});

describe('what a policy officer may not do', () => {
  it("a German officer cannot publish France's rules through the console, even signed by France", async () => {
    const answer = await call(germanOfficer, '/policy/publish', { jws: await signedAsFrance(withDescriptionsAtHome(5)) });
    expect(answer.status).toBe(403);
    expect((await call(frenchOfficer, '/policy')).body.inForce.find((f: any) => f.nation === 'FRA').version).toBe(1);
  });

  it("an analyst reaches none of the policy endpoints, and nobody reads France's audit log at France's subgraph without France's officer's assertion", async () => {
    for (const path of ['/policy', '/policy/audit', '/policy/shadow-report', '/policy/nation-history?nation=FRA']) {
      expect((await call(usAnalyst, path)).status).toBe(403);
    }
    const france = world.coalition.nations.find((n) => n.nation === 'FRA')!.url;
    expect((await fetch(new URL('/audit/recent', france))).status).toBe(401);
  });
});
