/**
 * A misbehaving nation: France's own subgraph enforces a rule folder whose FRA.yaml releases
 * everything (a misconfiguration, or a silo that was tampered with), while the gateway keeps the
 * coalition's real rules. Whatever France's subgraph hands out, the gateway decides every field
 * again: what France's own rules withhold, redact or generalise stays so for the caller. Estonia
 * misbehaves the same way, for the one demo rule that hides whole objects (energy incidents).
 *
 * Each story first proves the subgraph did release the value (asking it directly, with the
 * gateway's signed assertion for the same caller), then that the gateway did not pass it on.
 * Object visibility is compiled to SQL from the subgraph's rules, but the marking baseline is
 * applied at source whatever the rules say, so the stories are about France's field-level rules.
 */
import { copyFileSync, mkdtempSync, readdirSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { Classification, Principal } from '../../policies';
import type { GraphQLAnswer } from '../helpers/coalition';
import { baselineFailure, baselinePasses, combined, COMMUNITIES, RULES_DIR, startPolicyWorld, tlpRankOf, type Caller, type Marking, type PolicyWorld } from '../helpers/policy-world';

/** A nation's rule file that releases everything (the marking baseline still applies at source). */
const permissive = (nation: string) => `# ${nation}, misconfigured: everything is released.
nation: ${nation}
version: 1
rules:
  - id: release-everything
    description: Releases every field of every object.
    match: { types: ["*"], fields: ["*"] }
    effect: allow
`;

const MARKING = 'marking { classification tlp releasableTo caveats }';
const FIELD_MARKINGS = `fieldMarkings { field ${MARKING} }`;

const analyst = (nation: string, clearance: Classification, communities: string[]): Caller => ({ nation, clearance, roles: ['analyst'], communities });
const US_SECRET = analyst('USA', 'SECRET', ['NATO', 'FVEY']);
const DEU_CONFIDENTIAL = analyst('DEU', 'CONFIDENTIAL', ['NATO', 'EU']);
const DEU_SECRET = analyst('DEU', 'SECRET', ['NATO', 'EU']);

interface Held {
  id: string;
  nation: string;
  marking: Marking;
  fieldMarkings: Array<{ field: string; marking: Marking }>;
  [field: string]: any;
}

let world: PolicyWorld;
const rulesDirs: Record<string, string> = {};
const french = { indicators: [] as Held[], incidents: [] as Held[], sightings: [] as Held[] };
const estonian = { incidents: [] as Held[], sightings: [] as Held[] };

/** The principal the gateway would assert for this caller: the communities the coalition confirms. */
function principalOf(caller: Caller): Principal {
  return { subject: `${caller.clearance.toLowerCase()}-analyst@${caller.nation.toLowerCase()}`, ...caller, communities: caller.communities.filter((c) => (COMMUNITIES[c] ?? []).includes(caller.nation)) };
}

/** Whether the caller may see a French object's field under the marking baseline (and the coalition's amber rule). */
function passes(caller: Caller, o: Held, field?: string): boolean {
  const fm = field ? o.fieldMarkings.find((f) => f.field === field)?.marking : undefined;
  if (!caller.roles.includes('analyst') && tlpRankOf(o.marking.tlp) >= tlpRankOf('AMBER')) return false;
  return baselinePasses(caller, o.nation, o.marking) && (!fm || baselinePasses(caller, o.nation, combined([o.marking, fm])));
}

async function viaGateway(caller: Caller, query: string, variables?: Record<string, unknown>): Promise<GraphQLAnswer> {
  const answer = await world.ask(await world.token(caller), query, variables);
  expect(answer.status).toBe(200);
  return answer;
}

async function fromNation(nation: string, caller: Caller, query: string, variables?: Record<string, unknown>): Promise<GraphQLAnswer> {
  const answer = await world.askNation(nation, principalOf(caller), query, variables);
  expect(answer.status).toBe(200);
  return answer;
}

const fromFrance = (caller: Caller, query: string, variables?: Record<string, unknown>) => fromNation('FRA', caller, query, variables);

function nodesOf(answer: GraphQLAnswer, kind: string): Map<string, { node: any; index: number }> {
  return new Map(answer.data[kind].edges.map((e: any, index: number) => [e.node.id, { node: e.node, index }]));
}

function errorAt(answer: GraphQLAnswer, path: Array<string | number>) {
  return answer.errors?.filter((e) => JSON.stringify(e.path) === JSON.stringify(path)) ?? [];
}

beforeAll(async () => {
  for (const nation of ['FRA', 'EST']) {
    // Copies of every rule file in force, but the nation's own file releases everything.
    const dir = (rulesDirs[nation] = mkdtempSync(join(tmpdir(), `sovgraph-misbehaving-${nation}-`)));
    for (const file of readdirSync(RULES_DIR).filter((f) => f.endsWith('.yaml') && f !== `${nation}.yaml`)) copyFileSync(join(RULES_DIR, file), join(dir, file));
    writeFileSync(join(dir, `${nation}.yaml`), permissive(nation));
  }
  world = await startPolicyWorld({ seedSize: 60, nationRulesDirs: rulesDirs });
  const catalogue = async (nation: string, query: string) => {
    const answer = await world.ask(await world.token(analyst(nation, 'TOP_SECRET', ['NATO', 'EU'])), query);
    expect(answer.errors ?? []).toEqual([]);
    return answer.data;
  };
  const fra = await catalogue('FRA', `{
    indicators(first: 500, filter: { nations: ["FRA"] }) { edges { node { id nation ${MARKING} ${FIELD_MARKINGS} name observable pattern source { name kind } } } }
    incidents(first: 500, filter: { nations: ["FRA"] }) { edges { node { id nation ${MARKING} ${FIELD_MARKINGS} name victim } } }
    sightings(first: 500, filter: { nations: ["FRA"] }) { edges { node { id nation ${MARKING} ${FIELD_MARKINGS} firstSeen whereSighted { name kind country } } } }
  }`);
  for (const kind of ['indicators', 'incidents', 'sightings'] as const) french[kind] = fra[kind].edges.map((e: any) => e.node);
  const est = await catalogue('EST', `{
    incidents(first: 500, filter: { nations: ["EST"] }) { edges { node { id nation ${MARKING} ${FIELD_MARKINGS} name sector } } }
    sightings(first: 500, filter: { nations: ["EST"] }) { edges { node { id nation ${MARKING} ${FIELD_MARKINGS} firstSeen lastSeen } } }
  }`);
  for (const kind of ['incidents', 'sightings'] as const) estonian[kind] = est[kind].edges.map((e: any) => e.node);
}, 240_000);

afterAll(async () => {
  await world?.stop();
  for (const dir of Object.values(rulesDirs)) rmSync(dir, { recursive: true, force: true });
});

describe('France’s subgraph releases everything; the gateway still enforces France’s rules', () => {
  it('a US analyst cleared SECRET gets French sources straight from the misconfigured subgraph, but through the gateway each is null with WITHHELD (FRA/sources-stay-in-france), and no source name appears in the answer', async () => {
    const candidates = french.indicators.filter((o) => o.source && passes(US_SECRET, o, 'source'));
    expect(candidates.length).toBeGreaterThan(0);
    const query = '{ indicators(first: 500, filter: { nations: ["FRA"] }) { edges { node { id source { name kind } } } } }';

    const direct = await fromFrance(US_SECRET, query);
    const released = nodesOf(direct, 'indicators');
    for (const o of candidates) expect(released.get(o.id)?.node.source, `France released the source of ${o.id}`).toEqual(o.source);

    const answer = await viaGateway(US_SECRET, query);
    const nodes = nodesOf(answer, 'indicators');
    for (const o of candidates) {
      const { node, index } = nodes.get(o.id)!;
      expect(node).toEqual({ id: o.id, source: null });
      const errors = errorAt(answer, ['indicators', 'edges', index, 'node', 'source']);
      expect(errors).toHaveLength(1);
      expect(errors[0]!.extensions).toMatchObject({ code: 'WITHHELD', owner: 'FRA', reason: 'FRA/sources-stay-in-france' });
    }
    const text = JSON.stringify(answer);
    for (const o of candidates) expect(text).not.toContain(o.source.name);
  });

  it('a German analyst cleared CONFIDENTIAL gets French incident victims in clear from the subgraph, but from the gateway only as [REDACTED], listed in extensions.sovgraph.redacted (FRA/victims-below-secret)', async () => {
    const candidates = french.incidents.filter((o) => o.victim && passes(DEU_CONFIDENTIAL, o, 'victim'));
    expect(candidates.length).toBeGreaterThan(0);
    const query = '{ incidents(first: 500, filter: { nations: ["FRA"] }) { edges { node { id name victim } } } }';

    const direct = nodesOf(await fromFrance(DEU_CONFIDENTIAL, query), 'incidents');
    for (const o of candidates) expect(direct.get(o.id)?.node.victim).toBe(o.victim);

    const answer = await viaGateway(DEU_CONFIDENTIAL, query);
    const nodes = nodesOf(answer, 'incidents');
    for (const o of candidates) {
      const { node, index } = nodes.get(o.id)!;
      expect(node).toEqual({ id: o.id, name: o.name, victim: '[REDACTED]' });
      expect(answer.extensions!.sovgraph.redacted).toContainEqual({ path: ['incidents', 'edges', index, 'node', 'victim'], owner: 'FRA', reason: 'FRA/victims-below-secret' });
    }
    const text = JSON.stringify(answer);
    for (const o of candidates) expect(text).not.toContain(o.victim);
  });

  it('a US analyst gets full French IPv4 addresses from the subgraph, but from the gateway only their /24, in observable, pattern and name (FRA/partner-ips-outside-eu)', async () => {
    const candidates = french.indicators.filter((o) => /^\d+\.\d+\.\d+\.\d+$/.test(o.observable ?? '') && passes(US_SECRET, o));
    expect(candidates.length).toBeGreaterThan(0);
    const query = '{ indicators(first: 500, filter: { nations: ["FRA"] }) { edges { node { id observable pattern name } } } }';

    const direct = nodesOf(await fromFrance(US_SECRET, query), 'indicators');
    for (const o of candidates) expect(direct.get(o.id)?.node).toEqual({ id: o.id, observable: o.observable, pattern: o.pattern, name: o.name });

    const answer = await viaGateway(US_SECRET, query);
    const nodes = nodesOf(answer, 'indicators');
    for (const o of candidates) {
      const slash24 = o.observable.replace(/\.\d+$/, '.0/24');
      const { node, index } = nodes.get(o.id)!;
      expect(node).toEqual({ id: o.id, observable: slash24, pattern: o.pattern.replace(o.observable, slash24), name: o.name.replace(o.observable, slash24) });
      for (const field of ['observable', 'pattern', 'name']) {
        expect(answer.extensions!.sovgraph.transformed).toContainEqual({ path: ['indicators', 'edges', index, 'node', field], owner: 'FRA', reason: 'FRA/partner-ips-outside-eu', transform: 'ipv4-slash24' });
      }
    }
    const text = JSON.stringify(answer);
    for (const o of candidates) expect(text).not.toMatch(new RegExp(`${o.observable.replace(/\./g, '\\.')}(?!\\d)`));
  });

  it('a German analyst gets where France sighted things from the subgraph, but from the gateway no place at all (FRA/sighting-places-stay-in-france)', async () => {
    const candidates = french.sightings.filter((o) => o.whereSighted?.some((p: any) => p.name) && passes(DEU_SECRET, o, 'whereSighted'));
    expect(candidates.length).toBeGreaterThan(0);
    const query = '{ sightings(first: 500, filter: { nations: ["FRA"] }) { edges { node { id firstSeen whereSighted { name kind country } } } } }';

    const direct = nodesOf(await fromFrance(DEU_SECRET, query), 'sightings');
    for (const o of candidates) expect(direct.get(o.id)?.node.whereSighted).toEqual(o.whereSighted);

    const answer = await viaGateway(DEU_SECRET, query);
    const nodes = nodesOf(answer, 'sightings');
    for (const o of candidates) {
      const { node, index } = nodes.get(o.id)!;
      expect(node).toEqual({ id: o.id, firstSeen: o.firstSeen, whereSighted: null });
      expect(errorAt(answer, ['sightings', 'edges', index, 'node', 'whereSighted'])[0]?.extensions).toMatchObject({ code: 'WITHHELD', owner: 'FRA', reason: 'FRA/sighting-places-stay-in-france' });
    }
    const text = JSON.stringify(answer);
    for (const o of candidates) for (const place of o.whereSighted) if (place.name) expect(text).not.toContain(`"${place.name}"`);
  });

  it('a US analyst follows a German sighting to a French indicator: France answers the gateway’s entity fetch with the source and the full IPv4, the gateway withholds the source and generalises the address', async () => {
    const indicator = french.indicators.find((o) => o.name === 'Story: FRA C2 server')!;
    expect(indicator).toBeDefined();
    const entity = await fromFrance(US_SECRET, 'query E($r: [_Any!]!) { _entities(representations: $r) { ... on Indicator { id observable source { name } } } }', {
      r: [{ __typename: 'Indicator', id: indicator.id }],
    });
    expect(entity.data._entities).toEqual([{ id: indicator.id, observable: indicator.observable, source: { name: indicator.source.name } }]);

    const answer = await viaGateway(US_SECRET, '{ sightings(first: 500, filter: { nations: ["DEU"] }) { edges { node { id sightingOf { id observable source { name } } } } } }');
    const edges = answer.data.sightings.edges as any[];
    const index = edges.findIndex((e) => e.node.sightingOf?.id === indicator.id);
    expect(index).toBeGreaterThanOrEqual(0);
    expect(edges[index].node.sightingOf).toEqual({ id: indicator.id, observable: indicator.observable.replace(/\.\d+$/, '.0/24'), source: null });
    expect(errorAt(answer, ['sightings', 'edges', index, 'node', 'sightingOf', 'source'])[0]?.extensions).toMatchObject({ code: 'WITHHELD', owner: 'FRA', reason: 'FRA/sources-stay-in-france' });
    expect(JSON.stringify(answer)).not.toContain(indicator.source.name);
    expect(JSON.stringify(answer)).not.toContain(`'${indicator.observable}'`);
  });

  it('what even the misconfigured subgraph still refuses: the marking baseline (a TLP:RED object, a field marked TLP:RED), and the gateway agrees', async () => {
    const red = french.indicators.find((o) => o.name === 'Story: FRA TLP:RED indicator for NATO')!;
    expect(baselineFailure(US_SECRET, 'FRA', red.marking)).toBe('tlp-red');
    const query = '{ indicators(first: 500, filter: { nations: ["FRA"] }) { edges { node { id source { name } } } } }';
    const direct = await fromFrance(US_SECRET, query);
    const released = nodesOf(direct, 'indicators');
    expect(released.has(red.id)).toBe(false);
    const redSources = french.indicators.filter((o) => passes(US_SECRET, o) && !passes(US_SECRET, o, 'source'));
    expect(redSources.length).toBeGreaterThan(0);
    for (const o of redSources) {
      const { node, index } = released.get(o.id)!;
      expect(node.source).toBeNull();
      expect(errorAt(direct, ['indicators', 'edges', index, 'node', 'source'])[0]?.extensions).toMatchObject({ code: 'WITHHELD', owner: 'FRA', reason: expect.stringMatching(/^marking:/) });
    }
    const answer = await viaGateway(US_SECRET, query);
    expect(nodesOf(answer, 'indicators').has(red.id)).toBe(false);
  });
});

describe('Estonia’s subgraph releases everything; the gateway still enforces Estonia’s rules', () => {
  it('a US analyst gets exact Estonian sighting times from the misconfigured subgraph, but from the gateway only the day (EST/sighting-times-to-the-day)', async () => {
    const day = (t: string) => `${t.slice(0, 10)}T00:00:00.000Z`;
    const candidates = estonian.sightings.filter((o) => o.firstSeen && o.firstSeen !== day(o.firstSeen) && passes(US_SECRET, o, 'firstSeen'));
    expect(candidates.length).toBeGreaterThan(0);
    const query = '{ sightings(first: 500, filter: { nations: ["EST"] }) { edges { node { id firstSeen lastSeen } } } }';
    const direct = nodesOf(await fromNation('EST', US_SECRET, query), 'sightings');
    for (const o of candidates) expect(direct.get(o.id)?.node).toEqual({ id: o.id, firstSeen: o.firstSeen, lastSeen: o.lastSeen });
    const answer = await viaGateway(US_SECRET, query);
    const nodes = nodesOf(answer, 'sightings');
    for (const o of candidates) {
      const { node, index } = nodes.get(o.id)!;
      expect(node).toEqual({ id: o.id, firstSeen: day(o.firstSeen), lastSeen: day(o.lastSeen) });
      expect(answer.extensions!.sovgraph.transformed).toContainEqual({ path: ['sightings', 'edges', index, 'node', 'firstSeen'], owner: 'EST', reason: 'EST/sighting-times-to-the-day', transform: 'timestamp-day' });
    }
  });

  it('a US analyst gets the energy incidents from the misconfigured subgraph, but the gateway leaves them out entirely, in lists and by id, as if they did not exist (EST/energy-sector-incidents)', async () => {
    const energy = estonian.incidents.filter((o) => o.sector === 'energy' && passes(US_SECRET, o));
    const others = estonian.incidents.filter((o) => o.sector !== 'energy' && passes(US_SECRET, o));
    expect(energy.length).toBeGreaterThan(0);
    const query = '{ incidents(first: 500, filter: { nations: ["EST"] }) { edges { cursor node { id sector } } } }';
    const direct = nodesOf(await fromNation('EST', US_SECRET, query), 'incidents');
    for (const o of energy) expect(direct.get(o.id)?.node.sector).toBe('energy');

    const answer = await viaGateway(US_SECRET, query);
    expect(answer.errors).toBeUndefined();
    expect(answer.data.incidents.edges.map((e: any) => e.node?.id).sort()).toEqual(others.map((o) => o.id).sort());
    const one = 'query One($id: ID!) { incident(id: $id) { id sector } }';
    const hidden = await viaGateway(US_SECRET, one, { id: energy[0]!.id });
    const missing = await viaGateway(US_SECRET, one, { id: 'EST:incident--00000000-0000-4000-8000-000000000000' });
    expect(hidden).toEqual({ status: 200, data: { incident: null }, extensions: { marking: null } });
    expect(hidden).toEqual(missing);
  });
});
