/**
 * A nation runs its own subgraph over its own silo: a real server on a free loopback port, over an
 * in-memory PGlite silo loaded through the STIX importer, asked as the gateway asks.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { decodeJwt, importJWK, SignJWT } from 'jose';
import { parse, print } from 'graphql';
import { readFileSync } from 'node:fs';
import { ASSERTION_HEADER, createAssertionSigner } from '../../policies';
import { startNationSubgraph, CONTRACT_PATH, type RunningNationSubgraph } from '../../subgraphs';
import { importBundle, defaultMarkingFor } from '../../subgraphs/stix';
import { ANALYST, askSubgraph, at, gatewayClient, gatewayKeys, scenarioBundle, type GatewayKeys, type GraphQLAnswer, type Scenario, signedDemoRules } from './nation-fixtures';

const SIZE = 30;

let keys: GatewayKeys;
let subgraph: RunningNationSubgraph;
let scenario: Scenario;
let ask: (query: string, variables?: Record<string, unknown>) => Promise<GraphQLAnswer>;

const fra = (stixId: string) => `FRA:${stixId}`;

beforeAll(async () => {
  keys = await gatewayKeys();
  subgraph = await startNationSubgraph({ nation: 'FRA', port: 0, gatewayPublicJwk: keys.publicJwk, ...(await signedDemoRules()) });
  scenario = scenarioBundle(SIZE);
  const report = await importBundle(subgraph.db, scenario.bundle, { nation: 'FRA', defaultMarking: defaultMarkingFor('FRA') });
  expect(report.rejected).toEqual([]);
  ask = await gatewayClient(subgraph.url, 'FRA', keys);
});

afterAll(async () => {
  await subgraph?.stop();
});

function dataOf(answer: GraphQLAnswer) {
  expect(answer.errors).toBeUndefined();
  expect(answer.status).toBe(200);
  return answer.data;
}

async function allPages(field: string, first: number, filter?: Record<string, unknown>): Promise<Array<{ cursor: string; id: string }>> {
  const seen: Array<{ cursor: string; id: string }> = [];
  let after: string | null = null;
  for (let page = 0; page < 100; page++) {
    const data = dataOf(
      await ask(`query Page($first: Int, $after: String, $filter: ObjectFilter) { ${field}(first: $first, after: $after, filter: $filter) { edges { cursor node { id } } pageInfo { hasNextPage endCursor } } }`, { first, after, filter }),
    );
    const connection = data[field];
    seen.push(...connection.edges.map((e: { cursor: string; node: { id: string } }) => ({ cursor: e.cursor, id: e.node.id })));
    if (!connection.pageInfo.hasNextPage) return seen;
    expect(connection.pageInfo.endCursor).toBe(seen[seen.length - 1]!.cursor);
    after = connection.pageInfo.endCursor;
  }
  throw new Error('paging never ended');
}

describe('a nation operator serves its own silo through the coalition contract', () => {
  it('an analyst gets indicators with their techniques and sightings, and where they were sighted, in one nested query', async () => {
    const data = dataOf(await ask('{ indicators(first: 6) { edges { node { pattern observable techniques { id } sightings { count whereSighted { name kind country } } } } } }'));
    const nodes = data.indicators.edges.map((e: { node: unknown }) => e.node);
    expect(nodes).toHaveLength(6);
    for (const node of nodes) {
      expect(node.pattern).toMatch(/^\[ipv4-addr:value = '198\.51\.100\.\d+'\]$/);
      expect(node.pattern).toContain(node.observable);
      expect(node.techniques).toHaveLength(1);
      expect(['T1566.001', 'T1059']).toContain(node.techniques[0].id);
      expect(node.sightings).toHaveLength(1);
      expect(node.sightings[0].count).toBeGreaterThan(0);
      const places = node.sightings[0].whereSighted.map((p: { name: string }) => p.name).sort();
      expect(places[0]).toBe('Lyon');
      expect(['SOC Paris', 'Sensor Lyon']).toContain(places[1]);
      // A location names its country; an identity says it, or is located at a location that does.
      for (const place of node.sightings[0].whereSighted) expect(place.country).toBe('FR');
    }
  });

  it('every field of an indicator comes from its STIX document and its marking columns', async () => {
    const first = scenario.indicators[0]!;
    const data = dataOf(
      await ask(`query One($id: ID!) { indicator(id: $id) { id stixId nation created modified marking { classification tlp releasableTo caveats }
        name pattern patternType indicatorTypes observable validFrom validUntil confidence killChainPhases { killChainName phaseName } source { name kind } } }`, { id: fra(first.id) }),
    );
    expect(data.indicator).toEqual({
      id: fra(first.id),
      stixId: first.id,
      nation: 'FRA',
      created: first.created,
      modified: first.modified,
      marking: { classification: 'RESTRICTED', tlp: 'AMBER', releasableTo: ['FRA'], caveats: [] },
      name: 'Indicator 0',
      pattern: "[ipv4-addr:value = '198.51.100.0']",
      patternType: 'stix',
      indicatorTypes: ['malicious-activity'],
      observable: '198.51.100.0',
      validFrom: first.valid_from,
      validUntil: null,
      confidence: 50,
      killChainPhases: [{ killChainName: 'mitre-attack', phaseName: 'initial-access' }],
      source: { name: 'sensor-0', kind: 'network-sensor' },
    });
  });

  it('paging with first/after returns every indicator exactly once, newest first, ties broken by id', async () => {
    const seen = await allPages('indicators', 7);
    const expected = await subgraph.db.query<{ id: string }>(`SELECT id FROM stix_object WHERE type = 'indicator' ORDER BY sort_time DESC, id DESC`);
    expect(seen.map((s) => s.id)).toEqual(expected.map((r) => r.id));
    expect(new Set(seen.map((s) => s.id)).size).toBe(SIZE);
    // The cursor is the gateway's merge key: plain string order must be the list order.
    const cursors = seen.map((s) => s.cursor);
    expect([...cursors].sort().reverse()).toEqual(cursors);
    expect(cursors[0]).toMatch(/^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}\.\d{6}Z\|FRA:indicator--/);
  });

  it('paging works the same for sightings, incidents and threat actors (threat actors and intrusion sets together)', async () => {
    expect(await allPages('sightings', 4)).toHaveLength(SIZE + 1);
    expect(await allPages('incidents', 8)).toHaveLength(SIZE);
    const actors = await allPages('threatActors', 3);
    expect(actors.map((a) => a.id.split('--')[0]).sort()).toEqual(['FRA:intrusion-set', 'FRA:intrusion-set', 'FRA:intrusion-set', 'FRA:threat-actor']);
  });

  it('a filter on nations that leaves this nation out gets an empty page; one that names it gets the data', async () => {
    const excluded = dataOf(await ask('{ indicators(filter: { nations: ["DEU", "EST"] }) { edges { node { id } } pageInfo { hasNextPage endCursor } } }'));
    expect(excluded.indicators).toEqual({ edges: [], pageInfo: { hasNextPage: false, endCursor: null } });
    const included = dataOf(await ask('{ indicators(first: 5, filter: { nations: ["DEU", "fra"] }) { edges { node { nation } } pageInfo { hasNextPage } } }'));
    expect(included.indicators.edges).toHaveLength(5);
    expect(included.indicators.pageInfo.hasNextPage).toBe(true);
  });

  it('a time window keeps what falls from since (inclusive) to until (exclusive)', async () => {
    const seen = await allPages('indicators', 4, { since: at(2), until: at(5) });
    // valid_from is minute floor(i / 3): minutes 2, 3 and 4 hold indicators 6 to 14.
    expect(seen.map((s) => s.id).sort()).toEqual(scenario.indicators.slice(6, 15).map((i) => fra(i.id)).sort());
    const dateOnly = await allPages('indicators', 50, { since: '2025-01-06', until: '2025-01-06T08:01:00+00:00' });
    expect(dateOnly).toHaveLength(3);
  });

  it('a technique filter matches the technique and its sub-techniques', async () => {
    const even = scenario.indicators.filter((_, i) => i % 2 === 0).map((i) => fra(i.id)).sort();
    expect((await allPages('indicators', 50, { technique: 'T1566' })).map((s) => s.id).sort()).toEqual(even);
    expect((await allPages('indicators', 50, { technique: 'T1566.001' })).map((s) => s.id).sort()).toEqual(even);
    expect(await allPages('indicators', 50, { technique: 'T1566.002' })).toEqual([]);
    expect(await allPages('incidents', 50, { technique: 'T1059' })).toHaveLength(SIZE / 2);
  });

  it('sightings can be narrowed to those of one indicator, held here or by another nation', async () => {
    const indicator = scenario.indicators[4]!;
    expect((await allPages('sightings', 10, { sightingOf: fra(indicator.id) })).map((s) => s.id)).toEqual([fra(scenario.sightings[4]!.id)]);
    const ofGerman = await allPages('sightings', 10, { sightingOf: `DEU:${scenario.foreignIndicatorId}` });
    expect(ofGerman).toHaveLength(1);
  });

  it("a sighting of another nation's indicator answers that indicator's id and nation only: the gateway asks the owner for the rest", async () => {
    const data = dataOf(
      await ask(`query Of($id: ID) { sightings(filter: { sightingOf: $id }) { edges { node { count sightingOf { id nation stixId pattern } } } } }`, { id: `DEU:${scenario.foreignIndicatorId}` }),
    );
    expect(data.sightings.edges[0].node).toEqual({
      count: 7,
      sightingOf: { id: `DEU:${scenario.foreignIndicatorId}`, nation: 'DEU', stixId: scenario.foreignIndicatorId, pattern: null },
    });
  });

  it('incidents lead to their indicators, victim, vulnerabilities and attributed actors, and actors back to their incidents', async () => {
    const incident = scenario.incidents[5]!;
    const data = dataOf(
      await ask(`query One($id: ID!) { incident(id: $id) { name severity sector firstSeen victim techniques { id } vulnerabilities { cve }
        indicators { id } attributedTo { id name aliases motivation incidents { id } } } }`, { id: fra(incident.id) }),
    );
    const actor = scenario.actors[5 % 4]!;
    const attributed = scenario.incidents.filter((_, i) => i % 4 === 5 % 4).map((i) => fra(i.id)).sort();
    expect({ ...data.incident, attributedTo: undefined }).toEqual({
      name: 'Incident 5',
      severity: 'high',
      sector: 'energy',
      firstSeen: incident.x_sovgraph_first_seen,
      victim: 'Victim 5',
      techniques: [{ id: 'T1059' }],
      vulnerabilities: [{ cve: 'CVE-2024-0002' }],
      indicators: [{ id: fra(scenario.indicators[5]!.id) }],
      attributedTo: undefined,
    });
    expect(data.incident.attributedTo).toHaveLength(1);
    expect(data.incident.attributedTo[0]).toMatchObject({ id: fra(actor.id), name: 'Actor 1', aliases: ['A1'], motivation: 'espionage' });
    expect(data.incident.attributedTo[0].incidents.map((i: { id: string }) => i.id).sort()).toEqual(attributed);
  });

  it("a single object is found by its global id; an unknown id, another type's id or another nation's id is null", async () => {
    const sighting = fra(scenario.sightings[0]!.id);
    const data = dataOf(
      await ask(`query Ids($sighting: ID!, $unknown: ID!, $german: ID!, $actor: ID!) {
        found: sighting(id: $sighting) { id }
        unknown: indicator(id: $unknown) { id }
        wrongType: indicator(id: $sighting) { id }
        german: indicator(id: $german) { id }
        actor: threatActor(id: $actor) { id name }
      }`, {
        sighting,
        unknown: 'FRA:indicator--00000000-0000-4000-8000-000000000000',
        german: `DEU:${scenario.foreignIndicatorId}`,
        actor: fra(scenario.actors[3]!.id),
      }),
    );
    expect(data).toEqual({ found: { id: sighting }, unknown: null, wrongType: null, german: null, actor: { id: fra(scenario.actors[3]!.id), name: 'Actor 3' } });
  });

  it('me is the principal the gateway vouched for', async () => {
    expect(dataOf(await ask('{ me { subject nation clearance roles communities } }')).me).toEqual(ANALYST);
  });

  it('bad arguments are refused with BAD_USER_INPUT naming the argument', async () => {
    const cases: Array<[string, string]> = [
      ['{ indicators(first: 0) { edges { cursor } } }', 'first'],
      ['{ indicators(first: 501) { edges { cursor } } }', 'first'],
      ['{ indicators(after: "page-2") { edges { cursor } } }', 'after'],
      ['{ indicators(after: "2025-01-06T08:00:00Z|FRA:indicator--x") { edges { cursor } } }', 'after'],
      ['{ indicators(filter: { since: "last monday" }) { edges { cursor } } }', 'filter.since'],
      ['{ indicators(filter: { until: "2025-02-30" }) { edges { cursor } } }', 'filter.until'],
      ['{ indicators(filter: { technique: "phishing" }) { edges { cursor } } }', 'filter.technique'],
      ['{ indicators(filter: { sightingOf: "FRA:indicator--x" }) { edges { cursor } } }', 'filter.sightingOf'],
    ];
    for (const [query, argument] of cases) {
      const answer = await ask(query);
      expect(answer.data?.indicators ?? null, query).toBeNull();
      expect(answer.errors?.[0]?.extensions, query).toMatchObject({ code: 'BAD_USER_INPUT', argument });
      expect(answer.errors?.[0]?.message, query).toContain(`"${argument}"`);
    }
  });

  it('a request without the gateway assertion, for another audience, expired or forged is refused with 401 UNAUTHENTICATED', async () => {
    const sign = await createAssertionSigner({ privateJwk: keys.privateJwk });
    const valid = await sign(ANALYST, 'sovgraph:FRA');
    const forger = await gatewayKeys();
    const cases: Array<[string, Record<string, string>, RegExp]> = [
      ['no assertion', {}, /missing/],
      ['wrong audience', { [ASSERTION_HEADER]: await sign(ANALYST, 'sovgraph:DEU') }, /aud/],
      ['expired', { [ASSERTION_HEADER]: await expiredCopyOf(valid) }, /exp/],
      ['forged', { [ASSERTION_HEADER]: await (await createAssertionSigner({ privateJwk: forger.privateJwk }))(ANALYST, 'sovgraph:FRA') }, /signature/],
      ['garbage', { [ASSERTION_HEADER]: 'not-a-jwt' }, /invalid/],
    ];
    for (const [label, headers, why] of cases) {
      const answer = await askSubgraph(subgraph.url, '{ me { nation } }', {}, headers);
      expect(answer.status, label).toBe(401);
      expect(answer.data, label).toBeUndefined();
      expect(answer.errors?.[0]?.extensions?.code, label).toBe('UNAUTHENTICATED');
      expect(answer.errors?.[0]?.message, label).toMatch(why);
      expect(answer.errors?.[0]?.message, label).toContain(ASSERTION_HEADER);
    }
  });

  it('an unexpected failure in the silo reaches the caller as an internal error naming the nation, never as SQL', async () => {
    // Hide a table for the length of one request: the statement that needs it fails.
    await subgraph.db.query('ALTER TABLE stix_link RENAME TO stix_link_hidden');
    try {
      const answer = await ask(`{ sightings(filter: { sightingOf: "FRA:indicator--x" }) { edges { node { id } } } }`);
      expect(answer.errors?.length).toBeGreaterThan(0);
      for (const error of answer.errors ?? []) {
        expect(error).toMatchObject({ message: 'internal error in the FRA subgraph', extensions: { code: 'INTERNAL_SERVER_ERROR' } });
        expect(JSON.stringify(error)).not.toMatch(/stix_link|relation|SELECT/);
      }
    } finally {
      await subgraph.db.query('ALTER TABLE stix_link_hidden RENAME TO stix_link');
    }
  });

  it('the subgraph serves exactly the contract as its _service SDL, so it cannot drift from it', async () => {
    const sdl = dataOf(await ask('{ _service { sdl } }'))._service.sdl;
    expect(print(parse(sdl))).toBe(print(parse(readFileSync(CONTRACT_PATH, 'utf8'))));
  });

  it("_entities answers every representation in the order asked; unknown ids and other nations' ids are null with the same WITHHELD error", async () => {
    const representations = [
      { __typename: 'Sighting', id: fra(scenario.sightings[2]!.id) },
      { __typename: 'Indicator', id: 'FRA:indicator--00000000-0000-4000-8000-000000000000' },
      { __typename: 'Indicator', id: fra(scenario.indicators[1]!.id) },
      { __typename: 'Indicator', id: `DEU:${scenario.foreignIndicatorId}` },
      { __typename: 'ThreatActor', id: fra(scenario.actors[0]!.id) },
      { __typename: 'Incident', id: fra(scenario.indicators[0]!.id) },
      { __typename: 'Incident', id: fra(scenario.incidents[0]!.id) },
    ];
    const answer = await ask(`query Entities($representations: [_Any!]!) { _entities(representations: $representations) {
        ... on Indicator { id pattern } ... on Sighting { id count } ... on ThreatActor { id name } ... on Incident { id name } } }`, { representations });
    // A reference the caller cannot follow says "withheld" without saying whether the object exists.
    const byIndex = [...(answer.errors ?? [])].sort((a, b) => Number(a.path?.[1]) - Number(b.path?.[1]));
    expect(byIndex.map((e) => ({ path: e.path, ...e.extensions }))).toEqual(
      [1, 3, 5].map((i) => ({ path: ['_entities', i], code: 'WITHHELD', owner: 'FRA', reason: 'object-not-visible' })),
    );
    for (const error of answer.errors ?? []) for (const r of representations) expect(error.message).not.toContain(r.id);
    expect(answer.data._entities).toEqual([
      { id: representations[0]!.id, count: 3 },
      null,
      { id: representations[2]!.id, pattern: "[ipv4-addr:value = '198.51.100.1']" },
      null,
      { id: representations[4]!.id, name: 'Actor 0' },
      null,
      { id: representations[6]!.id, name: 'Incident 0' },
    ]);
  });
});

/** The same claims, signed by the same key, but expired a minute ago. */
async function expiredCopyOf(token: string): Promise<string> {
  const claims = decodeJwt(token);
  const now = Math.floor(Date.now() / 1000);
  return new SignJWT({ ...claims, iat: now - 120, exp: now - 60 })
    .setProtectedHeader({ alg: 'EdDSA' })
    .sign(await importJWK(keys.privateJwk, 'EdDSA'));
}
