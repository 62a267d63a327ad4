/**
 * Two sovereignty holes, as stories over the demo nations:
 * - a filter that names an indicator the caller may not see answers exactly as one naming an
 *   indicator that does not exist (it must not confirm that the hidden one exists, nor which
 *   sightings refer to it);
 * - a value taken from another object (a sighting's places, an incident's victim) is decided on that
 *   object's marking as well as its parent's, by the baseline and by rules, and the banner covers it.
 */
import { randomUUID } from 'node:crypto';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { TLP_LEVELS, CLASSIFICATIONS, type Classification } from '../../policies';
import { startTestCoalition, type GraphQLAnswer, type TestCoalition } from '../helpers/coalition';

const NATIONS = ['USA', 'GBR', 'FRA', 'DEU', 'EST'] as const;
const ALL = ['NATO', 'EU', 'FVEY'];
let world: TestCoalition;

async function askAs(nation: string, clearance: Classification, roles: string[], communities: string[], query: string, variables?: Record<string, unknown>): Promise<GraphQLAnswer> {
  const answer = await world.ask(await world.token({ nation, clearance, roles, communities }), query, variables);
  expect(answer.status).toBe(200);
  return answer;
}

/** Objects by id, as the caller sees them, in operations within the gateway's root-field limit. */
async function byId(caller: [string, Classification, string[], string[]], asks: Array<{ key: string; root: string; id: string }>): Promise<Record<string, unknown>> {
  const seen: Record<string, unknown> = {};
  for (let start = 0; start < asks.length; start += 20) {
    const chunk = asks.slice(start, start + 20);
    const answer = await askAs(...caller, `{ ${chunk.map((a) => `${a.key}: ${a.root}(id: "${a.id}") { id }`).join(' ')} }`);
    Object.assign(seen, answer.data);
  }
  return seen;
}

const CALLER_CLASSES: Array<[Classification, string[], string[]]> = [
  ['UNCLASSIFIED', [], ['NATO']],
  ['RESTRICTED', [], ['NATO']],
  ['RESTRICTED', ['analyst'], ['NATO']],
  ['CONFIDENTIAL', [], ['NATO']],
  ['SECRET', [], ['NATO', 'EU', 'FVEY']],
  ['SECRET', ['analyst'], []],
];

const SIGHTINGS_OF = `query ($of: ID!) { sightings(first: 50, filter: { sightingOf: $of }) { edges { node { id } } pageInfo { hasNextPage endCursor } } }`;

beforeAll(async () => {
  world = await startTestCoalition({ seedSize: 300, nationTimeoutMs: 10_000 });
}, 240_000);

afterAll(async () => {
  await world?.stop();
});

