/**
 * Policy stories: who asks, what they get, what they do not get, and why, over a running coalition.
 * One story (at least) per rule of every demo rule file, and one per clause of the marking baseline.
 *
 * Expectations are derived, never hard-coded: in beforeAll a privileged analyst of each owner nation
 * reads every object (its marking, its field markings, its values), and each story picks the objects
 * that fit it with the test's own model of the baseline (test/helpers/policy-world.ts). The seed is
 * the generated one plus a few `Story: …` objects that isolate clauses the seed never isolates.
 */
import { randomUUID } from 'node:crypto';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { loadRuleFolder, type Classification, type Principal } from '../../policies';
import type { GraphQLAnswer } from '../helpers/coalition';
import {
  baselineFailure,
  baselinePasses,
  combined,
  COMMUNITIES,
  RULES_DIR,
  startPolicyWorld,
  tlpRankOf,
  type Caller,
  type Marking,
  type PolicyWorld,
} from '../helpers/policy-world';

type Kind = 'indicators' | 'incidents' | 'sightings' | 'threatActors';

interface Held {
  id: string;
  stixId: string;
  nation: string;
  kind: Kind;
  marking: Marking;
  fieldMarkings: Array<{ field: string; marking: Marking }>;
  [field: string]: any;
}

const MARKING = 'marking { classification tlp releasableTo caveats }';
const FIELD_MARKINGS = `fieldMarkings { field ${MARKING} }`;
const FIELDS: Record<Kind, string> = {
  indicators: `name description pattern observable source { name kind }`,
  incidents: `name description sector victim`,
  sightings: `firstSeen lastSeen whereSighted { name kind country }`,
  threatActors: `name`,
};

const NATIONS = ['USA', 'GBR', 'FRA', 'DEU', 'EST'] as const;
const ADJECTIVE: Record<string, string> = { USA: 'US', GBR: 'British', FRA: 'French', DEU: 'German', EST: 'Estonian' };
const an = (word: string) => `${/^[AEIO]/.test(word) ? 'an' : 'a'} ${word}`;

const analyst = (nation: string, clearance: Classification, communities: string[], roles = ['analyst']): Caller => ({ nation, clearance, roles, communities });
const US_SECRET = analyst('USA', 'SECRET', ['NATO', 'FVEY']);
const GBR_SECRET = analyst('GBR', 'SECRET', ['NATO', 'FVEY']);
const FRA_SECRET = analyst('FRA', 'SECRET', ['NATO', 'EU']);
const DEU_SECRET = analyst('DEU', 'SECRET', ['NATO', 'EU']);
const EST_SECRET = analyst('EST', 'SECRET', ['NATO', 'EU']);
/** Every IPv4 in a text → its /24, as FRA and DEU release an indicator's text outside the EU (partner-ips-outside-eu). */
const slash24Everywhere = (text: string) => text.replace(/\b(\d{1,3}\.\d{1,3}\.\d{1,3})\.\d{1,3}\b/g, '$1.0/24');
/** An indicator's name as a caller outside the EU gets it. */
const nameOutsideEu = (o: { nation: string; [field: string]: any }): string => (['FRA', 'DEU'].includes(o.nation) ? slash24Everywhere(o.name) : o.name);
const OWNER = (nation: string) => analyst(nation, 'TOP_SECRET', ['NATO', 'EU', 'FVEY']);

let world: PolicyWorld;
const catalogue = new Map<Kind, Held[]>();
/** Sighting id → the id of the indicator it is a sighting of, as its owner's silo records it. */
const sighted = new Map<string, string>();
const tokens = new Map<string, Promise<string>>();

function tokenFor(caller: Caller): Promise<string> {
  const key = JSON.stringify(caller);
  if (!tokens.has(key)) tokens.set(key, world.token(caller));
  return tokens.get(key)!;
}

async function askAs(caller: Caller, query: string, variables?: Record<string, unknown>): Promise<GraphQLAnswer> {
  const answer = await world.ask(await tokenFor(caller), query, variables);
  expect(answer.status).toBe(200);
  return answer;
}

/** Everything of `kind` the caller gets (optionally of some nations), with the path of each node. */
async function list(caller: Caller, kind: Kind, fields: string, nations?: readonly string[]) {
  const answer = await askAs(caller, `query L($filter: ObjectFilter) { ${kind}(first: 500, filter: $filter) { edges { node { id nation ${fields} } } pageInfo { hasNextPage } } }`, {
    filter: nations ? { nations } : {},
  });
  expect(answer.data[kind].pageInfo.hasNextPage).toBe(false);
  const nodes: any[] = answer.data[kind].edges.map((e: any) => e.node);
  const index = new Map(nodes.map((n, i) => [n.id as string, i]));
  return {
    answer,
    nodes,
    ids: new Set(index.keys()),
    node: (id: string) => (index.has(id) ? nodes[index.get(id)!] : undefined),
    path: (id: string, ...rest: Array<string | number>) => {
      expect(index.has(id), `${id} is in the answer`).toBe(true);
      return [kind, 'edges', index.get(id)!, 'node', ...rest];
    },
  };
}

function held(kind: Kind, predicate: (o: Held) => unknown = () => true): Held[] {
  return catalogue.get(kind)!.filter(predicate);
}

function named(kind: Kind, name: string): Held {
  const found = held(kind, (o) => o.name === name);
  expect(found, `the story object "${name}"`).toHaveLength(1);
  return found[0]!;
}

function confirmed(caller: Caller): string[] {
  return caller.communities.filter((c) => (COMMUNITIES[c] ?? []).includes(caller.nation));
}

/** Whether the caller may know the object exists: the baseline, then the rules that speak of `id`. */
function visible(caller: Caller, o: Held): boolean {
  if (!baselinePasses(caller, o.nation, o.marking)) return false;
  // COALITION/amber-needs-analyst
  if (!caller.roles.includes('analyst') && tlpRankOf(o.marking.tlp) >= tlpRankOf('AMBER')) return false;
  // EST/energy-sector-incidents
  if (o.kind === 'incidents' && o.nation === 'EST' && caller.nation !== 'EST' && !confirmed(caller).includes('EU') && o.sector === 'energy') return false;
  return true;
}

function fieldMarkingOf(o: Held, field: string): Marking | undefined {
  return o.fieldMarkings.find((f) => f.field === field)?.marking;
}

