/**
 * Enforcement at source: France's own subgraph decides, for each caller, which objects exist and
 * which fields leave the silo, and its audit log records every release. A real subgraph on a free
 * port over an in-memory PGlite silo seeded with the coalition's generated French bundle; the
 * expectations come from the policy engine applied to the raw rows, never from the subgraph itself.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { graphql, parse, print } from 'graphql';
import { createPolicyEngine, DEFAULT_RULES_DIR, loadRuleFolder, parseRuleFile, type PolicyEngine, type Principal } from '../../policies';
import { startNationSubgraph, type RunningNationSubgraph } from '../../subgraphs';
import { buildNationSchema, createNationContext, readContractSdl, withWithheldErrors } from '../../subgraphs/kit';
import { policySchemaOf } from '../../subgraphs/kit/schema';
import { createFactsReader } from '../../subgraphs/kit/policy';
import { createSiloReader, EVERYTHING_VISIBLE, type ObjectRow } from '../../subgraphs/silo';
import { defaultMarkingFor, importBundle } from '../../subgraphs/stix';
import { generateNationBundle } from '../../subgraphs/seed/generate';
import { recentAuditRecords, verifyAuditChain } from '../../subgraphs/audit';
import { askSubgraph, gatewayKeys, type GatewayKeys, type GraphQLAnswer, signedDemoRules } from './nation-fixtures';
import { ASSERTION_HEADER, createAssertionSigner } from '../../policies';

let keys: GatewayKeys;
let subgraph: RunningNationSubgraph;
let engine: PolicyEngine;
let indicatorRows: ObjectRow[];
let askAs: (principal: Principal, query: string, variables?: Record<string, unknown>) => Promise<GraphQLAnswer>;

const GERMAN_CONFIDENTIAL: Principal = { subject: 'ana@deu', nation: 'DEU', clearance: 'CONFIDENTIAL', roles: ['analyst'], communities: ['NATO', 'EU'] };
const AMERICAN_SECRET: Principal = { subject: 'bob@usa', nation: 'USA', clearance: 'SECRET', roles: ['analyst'], communities: ['NATO', 'FVEY'] };
const FRENCH_TOP_SECRET: Principal = { subject: 'chef@fra', nation: 'FRA', clearance: 'TOP_SECRET', roles: ['analyst'], communities: ['NATO', 'EU'] };

beforeAll(async () => {
  keys = await gatewayKeys();
  subgraph = await startNationSubgraph({ nation: 'FRA', port: 0, gatewayPublicJwk: keys.publicJwk, ...(await signedDemoRules()) });
  const report = await importBundle(subgraph.db, generateNationBundle('FRA', { size: 160 }), { nation: 'FRA', defaultMarking: defaultMarkingFor('FRA') });
  expect(report.rejected).toEqual([]);
  engine = createPolicyEngine({ files: loadRuleFolder(DEFAULT_RULES_DIR), schema: policySchemaOf() });
  const everything = createSiloReader(subgraph.db, { nation: 'FRA', visibility: EVERYTHING_VISIBLE });
  indicatorRows = (await everything.page({ types: ['indicator'], first: 10_000 })).rows;
  const sign = await createAssertionSigner({ privateJwk: keys.privateJwk });
  askAs = async (principal, query, variables = {}) => askSubgraph(subgraph.url, query, variables, { [ASSERTION_HEADER]: await sign(principal, 'sovgraph:FRA') });
});

afterAll(async () => {
  await subgraph?.stop();
});

function visibleIndicatorIds(principal: Principal): string[] {
  const facts = createFactsReader(engine);
  return indicatorRows.filter((row) => engine.objectVisible(principal, facts(row, 'Indicator'))).map((row) => row.id);
}

async function pageThrough(principal: Principal, first: number): Promise<{ ids: string[]; pageSizes: number[] }> {
  const ids: string[] = [];
  const pageSizes: number[] = [];
  let after: string | null = null;
  for (;;) {
    const answer = await askAs(principal, 'query($first: Int, $after: String) { indicators(first: $first, after: $after) { edges { node { id } } pageInfo { hasNextPage endCursor } } }', { first, after });
    expect(answer.errors).toBeUndefined();
    const { edges, pageInfo } = answer.data.indicators;
    ids.push(...edges.map((e: { node: { id: string } }) => e.node.id));
    pageSizes.push(edges.length);
    if (!pageInfo.hasNextPage) return { ids, pageSizes };
    after = pageInfo.endCursor;
  }
}

describe('France enforces its rules at source, for every caller', () => {
  it('a German analyst cleared CONFIDENTIAL pages through French indicators and gets exactly those the rules let them see, in full pages', async () => {
    const expected = visibleIndicatorIds(GERMAN_CONFIDENTIAL);
    expect(expected.length).toBeGreaterThan(5);
    expect(expected.length).toBeLessThan(indicatorRows.length); // some are withheld, or the test proves nothing
    const { ids, pageSizes } = await pageThrough(GERMAN_CONFIDENTIAL, 7);
    expect([...ids].sort()).toEqual([...expected].sort());
    // Every page but the last is full, and the last page says there is nothing more: nothing about the
    // invisible ones shows in the page sizes or in hasNextPage.
    expect(pageSizes.slice(0, -1).every((size) => size === 7)).toBe(true);
    expect(pageSizes.at(-1)).toBe(expected.length - 7 * (pageSizes.length - 1));
  });

  it('a French analyst sees every French indicator, so the Germans were shown less, not broken pages', async () => {
    const { ids } = await pageThrough(FRENCH_TOP_SECRET, 50);
    expect(ids.length).toBe(indicatorRows.length);
  });

  it('an American analyst asking by id for a French indicator they may not see gets the same answer as for an id that does not exist', async () => {
    const hidden = indicatorRows.map((r) => r.id).find((id) => !visibleIndicatorIds(AMERICAN_SECRET).includes(id))!;
    expect(hidden).toBeDefined();
    const query = 'query($id: ID!) { indicator(id: $id) { id name } }';
    const asked = await askAs(AMERICAN_SECRET, query, { id: hidden });
    const missing = await askAs(AMERICAN_SECRET, query, { id: 'FRA:indicator--00000000-0000-4000-8000-000000000000' });
    expect(asked).toEqual(missing);
    expect(asked.data).toEqual({ indicator: null });
    expect(JSON.stringify(asked)).not.toContain(hidden);
  });

  it('an American analyst gets French indicators without their sources: null, with WITHHELD, the owner and the rule, never the value', async () => {
    const answer = await askAs(AMERICAN_SECRET, '{ indicators(first: 20) { edges { node { id source { name kind } } } } }');
    const nodes = answer.data.indicators.edges.map((e: { node: { id: string; source: unknown } }) => e.node);
    expect(nodes.length).toBeGreaterThan(0);
    for (const node of nodes) expect(node.source).toBeNull();
    const errors = answer.errors ?? [];
    expect(errors.length).toBeGreaterThan(0);
    for (const error of errors) {
      expect(error.extensions).toMatchObject({ code: 'WITHHELD', owner: 'FRA' });
      expect(error.path?.at(-1)).toBe('source');
    }
    expect(errors.map((e) => e.extensions!.reason)).toContain('FRA/sources-stay-in-france');
    const sources = indicatorRows.map((r) => (r.doc.x_sovgraph_source as { name?: string } | undefined)?.name).filter(Boolean) as string[];
    for (const name of sources) expect(JSON.stringify(answer)).not.toContain(name);
  });

  it('a German analyst cleared CONFIDENTIAL gets French incidents with the victim redacted, and the response lists what was redacted', async () => {
    const answer = await askAs(GERMAN_CONFIDENTIAL, '{ incidents(first: 10) { edges { node { id name victim } } } }');
    const nodes = answer.data.incidents.edges.map((e: { node: { name: string | null; victim: string | null } }) => e.node);
    expect(nodes.length).toBeGreaterThan(0);
    expect(nodes.every((n: { name: string | null }) => n.name !== null)).toBe(true);
    const withVictim = nodes.filter((n: { victim: string | null }) => n.victim !== null);
    expect(withVictim.length).toBeGreaterThan(0);
    expect(withVictim.every((n: { victim: string }) => n.victim === '[REDACTED]')).toBe(true);
    const redacted = (answer as GraphQLAnswer & { extensions?: any }).extensions?.sovgraph?.redacted ?? [];
    expect(redacted.length).toBe(withVictim.length);
    expect(redacted[0]).toMatchObject({ owner: 'FRA', reason: 'FRA/victims-below-secret' });
    expect(redacted[0].path).toMatch(/^incidents\.edges\.\d+\.node\.victim$/);
  });

  it("France's audit log holds every release, chained, and names who asked and what was withheld", async () => {
    await askAs(AMERICAN_SECRET, '{ indicators(first: 5) { edges { node { id source { name } } } } }');
    await subgraph.audit.flush();
    const verdict = await verifyAuditChain(subgraph.db);
    expect(verdict.ok).toBe(true);
    expect(verdict.records).toBeGreaterThan(3);
    const [latest] = await recentAuditRecords(subgraph.db, 1);
    expect(latest!.entry.principal).toMatchObject({ subject: 'bob@usa', nation: 'USA' });
    expect(latest!.entry.released.length).toBe(5);
    expect(latest!.entry.withheld.map((w) => `${w.field}:${w.reason}`)).toContain('source:FRA/sources-stay-in-france');
  });
});

describe('every field is wrapped schema-wide: what the contract adds is denied until released', () => {
  const principal = FRENCH_TOP_SECRET;

  async function run(sdl: string, rulesYaml: string | undefined, query: string) {
    const files = loadRuleFolder(DEFAULT_RULES_DIR).map((file) => (file.nation === 'FRA' && rulesYaml ? parseRuleFile(rulesYaml, 'FRA.yaml') : file));
    const policy = createPolicyEngine({ files, schema: policySchemaOf(sdl) });
    const schema = buildNationSchema(sdl);
    const context = createNationContext(subgraph.db, 'FRA', principal, policy);
    const result = await graphql({ schema, source: query, contextValue: context });
    return { ...result, errors: withWithheldErrors(result.errors, context.releases) };
  }

  const contract = readContractSdl();
  const withExtraField = print(parse(contract.replace('type Indicator implements NationObject @key(fields: "id") {', 'type Indicator implements NationObject @key(fields: "id") {\n  secretSauce: String')));
  const withExtraRoot = contract.replace('type Query {', 'type Query {\n  secrets: String');

  it('a new Indicator field is withheld when France releases named fields only', async () => {
    const rules = `nation: FRA\nversion: 1\nrules:\n  - id: named-fields\n    description: only these\n    match: { types: ["*"], fields: [id, nation, name, marking] }\n    effect: allow\n`;
    const result = await run(withExtraField, rules, '{ indicators(first: 2) { edges { node { id name secretSauce } } } }');
    const nodes = (result.data as any).indicators.edges.map((e: any) => e.node);
    expect(nodes.length).toBe(2);
    expect(nodes.every((n: any) => n.name !== undefined && n.secretSauce === null)).toBe(true);
    expect(result.errors?.map((e) => e.extensions?.reason)).toEqual(expect.arrayContaining([expect.stringMatching(/^no-rule:FRA/)]));
  });

  it("a generaliser that does not apply withholds its field, and the audit still lists the objects whose other fields went out", async () => {
    const rules = [
      'nation: FRA\nversion: 1\nrules:',
      '  - id: release-all\n    description: everything\n    match: { types: ["*"], fields: ["*"] }\n    effect: allow',
      '  - id: phases-to-first-sentence\n    description: a text generaliser on a list of objects\n    match: { types: [Indicator], fields: [killChainPhases] }\n    effect: transform\n    transform: first-sentence',
    ].join('\n');
    const files = loadRuleFolder(DEFAULT_RULES_DIR).map((file) => (file.nation === 'FRA' ? parseRuleFile(`${rules}\n`, 'FRA.yaml') : file));
    const policy = createPolicyEngine({ files, schema: policySchemaOf() });
    const context = createNationContext(subgraph.db, 'FRA', principal, policy);
    const result = await graphql({ schema: buildNationSchema(), source: '{ indicators(first: 2) { edges { node { id pattern killChainPhases { phaseName } } } } }', contextValue: context });
    const nodes = (result.data as any).indicators.edges.map((e: any) => e.node);
    expect(nodes.map((n: any) => n.killChainPhases)).toEqual([null, null]);
    expect(context.releases.withheld.map((w) => w.reason)).toEqual(Array(2).fill('FRA/phases-to-first-sentence (first-sentence does not apply to this value)'));
    expect([...context.releases.released].sort()).toEqual(nodes.map((n: any) => n.id).sort());
  });

  it('a new root field the kit does not know is refused, even to a French analyst', async () => {
    const result = await run(withExtraRoot, undefined, '{ secrets }');
    expect((result.data as any)?.secrets ?? null).toBeNull();
    expect(result.errors?.[0]?.extensions).toMatchObject({ code: 'WITHHELD', reason: 'unknown-field:Query.secrets' });
  });
});