describe('a sightingOf filter on an indicator the caller may not see', () => {
  for (const owner of NATIONS) {
    it(`a sightingOf filter on a hidden ${owner} indicator answers as for one that does not exist`, async () => {
      // The owner's analyst sees every one of its indicators, and the sightings of them it is given by any nation.
      const lists: GraphQLAnswer[] = [];
      for (const holder of NATIONS) lists.push(await askAs(owner, 'TOP_SECRET', ['analyst'], ALL, `{ sightings(first: 500, filter: { nations: ["${holder}"] }) { edges { node { id sightingOf { id } } } } }`));
      // The machine is shared and slow: a nation that did not answer would make the search below vacuous.
      expect(lists.flatMap((list) => list.errors ?? []).filter((e) => e.extensions?.code === 'NATION_UNAVAILABLE')).toEqual([]);
      const pairs = lists
        .flatMap((list) => list.data.sightings.edges)
        .map((e: any) => ({ sighting: e.node.id as string, indicator: e.node.sightingOf?.id as string | undefined }))
        .filter((p) => p.indicator?.startsWith(`${owner}:`));
      expect(pairs.length).toBeGreaterThan(0);
      const indicators = [...new Set(pairs.map((p: any) => p.indicator))] as string[];
      // Callers who see some sighting of an owner's indicator but not the indicator itself.
      let found: { caller: [string, Classification, string[], string[]]; indicator: string } | undefined;
      search: for (const nation of NATIONS) {
        for (const [clearance, roles, communities] of CALLER_CLASSES) {
          const caller: [string, Classification, string[], string[]] = [nation, clearance, roles, communities];
          const seen = await byId(caller, [...indicators.map((id, i) => ({ key: `i${i}`, root: 'indicator', id })), ...pairs.map((p, i) => ({ key: `s${i}`, root: 'sighting', id: p.sighting }))]);
          const visibleSightings = new Set(pairs.filter((_, i) => seen[`s${i}`] !== null).map((p) => p.sighting));
          const hidden = new Set(indicators.filter((_, i) => seen[`i${i}`] === null));
          const pair = pairs.find((p) => hidden.has(p.indicator!) && visibleSightings.has(p.sighting));
          if (pair) {
            found = { caller, indicator: pair.indicator! };
            break search;
          }
        }
      }
      expect(found, `no caller sees a sighting of a hidden ${owner} indicator: the seed changed`).toBeDefined();
      const [nation, clearance, roles, communities] = found!.caller;
      const hiddenAnswer = await askAs(nation, clearance, roles, communities, SIGHTINGS_OF, { of: found!.indicator });
      const absentAnswer = await askAs(nation, clearance, roles, communities, SIGHTINGS_OF, { of: `${owner}:indicator--${randomUUID()}` });
      expect(hiddenAnswer.data).toEqual({ sightings: { edges: [], pageInfo: { hasNextPage: false, endCursor: null } } });
      expect(hiddenAnswer.data).toEqual(absentAnswer.data);
      expect(hiddenAnswer.errors).toEqual(absentAnswer.errors);
      // The same filter written into the query, not as a variable, answers the same.
      const literal = await askAs(nation, clearance, roles, communities, SIGHTINGS_OF.replace('query ($of: ID!)', '').replace('$of', JSON.stringify(found!.indicator)));
      expect(literal.data).toEqual(absentAnswer.data);
      // The owner, who sees the indicator, gets its sightings through the same filter.
      const ownerAnswer = await askAs(owner, 'TOP_SECRET', ['analyst'], ALL, SIGHTINGS_OF, { of: found!.indicator });
      expect(ownerAnswer.data.sightings.edges.length).toBeGreaterThan(0);
    }, 120_000);
  }

  it('a sighting held by one nation of another nation’s indicator the caller may not see: the same empty page', async () => {
    // Sightings of foreign indicators, as their sighting nation's analyst sees them.
    for (const holder of NATIONS) {
      const own = await askAs(holder, 'TOP_SECRET', ['analyst'], ALL, `{ sightings(first: 500, filter: { nations: ["${holder}"] }) { edges { node { id sightingOf { id } } } } }`);
      const foreign = own.data.sightings.edges.map((e: any) => ({ sighting: e.node.id, indicator: e.node.sightingOf?.id })).filter((p: any) => p.indicator && !p.indicator.startsWith(`${holder}:`));
      for (const partner of NATIONS.filter((n) => n !== holder)) {
        const candidates = foreign.filter((p: any) => !p.indicator.startsWith(`${partner}:`));
        if (!candidates.length) continue;
        const seen = await byId([partner, 'RESTRICTED', [], ['NATO']], candidates.flatMap((p: any, i: number) => [{ key: `i${i}`, root: 'indicator', id: p.indicator }, { key: `s${i}`, root: 'sighting', id: p.sighting }]));
        const index = candidates.findIndex((_: unknown, i: number) => seen[`i${i}`] === null && seen[`s${i}`] !== null);
        if (index < 0) continue;
        const hidden = await askAs(partner, 'RESTRICTED', [], ['NATO'], SIGHTINGS_OF, { of: candidates[index].indicator });
        const absent = await askAs(partner, 'RESTRICTED', [], ['NATO'], SIGHTINGS_OF, { of: `${candidates[index].indicator.slice(0, 4)}indicator--${randomUUID()}` });
        expect(hidden.data).toEqual({ sightings: { edges: [], pageInfo: { hasNextPage: false, endCursor: null } } });
        expect(hidden.errors).toEqual(absent.errors);
        return;
      }
    }
    throw new Error('no partner sees a sighting of a foreign indicator it may not see: the seed changed');
  }, 120_000);
});