/** The marking that governs one field: the object's, made stricter by a granular marking on it. */
function markingOfField(o: Held, field: string): Marking {
  const fm = fieldMarkingOf(o, field);
  return fm ? combined([o.marking, fm]) : o.marking;
}

function fieldPasses(caller: Caller, o: Held, field: string): boolean {
  return baselinePasses(caller, o.nation, markingOfField(o, field));
}

function errorAt(answer: GraphQLAnswer, path: Array<string | number>) {
  return answer.errors?.find((e) => JSON.stringify(e.path) === JSON.stringify(path));
}

function expectWithheld(answer: GraphQLAnswer, path: Array<string | number>, owner: string, reason: string) {
  const error = errorAt(answer, path);
  expect(error, `an error at ${path.join('.')}`).toBeDefined();
  expect(error!.extensions).toMatchObject({ code: 'WITHHELD', owner, reason });
}

function altered(answer: GraphQLAnswer, list: 'redacted' | 'transformed'): Array<{ path: Array<string | number>; owner: string; reason: string; transform?: string }> {
  return answer.extensions?.sovgraph?.[list] ?? [];
}

function alteredAt(answer: GraphQLAnswer, list: 'redacted' | 'transformed', path: Array<string | number>) {
  return altered(answer, list).find((a) => JSON.stringify(a.path) === JSON.stringify(path));
}

const sorted = (values: Iterable<string>) => [...values].sort();
const madeUpId = (nation: string, type: string) => `${nation}:${type}--${randomUUID()}`;

beforeAll(async () => {
  world = await startPolicyWorld({ seedSize: 90 });
  await Promise.all(
    NATIONS.flatMap((nation) =>
      (Object.keys(FIELDS) as Kind[]).map(async (kind) => {
        const { answer, nodes } = await list(OWNER(nation), kind, `stixId ${MARKING} ${FIELD_MARKINGS} ${FIELDS[kind]}`, [nation]);
        // The owner's own analyst, cleared TOP SECRET, is refused nothing of its own nation's.
        expect(answer.errors ?? []).toEqual([]);
        catalogue.set(kind, [...(catalogue.get(kind) ?? []), ...nodes.map((n) => ({ ...n, kind }))]);
      }),
    ),
  );
  // Each silo, asked directly as its own nation: the catalogue holds every object it holds, and
  // what each sighting is a sighting of (another nation's indicator, by id).
  await Promise.all(
    NATIONS.map(async (nation) => {
      const system: Principal = { subject: 'policy-stories', nation, clearance: 'TOP_SECRET', roles: ['analyst'], communities: [] };
      const answer = await world.askNation(nation, system, `{
        indicators(first: 500) { edges { node { id } } } incidents(first: 500) { edges { node { id } } }
        threatActors(first: 500) { edges { node { id } } } sightings(first: 500) { edges { node { id sightingOf { id } } } }
      }`);
      for (const kind of Object.keys(FIELDS) as Kind[]) {
        expect(sorted(answer.data[kind].edges.map((e: any) => e.node.id)), `${nation} ${kind}`).toEqual(sorted(held(kind, (o) => o.nation === nation).map((o) => o.id)));
      }
      for (const { node } of answer.data.sightings.edges) if (node.sightingOf) sighted.set(node.id, node.sightingOf.id);
    }),
  );
}, 240_000);

afterAll(async () => world?.stop());

// ---------------------------------------------------------------------------------------------------
// the demo rules

describe('sources and methods never leave their nation', () => {
  const cases = [
    { owner: 'USA', rule: 'USA/sources-stay-in-usa', caller: GBR_SECRET },
    { owner: 'GBR', rule: 'GBR/sources-stay-in-uk', caller: US_SECRET },
    { owner: 'FRA', rule: 'FRA/sources-stay-in-france', caller: US_SECRET },
    { owner: 'DEU', rule: 'DEU/sources-stay-in-germany', caller: US_SECRET },
    { owner: 'EST', rule: 'EST/sources-stay-in-estonia', caller: US_SECRET },
  ].map((c) => ({ ...c, who: ADJECTIVE[c.caller.nation], whose: ADJECTIVE[c.owner] }));

  for (const { owner, rule, caller, who, whose } of cases) it(`${an(who)} analyst cleared SECRET asks for ${whose} indicators and gets their names and patterns but not their sources (${rule}); ${an(whose)} analyst cleared SECRET gets the sources`, async () => {
    const candidates = held('indicators', (o) => o.nation === owner && o.source && visible(caller, o) && fieldPasses(caller, o, 'source'));
    expect(candidates.length).toBeGreaterThan(0);
    const foreign = await list(caller, 'indicators', 'name pattern source { name kind }', [owner]);
    for (const o of candidates) {
      const node = foreign.node(o.id);
      expect(node.name).toBe(nameOutsideEu(o));
      expect(typeof node.pattern).toBe('string');
      expect(node.source).toBeNull();
      expectWithheld(foreign.answer, foreign.path(o.id, 'source'), owner, rule);
    }
    // No source of the owner's at all reaches the foreign analyst.
    expect(foreign.nodes.every((n) => n.source === null)).toBe(true);

    const own = analyst(owner, 'SECRET', ['NATO']);
    const ownCandidates = candidates.filter((o) => visible(own, o) && fieldPasses(own, o, 'source'));
    expect(ownCandidates.length).toBeGreaterThan(0);
    const home = await list(own, 'indicators', 'source { name kind }', [owner]);
    for (const o of ownCandidates) {
      expect(home.node(o.id).source).toEqual(o.source);
      expect(errorAt(home.answer, home.path(o.id, 'source'))).toBeUndefined();
    }
  });
});