describe('values taken from other objects', () => {
  const rank = (tlp: string) => TLP_LEVELS.indexOf(tlp as never);
  const level = (classification: string) => CLASSIFICATIONS.indexOf(classification as never);

  it('German place names from AMBER sensors under GREEN sightings: withheld without the analyst role, released with it under an AMBER banner', async () => {
    const owner = 'DEU';
    const all = await askAs(owner, 'TOP_SECRET', ['analyst'], ALL, `{ sightings(first: 500, filter: { nations: ["${owner}"] }) { edges { node { id marking { classification tlp } whereSighted { name } } } } }`);
    // Every sighting has a sensor (CONFIDENTIAL, AMBER) among its places, whatever its own marking.
    const green = all.data.sightings.edges.map((e: any) => e.node).filter((n: any) => rank(n.marking.tlp) < rank('AMBER') && level(n.marking.classification) <= level('SECRET') && n.whereSighted?.length)
      // One operation within the gateway's root-field limit.
      .slice(0, 20);
    expect(green.length, 'GREEN German sightings with places').toBeGreaterThan(0);
    const query = `{ ${green.map((s: any, i: number) => `s${i}: sighting(id: "${s.id}") { id whereSighted { name } }`).join(' ')} }`;

    const clerk = await askAs(owner, 'SECRET', [], ['NATO', 'EU'], query);
    green.forEach((sighting: any, i: number) => {
      expect(clerk.data[`s${i}`].id).toBe(sighting.id);
      expect(clerk.data[`s${i}`].whereSighted, `${sighting.id} whereSighted`).toBeNull();
      expect(clerk.errors?.find((e) => e.path?.join('.') === `s${i}.whereSighted`)?.extensions).toMatchObject({ code: 'WITHHELD', reason: 'COALITION/amber-needs-analyst' });
    });
    expect(rank(clerk.extensions!.marking.tlp)).toBeLessThan(rank('AMBER'));

    const analyst = await askAs(owner, 'SECRET', ['analyst'], ['NATO', 'EU'], `{ sighting(id: "${green[0].id}") { id whereSighted { name } } }`);
    expect(analyst.data.sighting.whereSighted.map((p: any) => p.name)).toEqual(green[0].whereSighted.map((p: any) => p.name));
    expect(rank(analyst.extensions!.marking.tlp)).toBeGreaterThanOrEqual(rank('AMBER'));
    expect(level(analyst.extensions!.marking.classification)).toBeGreaterThanOrEqual(level('CONFIDENTIAL'));
  }, 120_000);

  it('an incident’s victim from an AMBER identity under a GREEN incident is withheld from a caller without the analyst role', async () => {
    for (const owner of NATIONS) {
      const all = await askAs(owner, 'TOP_SECRET', ['analyst'], ALL, `{ incidents(first: 500, filter: { nations: ["${owner}"] }) { edges { node { id marking { classification tlp } victim } } } }`);
      const incident = all.data.incidents.edges.map((e: any) => e.node).find((n: any) => rank(n.marking.tlp) < rank('AMBER') && level(n.marking.classification) <= level('SECRET') && n.victim);
      if (!incident) continue;
      const query = `{ incident(id: "${incident.id}") { id victim } }`;
      const clerk = await askAs(owner, 'SECRET', [], ['NATO'], query);
      expect(clerk.data.incident.victim).toBeNull();
      expect(clerk.errors?.find((e) => e.path?.join('.') === 'incident.victim')?.extensions).toMatchObject({ code: 'WITHHELD', reason: 'COALITION/amber-needs-analyst' });
      const analyst = await askAs(owner, 'SECRET', ['analyst'], ['NATO'], query);
      expect(analyst.data.incident.victim).toBe(incident.victim);
      expect(rank(analyst.extensions!.marking.tlp)).toBeGreaterThanOrEqual(rank('AMBER'));
      return;
    }
    throw new Error('no GREEN incident with a victim: the seed changed');
  }, 120_000);
});

describe('a time window over times a rule generalises', () => {
  const WINDOW = `query ($since: String!, $until: String!) { sightings(first: 50, filter: { nations: ["EST"], since: $since, until: $until }) { edges { node { id lastSeen } } pageInfo { hasNextPage endCursor } } }`;
  const plusMs = (iso: string, ms: number) => new Date(Date.parse(iso) + ms).toISOString();

  it('a German analyst gets Estonian sighting times to the day, and cannot narrow a since/until window to learn them to the microsecond', async () => {
    const own = await askAs('EST', 'TOP_SECRET', ['analyst'], ALL, `{ sightings(first: 200, filter: { nations: ["EST"] }) { edges { node { id lastSeen } } } }`);
    const exact = new Map<string, string>(own.data.sightings.edges.filter((e: any) => e.node.lastSeen && !e.node.lastSeen.endsWith('T00:00:00.000Z')).map((e: any) => [e.node.id, e.node.lastSeen]));
    const partner = await askAs('DEU', 'SECRET', ['analyst'], ['NATO', 'EU'], `{ sightings(first: 200, filter: { nations: ["EST"] }) { edges { node { id lastSeen } } } }`);
    const generalised = partner.data.sightings.edges.map((e: any) => e.node).find((n: any) => exact.has(n.id) && n.lastSeen !== exact.get(n.id));
    expect(generalised, 'an Estonian sighting the German analyst sees with its time generalised').toBeDefined();
    const time = exact.get(generalised.id)!;
    // Estonia's own analyst finds it in the one-millisecond window around its time…
    const estonian = await askAs('EST', 'TOP_SECRET', ['analyst'], ALL, WINDOW, { since: time, until: plusMs(time, 1) });
    expect(estonian.data.sightings.edges.map((e: any) => e.node.id)).toContain(generalised.id);
    // …the German analyst gets what a window holding nothing gives.
    const narrowed = await askAs('DEU', 'SECRET', ['analyst'], ['NATO', 'EU'], WINDOW, { since: time, until: plusMs(time, 1) });
    const empty = await askAs('DEU', 'SECRET', ['analyst'], ['NATO', 'EU'], WINDOW, { since: '1971-01-01T00:00:00.000Z', until: '1971-01-01T00:00:00.001Z' });
    expect(narrowed.data).toEqual(empty.data);
    expect(narrowed.data.sightings.edges).toEqual([]);
  }, 120_000);
});