describe('incident victims are redacted below SECRET', () => {
  const cases = [
    { owner: 'USA', caller: 'DEU' },
    { owner: 'GBR', caller: 'FRA' },
    { owner: 'FRA', caller: 'DEU' },
    { owner: 'DEU', caller: 'FRA' },
  ].map((c) => ({ ...c, rule: `${c.owner}/victims-below-secret`, who: ADJECTIVE[c.caller], whose: ADJECTIVE[c.owner] }));

  for (const { owner, caller: nation, rule, who, whose } of cases) it(`${an(who)} analyst cleared CONFIDENTIAL asks for ${whose} incidents and gets their titles but the victims only as [REDACTED], listed in extensions.sovgraph.redacted (${rule}); one cleared SECRET gets the victims`, async () => {
    const confidential = analyst(nation, 'CONFIDENTIAL', ['NATO', 'EU']);
    const secret = analyst(nation, 'SECRET', ['NATO', 'EU']);
    const candidates = held('incidents', (o) => o.nation === owner && o.victim && visible(confidential, o));
    expect(candidates.length).toBeGreaterThan(0);

    const low = await list(confidential, 'incidents', 'name victim', [owner]);
    for (const o of candidates) {
      expect(low.node(o.id).name).toBe(o.name);
      expect(low.node(o.id).victim).toBe('[REDACTED]');
      expect(alteredAt(low.answer, 'redacted', low.path(o.id, 'victim'))).toEqual({ path: low.path(o.id, 'victim'), owner, reason: rule });
    }
    expect(low.nodes.filter((n) => n.victim !== null).every((n) => n.victim === '[REDACTED]')).toBe(true);

    const high = await list(secret, 'incidents', 'name victim', [owner]);
    for (const o of candidates) {
      expect(high.node(o.id).victim).toBe(o.victim);
      expect(alteredAt(high.answer, 'redacted', high.path(o.id, 'victim'))).toBeUndefined();
    }
  });
});

describe('partner IPs are generalised outside the EU', () => {
  const IPV4 = /^(\d{1,3}\.\d{1,3}\.\d{1,3})\.\d{1,3}$/;
  const cases = [
    { owner: 'FRA', rule: 'FRA/partner-ips-outside-eu', eu: DEU_SECRET },
    { owner: 'DEU', rule: 'DEU/partner-ips-outside-eu', eu: FRA_SECRET },
  ].map((c) => ({ ...c, whose: ADJECTIVE[c.owner], who: ADJECTIVE[c.eu.nation] }));

  for (const { owner, rule, eu, who, whose } of cases) it(`a US analyst asks for ${whose} indicators whose observable is an IPv4 and gets it as its /24 in observable, pattern, name and description (${rule}), even when the token claims the EU; ${an(who)} analyst, in the EU, gets the full address`, async () => {
    const candidates = held('indicators', (o) => o.nation === owner && IPV4.test(o.observable ?? '') && visible(US_SECRET, o) && visible(eu, o));
    expect(candidates.length).toBeGreaterThan(0);
    for (const caller of [US_SECRET, { ...US_SECRET, communities: ['NATO', 'FVEY', 'EU'] }]) {
      const us = await list(caller, 'indicators', 'observable pattern name description', [owner]);
      for (const o of candidates) {
        const slash24 = `${IPV4.exec(o.observable)![1]}.0/24`;
        expect(us.node(o.id).observable).toBe(slash24);
        expect(us.node(o.id).pattern).toBe(o.pattern.replace(o.observable, slash24));
        expect(us.node(o.id).name).toBe(slash24Everywhere(o.name));
        expect(us.node(o.id).description).toBe(slash24Everywhere(o.description));
        for (const field of ['observable', 'pattern', 'name', 'description']) {
          expect(alteredAt(us.answer, 'transformed', us.path(o.id, field))).toEqual({ path: us.path(o.id, field), owner, reason: rule, transform: 'ipv4-slash24' });
        }
      }
      expect(JSON.stringify(us.answer)).not.toContain(`'${candidates[0]!.observable}'`);
    }
    const inEu = await list(eu, 'indicators', 'observable pattern name description', [owner]);
    for (const o of candidates) {
      expect(inEu.node(o.id)).toMatchObject({ observable: o.observable, pattern: o.pattern, name: o.name, description: o.description });
      expect(alteredAt(inEu.answer, 'transformed', inEu.path(o.id, 'observable'))).toBeUndefined();
    }
  });
});

describe('where a nation sighted something', () => {
  it('a German analyst asks for French sightings and gets when but not where (FRA/sighting-places-stay-in-france); a French analyst gets the places', async () => {
    const candidates = held('sightings', (o) => o.nation === 'FRA' && o.whereSighted?.length && visible(DEU_SECRET, o) && fieldPasses(DEU_SECRET, o, 'whereSighted'));
    expect(candidates.length).toBeGreaterThan(0);
    const deu = await list(DEU_SECRET, 'sightings', 'firstSeen whereSighted { name country }', ['FRA']);
    for (const o of candidates) {
      expect(deu.node(o.id).firstSeen).toBe(o.firstSeen);
      expect(deu.node(o.id).whereSighted).toBeNull();
      expectWithheld(deu.answer, deu.path(o.id, 'whereSighted'), 'FRA', 'FRA/sighting-places-stay-in-france');
    }
    const fra = await list(FRA_SECRET, 'sightings', 'whereSighted { name country }', ['FRA']);
    const home = candidates.filter((o) => visible(FRA_SECRET, o) && fieldPasses(FRA_SECRET, o, 'whereSighted'));
    expect(home.length).toBeGreaterThan(0);
    for (const o of home) expect(fra.node(o.id).whereSighted).toEqual(o.whereSighted.map((p: any) => ({ name: p.name, country: p.country })));
  });

  it('a French analyst asks for German sightings and learns only the country of each place (DEU/sighting-places-as-countries); a German analyst gets the places themselves', async () => {
    const candidates = held('sightings', (o) => o.nation === 'DEU' && o.whereSighted?.length && visible(FRA_SECRET, o) && fieldPasses(FRA_SECRET, o, 'whereSighted'));
    expect(candidates.some((o) => o.whereSighted.some((p: any) => p.country && p.name))).toBe(true);
    const fra = await list(FRA_SECRET, 'sightings', 'whereSighted { name kind country }', ['DEU']);
    for (const o of candidates) {
      expect(fra.node(o.id).whereSighted).toEqual(o.whereSighted.map((p: any) => ({ name: null, kind: null, country: p.country })));
      expect(alteredAt(fra.answer, 'transformed', fra.path(o.id, 'whereSighted'))).toEqual({
        path: fra.path(o.id, 'whereSighted'),
        owner: 'DEU',
        reason: 'DEU/sighting-places-as-countries',
        transform: 'location-country',
      });
    }
    const deu = await list(DEU_SECRET, 'sightings', 'whereSighted { name kind country }', ['DEU']);
    for (const o of candidates.filter((c) => visible(DEU_SECRET, c) && fieldPasses(DEU_SECRET, c, 'whereSighted'))) {
      expect(deu.node(o.id).whereSighted).toEqual(o.whereSighted);
    }
  });

  it('a German analyst (NATO, not Five Eyes) asks for US sightings and gets no places, even with a token claiming Five Eyes (USA/sighting-places-outside-fvey); a British analyst in Five Eyes gets them', async () => {
    const candidates = held('sightings', (o) => o.nation === 'USA' && o.whereSighted?.length && visible(DEU_SECRET, o) && fieldPasses(DEU_SECRET, o, 'whereSighted') && visible(GBR_SECRET, o) && fieldPasses(GBR_SECRET, o, 'whereSighted'));
    expect(candidates.length).toBeGreaterThan(0);
    for (const caller of [DEU_SECRET, { ...DEU_SECRET, communities: ['NATO', 'EU', 'FVEY'] }]) {
      const deu = await list(caller, 'sightings', 'firstSeen whereSighted { name }', ['USA']);
      for (const o of candidates) {
        expect(deu.node(o.id).firstSeen).toBe(o.firstSeen);
        expect(deu.node(o.id).whereSighted).toBeNull();
        expectWithheld(deu.answer, deu.path(o.id, 'whereSighted'), 'USA', 'USA/sighting-places-outside-fvey');
      }
    }
    const gbr = await list(GBR_SECRET, 'sightings', 'whereSighted { name kind country }', ['USA']);
    for (const o of candidates) {
      expect(gbr.node(o.id).whereSighted).toEqual(o.whereSighted);
      expect(errorAt(gbr.answer, gbr.path(o.id, 'whereSighted'))).toBeUndefined();
    }
  });

  it('a US analyst asks for Estonian sightings and gets first and last seen only to the day (EST/sighting-times-to-the-day); an Estonian analyst gets the exact times', async () => {
    const day = (t: string) => `${t.slice(0, 10)}T00:00:00.000Z`;
    const candidates = held('sightings', (o) => o.nation === 'EST' && o.firstSeen && o.lastSeen && visible(US_SECRET, o) && visible(EST_SECRET, o));
    expect(candidates.some((o) => o.firstSeen !== day(o.firstSeen))).toBe(true);
    const us = await list(US_SECRET, 'sightings', 'firstSeen lastSeen', ['EST']);
    for (const o of candidates) {
      expect(us.node(o.id)).toMatchObject({ firstSeen: day(o.firstSeen), lastSeen: day(o.lastSeen) });
      for (const field of ['firstSeen', 'lastSeen']) {
        expect(alteredAt(us.answer, 'transformed', us.path(o.id, field))).toMatchObject({ owner: 'EST', reason: 'EST/sighting-times-to-the-day', transform: 'timestamp-day' });
      }
    }
    const est = await list(EST_SECRET, 'sightings', 'firstSeen lastSeen', ['EST']);
    for (const o of candidates) expect(est.node(o.id)).toMatchObject({ firstSeen: o.firstSeen, lastSeen: o.lastSeen });
  });
});

describe('British incident descriptions outside Five Eyes', () => {
  it('a French analyst asks for British incidents and gets each description cut to its first sentence (GBR/descriptions-outside-fvey), as does a US analyst whose token leaves out Five Eyes; a US analyst in Five Eyes gets them whole', async () => {
    const firstSentence = (text: string) => /^[\s\S]*?[.!?](?=\s|$)/.exec(text)![0].trim();
    const usNatoOnly = { ...US_SECRET, communities: ['NATO'] };
    const candidates = held('incidents', (o) => o.nation === 'GBR' && o.description && firstSentence(o.description) !== o.description && [FRA_SECRET, US_SECRET, usNatoOnly].every((c) => visible(c, o) && fieldPasses(c, o, 'description')));
    expect(candidates.length).toBeGreaterThan(0);
    for (const caller of [FRA_SECRET, usNatoOnly]) {
      const cut = await list(caller, 'incidents', 'name description', ['GBR']);
      for (const o of candidates) {
        expect(cut.node(o.id)).toEqual({ id: o.id, nation: 'GBR', name: o.name, description: firstSentence(o.description) });
        expect(alteredAt(cut.answer, 'transformed', cut.path(o.id, 'description'))).toEqual({ path: cut.path(o.id, 'description'), owner: 'GBR', reason: 'GBR/descriptions-outside-fvey', transform: 'first-sentence' });
      }
    }
    const whole = await list(US_SECRET, 'incidents', 'description', ['GBR']);
    for (const o of candidates) {
      expect(whole.node(o.id).description).toBe(o.description);
      expect(alteredAt(whole.answer, 'transformed', whole.path(o.id, 'description'))).toBeUndefined();
    }
  });
});

describe('Estonian energy-sector incidents', () => {
  it('a US analyst (outside the EU) asks for Estonian incidents and gets none in the energy sector, not even by id, while those of other sectors marked alike are there (EST/energy-sector-incidents); a French analyst (EU) gets them', async () => {
    const energy = held('incidents', (o) => o.nation === 'EST' && o.sector === 'energy' && baselinePasses(US_SECRET, 'EST', o.marking));
    const others = held('incidents', (o) => o.nation === 'EST' && o.sector !== 'energy' && visible(US_SECRET, o));
    expect(energy.length).toBeGreaterThan(0);
    expect(others.length).toBeGreaterThan(0);

    const us = await list(US_SECRET, 'incidents', 'sector', ['EST']);
    expect(sorted(us.ids)).toEqual(sorted(held('incidents', (o) => o.nation === 'EST' && visible(US_SECRET, o)).map((o) => o.id)));
    for (const o of energy) expect(us.ids.has(o.id)).toBe(false);
    for (const o of others) expect(us.ids.has(o.id)).toBe(true);
    const byId = await askAs(US_SECRET, 'query One($id: ID!) { incident(id: $id) { id sector } }', { id: energy[0]!.id });
    expect(byId).toEqual({ status: 200, data: { incident: null }, extensions: { marking: null } });

    const fra = await list(FRA_SECRET, 'incidents', 'sector', ['EST']);
    for (const o of energy.filter((e) => visible(FRA_SECRET, e))) expect(fra.node(o.id)).toMatchObject({ sector: 'energy' });
    expect(energy.some((e) => visible(FRA_SECRET, e))).toBe(true);
  });
});

describe('the coalition: TLP:AMBER and stricter needs the analyst role', () => {
  it('a German official cleared SECRET without the analyst role sees no TLP:AMBER, AMBER+STRICT or RED object of any nation, in any list or by id (COALITION/amber-needs-analyst); with the role, the same official sees them', async () => {
    const official = analyst('DEU', 'SECRET', ['NATO', 'EU'], ['duty-officer']);
    const withRole = { ...official, roles: ['duty-officer', 'analyst'] };
    let amberSeenWithRole = 0;
    for (const kind of Object.keys(FIELDS) as Kind[]) {
      const without = await list(official, kind, MARKING);
      expect(without.nodes.every((n) => tlpRankOf(n.marking.tlp) < tlpRankOf('AMBER')), kind).toBe(true);
      expect(sorted(without.ids), kind).toEqual(sorted(held(kind, (o) => visible(official, o)).map((o) => o.id)));
      const withIt = await list(withRole, kind, MARKING);
      expect(sorted(withIt.ids), kind).toEqual(sorted(held(kind, (o) => visible(withRole, o)).map((o) => o.id)));
      amberSeenWithRole += withIt.nodes.filter((n) => tlpRankOf(n.marking.tlp) >= tlpRankOf('AMBER')).length;
    }
    expect(amberSeenWithRole).toBeGreaterThan(0);
    const amber = held('indicators', (o) => o.marking.tlp === 'AMBER' && visible(withRole, o))[0]!;
    const query = 'query One($id: ID!) { indicator(id: $id) { id name } }';
    expect((await askAs(withRole, query, { id: amber.id })).data.indicator).toEqual({ id: amber.id, name: amber.name });
    expect(await askAs(official, query, { id: amber.id })).toEqual({ status: 200, data: { indicator: null }, extensions: { marking: null } });
  });
});

describe('what the markings allow is released (release-what-markings-allow)', () => {
  it('a British analyst cleared SECRET gets every field of a US indicator that no rule restricts, exactly as its owner holds it', async () => {
    const o = named('indicators', 'Story: USA indicator for NATO');
    const gbr = await askAs(GBR_SECRET, `query One($id: ID!) { indicator(id: $id) { id nation name description pattern observable ${MARKING} } }`, { id: o.id });
    expect(gbr.errors).toBeUndefined();
    expect(gbr.data.indicator).toEqual({ id: o.id, nation: 'USA', name: o.name, description: o.description, pattern: o.pattern, observable: o.observable, marking: o.marking });
  });

  it('every rule of every demo rule file has a story in this file', () => {
    const told = new Set(STORIES_TOLD);
    const rules = loadRuleFolder(RULES_DIR).flatMap((file) => file.rules.map((rule) => `${file.nation}/${rule.id}`));
    expect(rules.length).toBeGreaterThan(20);
    expect(rules.filter((rule) => !told.has(rule) && !told.has(`*/${rule.split('/')[1]}`))).toEqual([]);
  });
});

// The rules the stories above tell ("*/<id>": the same rule in every nation file that has it).
const STORIES_TOLD = [
  '*/release-what-markings-allow',
  'USA/sources-stay-in-usa',
  'GBR/sources-stay-in-uk',
  'FRA/sources-stay-in-france',
  'DEU/sources-stay-in-germany',
  'EST/sources-stay-in-estonia',
  'USA/victims-below-secret',
  'GBR/victims-below-secret',
  'FRA/victims-below-secret',
  'DEU/victims-below-secret',
  'FRA/partner-ips-outside-eu',
  'DEU/partner-ips-outside-eu',
  'FRA/sighting-places-stay-in-france',
  'DEU/sighting-places-as-countries',
  'USA/sighting-places-outside-fvey',
  'EST/sighting-times-to-the-day',
  'GBR/descriptions-outside-fvey',
  'EST/energy-sector-incidents',
  'COALITION/amber-needs-analyst',
];

describe('a protected value does not come back through another field', () => {
  it('a US analyst asking for French indicators never reads the name of a French source anywhere in the answer (FRA/sources-stay-in-france)', async () => {
    const sources = held('indicators', (o) => o.nation === 'FRA' && o.source && visible(US_SECRET, o)).map((o) => o.source.name as string);
    expect(sources.length).toBeGreaterThan(0);
    const us = await list(US_SECRET, 'indicators', 'name description pattern observable source { name kind }', ['FRA']);
    const text = JSON.stringify(us.answer);
    expect(sources.filter((name) => text.includes(name))).toEqual([]);
  });

  it('a US analyst asking for French indicators never reads a full French IPv4 address anywhere in the answer (FRA/partner-ips-outside-eu)', async () => {
    const addresses = held('indicators', (o) => o.nation === 'FRA' && /^\d+\.\d+\.\d+\.\d+$/.test(o.observable ?? '') && visible(US_SECRET, o)).map((o) => o.observable as string);
    expect(addresses.length).toBeGreaterThan(0);
    const us = await list(US_SECRET, 'indicators', 'name description pattern observable', ['FRA']);
    const text = JSON.stringify(us.answer);
    expect(addresses.filter((ip) => new RegExp(`${ip.replace(/\./g, '\\.')}(?!\\d)`).test(text))).toEqual([]);
  });
});

// ---------------------------------------------------------------------------------------------------
// the marking baseline

describe('the marking baseline', () => {
  it('a French analyst cleared CONFIDENTIAL does not see French indicators or threat actors classified SECRET or above: absent from every list, and by id null without an error, exactly like an id that does not exist', async () => {
    const fra = analyst('FRA', 'CONFIDENTIAL', ['NATO', 'EU']);
    for (const kind of ['indicators', 'threatActors'] as const) {
      const above = held(kind, (o) => o.nation === 'FRA' && baselineFailure(fra, 'FRA', o.marking) === 'clearance');
      expect(above.length, kind).toBeGreaterThan(0);
      const got = await list(fra, kind, '', ['FRA']);
      expect(sorted(got.ids)).toEqual(sorted(held(kind, (o) => o.nation === 'FRA' && visible(fra, o)).map((o) => o.id)));
      for (const o of above) expect(got.ids.has(o.id)).toBe(false);
      const [field, stixType] = kind === 'indicators' ? ['indicator', 'indicator'] : ['threatActor', above[0]!.stixId.split('--')[0]!];
      const query = `query One($id: ID!) { x: ${field}(id: $id) { id name } }`;
      const hidden = await askAs(fra, query, { id: above[0]!.id });
      const missing = await askAs(fra, query, { id: madeUpId('FRA', stixType) });
      expect(hidden).toEqual({ status: 200, data: { x: null }, extensions: { marking: null } });
      expect(hidden).toEqual(missing);
    }
  });

  it('TLP:RED never leaves its owner: a German analyst cleared TOP SECRET in NATO does not see a French TLP:RED indicator released to NATO, nor any TLP:RED object of another nation; a French analyst does', async () => {
    const deu = analyst('DEU', 'TOP_SECRET', ['NATO', 'EU']);
    const red = named('indicators', 'Story: FRA TLP:RED indicator for NATO');
    expect(red.marking).toMatchObject({ tlp: 'RED', releasableTo: ['NATO'], caveats: [] });
    expect(baselineFailure(deu, 'FRA', red.marking)).toBe('tlp-red');
    const got = await list(deu, 'indicators', MARKING);
    expect(got.ids.has(red.id)).toBe(false);
    expect(got.nodes.filter((n) => n.nation !== 'DEU' && n.marking.tlp === 'RED')).toEqual([]);
    const query = 'query One($id: ID!) { indicator(id: $id) { id } }';
    expect(await askAs(deu, query, { id: red.id })).toEqual(await askAs(deu, query, { id: madeUpId('FRA', 'indicator') }));
    expect((await askAs(analyst('FRA', 'RESTRICTED', []), query, { id: red.id })).data.indicator).toEqual({ id: red.id });
  });

  it('NOFORN: a US indicator marked NOFORN but released to NATO is hidden from a British analyst cleared TOP SECRET in NATO and Five Eyes, while its twin without NOFORN is shown; a US analyst sees both', async () => {
    const gbr = analyst('GBR', 'TOP_SECRET', ['NATO', 'FVEY']);
    const noforn = named('indicators', 'Story: USA NOFORN indicator for NATO');
    const twin = named('indicators', 'Story: USA indicator for NATO');
    expect(noforn.marking).toEqual({ ...twin.marking, caveats: ['NOFORN'] });
    expect(baselineFailure(gbr, 'USA', noforn.marking)).toBe('noforn');
    const got = await list(gbr, 'indicators', '', ['USA']);
    expect(got.ids.has(twin.id)).toBe(true);
    expect(got.ids.has(noforn.id)).toBe(false);
    expect(sorted(got.ids)).toEqual(sorted(held('indicators', (o) => o.nation === 'USA' && visible(gbr, o)).map((o) => o.id)));
    const query = 'query One($id: ID!) { indicator(id: $id) { id } }';
    expect(await askAs(gbr, query, { id: noforn.id })).toEqual({ status: 200, data: { indicator: null }, extensions: { marking: null } });
    const usa = await list(analyst('USA', 'CONFIDENTIAL', []), 'indicators', '', ['USA']);
    expect(usa.ids.has(twin.id) && usa.ids.has(noforn.id)).toBe(true);
  });

  it('releasability to named nations: objects released to the US by name (and to no community) are shown to a US analyst and hidden from a German analyst of the same clearance and role', async () => {
    const deu = { ...DEU_SECRET, communities: ['NATO', 'EU', 'FVEY'] };
    const candidates = NATIONS.filter((n) => n !== 'USA' && n !== 'DEU').flatMap((n) =>
      held('indicators', (o) => o.nation === n && o.marking.releasableTo.includes('USA') && o.marking.releasableTo.every((r) => !COMMUNITIES[r]) && visible(US_SECRET, o)),
    );
    expect(candidates.length).toBeGreaterThan(0);
    for (const o of candidates) expect(baselineFailure(deu, o.nation, o.marking)).toBe('releasability');
    const us = await list(US_SECRET, 'indicators', '');
    const de = await list(deu, 'indicators', '');
    for (const o of candidates) {
      expect(us.ids.has(o.id)).toBe(true);
      expect(de.ids.has(o.id)).toBe(false);
    }
  });

  it('communities count only when the coalition confirms them: a British analyst in Five Eyes sees a US indicator released to FVEY, a German analyst whose token claims FVEY does not (and is told its communities without FVEY); a German token claiming only the EU sees French objects released to the EU, one claiming nothing does not', async () => {
    const fvey = named('indicators', 'Story: USA indicator for Five Eyes');
    expect(fvey.marking.releasableTo).toEqual(['FVEY', 'USA']);
    const gbr = analyst('GBR', 'SECRET', ['FVEY']);
    const deuClaimsFvey = analyst('DEU', 'SECRET', ['NATO', 'EU', 'FVEY']);
    expect((await list(gbr, 'indicators', '', ['USA'])).ids.has(fvey.id)).toBe(true);
    expect((await list(deuClaimsFvey, 'indicators', '', ['USA'])).ids.has(fvey.id)).toBe(false);
    const me = await askAs(deuClaimsFvey, '{ me { nation communities } }');
    expect({ ...me.data.me, communities: sorted(me.data.me.communities) }).toEqual({ nation: 'DEU', communities: ['EU', 'NATO'] });

    const euOnly = analyst('DEU', 'SECRET', ['EU']);
    const nothing = analyst('DEU', 'SECRET', []);
    const forEu = held('indicators', (o) => o.nation === 'FRA' && o.marking.releasableTo.includes('EU') && !o.marking.releasableTo.includes('DEU') && visible(euOnly, o));
    expect(forEu.length).toBeGreaterThan(0);
    const withEu = await list(euOnly, 'indicators', '', ['FRA']);
    const without = await list(nothing, 'indicators', '', ['FRA']);
    for (const o of forEu) {
      expect(withEu.ids.has(o.id)).toBe(true);
      expect(without.ids.has(o.id)).toBe(false);
    }
    expect(sorted(without.ids)).toEqual(sorted(held('indicators', (o) => o.nation === 'FRA' && visible(nothing, o)).map((o) => o.id)));
  });

  it('TLP:AMBER+STRICT counts only nations named: a German analyst in the EU does not see a French AMBER+STRICT indicator released to the EU, but sees one released to Germany by name and an AMBER one released to the EU; an Estonian analyst sees only the AMBER one', async () => {
    const strictEu = named('indicators', 'Story: FRA AMBER+STRICT indicator for the EU');
    const strictDeu = named('indicators', 'Story: FRA AMBER+STRICT indicator for Germany');
    const amberEu = named('indicators', 'Story: FRA AMBER indicator for the EU');
    expect(strictEu.marking).toMatchObject({ tlp: 'AMBER_STRICT', releasableTo: ['EU', 'FRA'] });
    expect(strictDeu.marking).toMatchObject({ tlp: 'AMBER_STRICT', releasableTo: ['DEU', 'FRA'] });
    expect(amberEu.marking).toMatchObject({ tlp: 'AMBER', releasableTo: ['EU', 'FRA'] });
    const deu = await list(DEU_SECRET, 'indicators', '', ['FRA']);
    expect([deu.ids.has(strictEu.id), deu.ids.has(strictDeu.id), deu.ids.has(amberEu.id)]).toEqual([false, true, true]);
    const est = await list(EST_SECRET, 'indicators', '', ['FRA']);
    expect([est.ids.has(strictEu.id), est.ids.has(strictDeu.id), est.ids.has(amberEu.id)]).toEqual([false, false, true]);
    const fra = await list(analyst('FRA', 'RESTRICTED', []), 'indicators', '', ['FRA']);
    expect([fra.ids.has(strictEu.id), fra.ids.has(strictDeu.id), fra.ids.has(amberEu.id)]).toEqual([true, true, true]);
  });
});

describe('granular markings withhold just the field they mark', () => {
  it('a German analyst asks for French indicators whose description is marked for France only: the description is null (marking:releasability) while name and pattern are released', async () => {
    const candidates = held('indicators', (o) => o.nation === 'FRA' && fieldMarkingOf(o, 'description') && visible(DEU_SECRET, o) && baselineFailure(DEU_SECRET, 'FRA', markingOfField(o, 'description')) === 'releasability');
    expect(candidates.length).toBeGreaterThan(0);
    const deu = await list(DEU_SECRET, 'indicators', 'name description pattern', ['FRA']);
    for (const o of candidates) {
      expect(deu.node(o.id)).toEqual({ id: o.id, nation: 'FRA', name: o.name, description: null, pattern: o.pattern });
      expectWithheld(deu.answer, deu.path(o.id, 'description'), 'FRA', 'marking:releasability');
      expect(errorAt(deu.answer, deu.path(o.id, 'name'))).toBeUndefined();
    }
  });

  it('a British analyst asks for a US indicator whose description alone is marked NOFORN: the description is null (marking:noforn), the rest is released', async () => {
    const o = named('indicators', 'Story: USA indicator with a NOFORN description');
    expect(fieldMarkingOf(o, 'description')!.caveats).toEqual(['NOFORN']);
    expect(o.marking.caveats).toEqual([]);
    const gbr = await list(GBR_SECRET, 'indicators', 'name description pattern', ['USA']);
    expect(gbr.node(o.id)).toEqual({ id: o.id, nation: 'USA', name: o.name, description: null, pattern: o.pattern });
    expectWithheld(gbr.answer, gbr.path(o.id, 'description'), 'USA', 'marking:noforn');
  });

  it('a German analyst cleared CONFIDENTIAL asks for a US indicator whose description alone is marked SECRET: the description is null (marking:clearance), the rest is released; cleared SECRET, the analyst reads it', async () => {
    const o = named('indicators', 'Story: USA indicator with a SECRET description');
    expect([o.marking.classification, fieldMarkingOf(o, 'description')!.classification]).toEqual(['UNCLASSIFIED', 'SECRET']);
    const low = await list(analyst('DEU', 'CONFIDENTIAL', ['NATO']), 'indicators', 'name description', ['USA']);
    expect(low.node(o.id)).toEqual({ id: o.id, nation: 'USA', name: o.name, description: null });
    expectWithheld(low.answer, low.path(o.id, 'description'), 'USA', 'marking:clearance');
    const high = await list(DEU_SECRET, 'indicators', 'description', ['USA']);
    expect(high.node(o.id).description).toBe(o.description);
  });

  it('sources marked TLP:RED at field level are withheld from a partner for the marking itself (marking:tlp-red), before any nation rule', async () => {
    const candidates = held('indicators', (o) => o.nation !== 'USA' && visible(US_SECRET, o) && baselineFailure(US_SECRET, o.nation, markingOfField(o, 'source')) === 'tlp-red');
    expect(candidates.length).toBeGreaterThan(0);
    const us = await list(US_SECRET, 'indicators', 'name source { name }');
    for (const o of candidates) {
      expect(us.node(o.id)).toMatchObject({ name: nameOutsideEu(o), source: null });
      expectWithheld(us.answer, us.path(o.id, 'source'), o.nation, 'marking:tlp-red');
    }
  });
});

// ---------------------------------------------------------------------------------------------------
// the roll-up, references, pages

describe('extensions.marking: the marking of what was released', () => {
  it('asking for one known object gives exactly its marking, and owners [its nation]', async () => {
    const o = held('indicators', (x) => x.nation === 'FRA' && x.marking.caveats.length > 0 && visible(DEU_SECRET, x))[0]!;
    expect(o).toBeDefined();
    const answer = await askAs(DEU_SECRET, 'query One($id: ID!) { indicator(id: $id) { id name } }', { id: o.id });
    expect(answer.data.indicator).toEqual({ id: o.id, name: o.name });
    expect(answer.extensions!.marking).toEqual({ ...o.marking, owners: ['FRA'] });
  });

  it('asking across nations gives the highest classification and TLP, the intersection of releasability, the union of caveats and every owner', async () => {
    const caller = GBR_SECRET;
    const fra = held('indicators', (o) => o.nation === 'FRA' && o.marking.caveats.includes('ORCON') && visible(caller, o))[0]!;
    const usa = held('incidents', (o) => o.nation === 'USA' && visible(caller, o) && o.marking.classification === 'CONFIDENTIAL')[0]!;
    const est = held('threatActors', (o) => o.nation === 'EST' && visible(caller, o) && o.marking.tlp !== fra.marking.tlp)[0]!;
    for (const o of [fra, usa, est]) expect(o).toBeDefined();
    const answer = await askAs(caller, 'query Three($a: ID!, $b: ID!, $c: ID!) { a: indicator(id: $a) { id } b: incident(id: $b) { id } c: threatActor(id: $c) { id name } }', { a: fra.id, b: usa.id, c: est.id });
    expect(answer.errors).toBeUndefined();
    expect(answer.data).toEqual({ a: { id: fra.id }, b: { id: usa.id }, c: { id: est.id, name: est.name } });
    const expected = combined([fra.marking, usa.marking, est.marking]);
    const got = answer.extensions!.marking;
    expect({ ...got, releasableTo: sorted(got.releasableTo), caveats: sorted(got.caveats) }).toEqual({ ...expected, releasableTo: sorted(expected.releasableTo), owners: ['EST', 'FRA', 'USA'] });
    expect(got.caveats).toContain('ORCON');
  });

  it('a field marked more restrictively than its object adds its marking only when that field is released', async () => {
    const fra = analyst('FRA', 'TOP_SECRET', []);
    const o = held('indicators', (x) => x.nation === 'FRA' && fieldMarkingOf(x, 'description') && x.marking.releasableTo.length > 1 && fieldMarkingOf(x, 'description')!.releasableTo.length < x.marking.releasableTo.length)[0]!;
    expect(o).toBeDefined();
    const query = (fields: string) => `query One($id: ID!) { indicator(id: $id) { id ${fields} } }`;
    const without = await askAs(fra, query('name'), { id: o.id });
    expect(without.extensions!.marking).toEqual({ ...o.marking, owners: ['FRA'] });
    const withIt = await askAs(fra, query('name description'), { id: o.id });
    expect(withIt.data.indicator.description).toBe(o.description);
    expect(withIt.extensions!.marking).toEqual({ ...combined([o.marking, markingOfField(o, 'description')]), owners: ['FRA'] });
  });
});

describe('a sighting of an indicator the caller may not see', () => {
  const cases = [
    { story: 'of the same nation', sameOwner: true },
    { story: 'of another nation', sameOwner: false },
  ];

  for (const { story, sameOwner } of cases) it(`a German analyst asks for sightings of indicators ${story} it may not see: sightingOf is null with WITHHELD, and the indicator id appears nowhere in the answer`, async () => {
    const caller = DEU_SECRET;
    const indicators = new Map(held('indicators').map((o) => [o.id, o]));
    const candidates = held('sightings', (s) => {
      const target = indicators.get(sighted.get(s.id) ?? '');
      return s.nation !== 'DEU' && visible(caller, s) && target !== undefined && (target.nation === s.nation) === sameOwner && !visible(caller, target);
    });
    expect(candidates.length).toBeGreaterThan(0);
    for (const s of candidates) {
      const target = sighted.get(s.id)!;
      const answer = await askAs(caller, 'query One($id: ID!) { sighting(id: $id) { id count sightingOf { id nation name } } }', { id: s.id });
      expect(answer.data.sighting).toMatchObject({ id: s.id, sightingOf: null });
      expect(errorAt(answer, ['sighting', 'sightingOf'])!.extensions).toMatchObject({ code: 'WITHHELD', owner: sameOwner ? s.nation : target.slice(0, 3) });
      const text = JSON.stringify(answer);
      expect(text).not.toContain(target);
      expect(text).not.toContain(target.split('--')[1]!);
      // In a list, too.
      const listed = await list(caller, 'sightings', 'sightingOf { id }', [s.nation]);
      expect(listed.node(s.id).sightingOf).toBeNull();
      expect(JSON.stringify(listed.answer)).not.toContain(target.split('--')[1]!);
    }
  });
});

describe('counts and pages say nothing about what the caller may not see', () => {
  it('a German analyst cleared CONFIDENTIAL pages through every indicator 7 at a time: each page but the last holds exactly 7, and together they are exactly the indicators the markings release to them', async () => {
    const caller = analyst('DEU', 'CONFIDENTIAL', ['NATO', 'EU']);
    const expected = held('indicators', (o) => visible(caller, o));
    const hidden = held('indicators', (o) => !visible(caller, o));
    expect(expected.length).toBeGreaterThan(14);
    expect(hidden.length).toBeGreaterThan(0);
    const seen: any[] = [];
    let after: string | null = null;
    for (let page = 0; page < 100; page++) {
      const answer: GraphQLAnswer = await askAs(caller, `query P($after: String) { indicators(first: 7, after: $after) { edges { cursor node { id nation ${MARKING} } } pageInfo { hasNextPage endCursor } } }`, { after });
      expect(answer.errors).toBeUndefined();
      const { edges, pageInfo } = answer.data.indicators;
      if (pageInfo.hasNextPage) expect(edges).toHaveLength(7);
      for (const edge of edges) expect(edge.cursor).toMatch(/^sg1\./);
      seen.push(...edges.map((e: any) => e.node));
      if (!pageInfo.hasNextPage) break;
      after = pageInfo.endCursor;
    }
    expect(sorted(seen.map((n) => n.id))).toEqual(sorted(expected.map((o) => o.id)));
    // Every marking handed out passes the baseline for this caller.
    for (const node of seen) expect(baselineFailure(caller, node.nation, node.marking), node.id).toBeNull();
  });

  it('a US analyst pages through every incident 2 at a time and never meets an Estonian energy incident or one its markings hide, while each full page holds exactly 2', async () => {
    const expected = held('incidents', (o) => visible(US_SECRET, o));
    const ids: string[] = [];
    let after: string | null = null;
    for (let page = 0; page < 100; page++) {
      const answer: GraphQLAnswer = await askAs(US_SECRET, 'query P($after: String) { incidents(first: 2, after: $after) { edges { node { id } } pageInfo { hasNextPage endCursor } } }', { after });
      const { edges, pageInfo } = answer.data.incidents;
      if (pageInfo.hasNextPage) expect(edges).toHaveLength(2);
      ids.push(...edges.map((e: any) => e.node.id));
      if (!pageInfo.hasNextPage) break;
      after = pageInfo.endCursor;
    }
    expect(sorted(ids)).toEqual(sorted(expected.map((o) => o.id)));
    expect(held('incidents', (o) => o.sector === 'energy' && o.nation === 'EST').every((o) => !ids.includes(o.id))).toBe(true);
  });
});
