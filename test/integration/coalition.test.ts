/**
 * The coalition end to end: five nation subgraphs over their own PGlite silos, the reference
 * subgraph and the gateway, all real processes on loopback, seeded through STIX import.
 */
import { readFileSync } from 'node:fs';
import { parse, print } from 'graphql';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createAssertionSigner, ASSERTION_HEADER, type Principal } from '../../policies';
import { postGraphQL, startTestCoalition, type TestCoalition } from '../helpers/coalition';

let world: TestCoalition;
let analyst: string;

beforeAll(async () => {
  world = await startTestCoalition();
  analyst = await world.token({ nation: 'DEU', clearance: 'TOP_SECRET', roles: ['analyst'], communities: ['NATO', 'EU'] });
}, 180_000);

afterAll(async () => world?.stop());

const SYSTEM: Principal = { subject: 'test', nation: 'DEU', clearance: 'TOP_SECRET', roles: ['analyst'], communities: ['NATO', 'EU'] };

async function askNationDirectly(nation: string, query: string, variables: Record<string, unknown> = {}) {
  const url = world.coalition.nations.find((n) => n.nation === nation)!.url;
  const sign = await createAssertionSigner({ privateJwk: world.coalition.keys.gatewayPrivateJwk });
  return postGraphQL(url, query, variables, { [ASSERTION_HEADER]: await sign(SYSTEM, `sovgraph:${nation}`) });
}

const PAGE = `query Page($first: Int, $after: String, $filter: ObjectFilter) {
  indicators(first: $first, after: $after, filter: $filter) {
    edges { cursor node { id nation } }
    pageInfo { hasNextPage endCursor }
  }
}`;

async function pageThroughAll(ask: (vars: Record<string, unknown>) => Promise<any>, first: number): Promise<string[]> {
  const ids: string[] = [];
  let after: string | null = null;
  for (let guard = 0; guard < 1000; guard++) {
    const answer = await ask({ first, after });
    expect(answer.errors).toBeUndefined();
    const connection = answer.data.indicators;
    ids.push(...connection.edges.map((e: any) => e.node.id));
    if (!connection.pageInfo.hasNextPage) return ids;
    after = connection.pageInfo.endCursor;
  }
  throw new Error('paging did not end');
}

describe('a coalition analyst asking one endpoint for data held in five silos', () => {
  it('gets indicators from several nations, each with its ATT&CK techniques resolved by the reference subgraph', async () => {
    const answer = await world.ask(analyst, `{
      indicators(first: 30) { edges { node { id nation pattern techniques { id name tactics } } } }
    }`);
    expect(answer.status).toBe(200);
    expect(answer.errors).toBeUndefined();
    const nodes = answer.data.indicators.edges.map((e: any) => e.node);
    expect(nodes).toHaveLength(30);
    expect(new Set(nodes.map((n: any) => n.nation)).size).toBeGreaterThan(1);
    for (const node of nodes) expect(node.id.startsWith(`${node.nation}:indicator--`)).toBe(true);
    const techniques = nodes.flatMap((n: any) => n.techniques ?? []).filter(Boolean);
    expect(techniques.length).toBeGreaterThan(0);
    expect(techniques.filter((t: any) => typeof t.name === 'string' && t.name.length > 0).length).toBeGreaterThan(0);
  });

  it('pages through every indicator of every nation and sees each exactly once, in one global order', async () => {
    const viaGateway = await pageThroughAll((vars) => world.ask(analyst, PAGE, vars), 37);
    const perNation = await Promise.all(
      world.coalition.nations.map((n) => pageThroughAll((vars) => askNationDirectly(n.nation, PAGE, vars), 200)),
    );
    const expected = perNation.flat();
    expect(new Set(viaGateway).size).toBe(viaGateway.length);
    expect([...viaGateway].sort()).toEqual([...expected].sort());
  });

  it('narrows the fan-out to the nations named in the filter', async () => {
    const answer = await world.ask(analyst, PAGE, { first: 50, filter: { nations: ['FRA', 'EST'] } });
    const nations = new Set(answer.data.indicators.edges.map((e: any) => e.node.nation));
    expect([...nations].sort()).toEqual(['EST', 'FRA']);
  });

  it('follows a German sighting to the French indicator it sighted, fetched from France', async () => {
    const answer = await world.ask(analyst, `{
      sightings(first: 200, filter: { nations: ["DEU"] }) { edges { node { id nation sightingOf { id nation pattern } } } }
    }`);
    expect(answer.errors).toBeUndefined();
    const crossNation = answer.data.sightings.edges.map((e: any) => e.node).filter((s: any) => s.sightingOf && s.sightingOf.nation !== 'DEU');
    expect(crossNation.length).toBeGreaterThan(0);
    for (const sighting of crossNation) {
      expect(sighting.sightingOf.id.startsWith(`${sighting.sightingOf.nation}:`)).toBe(true);
      expect(typeof sighting.sightingOf.pattern).toBe('string');
    }
  });

  it('asks for one indicator by id and gets it from its owner; an unknown id is simply not found', async () => {
    const list = await world.ask(analyst, `{ indicators(first: 1, filter: { nations: ["EST"] }) { edges { node { id pattern } } } }`);
    const wanted = list.data.indicators.edges[0].node;
    const one = await world.ask(analyst, `query One($id: ID!) { indicator(id: $id) { id nation pattern } }`, { id: wanted.id });
    expect(one.data.indicator).toEqual({ id: wanted.id, nation: 'EST', pattern: wanted.pattern });
    const missing = await world.ask(analyst, `{ a: indicator(id: "EST:indicator--00000000-0000-4000-8000-000000000000") { id } b: indicator(id: "nonsense") { id } }`);
    expect(missing.data).toEqual({ a: null, b: null });
  });

  it('is told who it is as the coalition sees it: communities confirmed by the coalition, not just claimed', async () => {
    const claimsTooMuch = await world.token({ nation: 'DEU', clearance: 'SECRET', roles: ['analyst'], communities: ['NATO', 'FVEY'] });
    const answer = await world.ask(claimsTooMuch, '{ me { nation clearance roles communities } }');
    expect(answer.data.me).toEqual({ nation: 'DEU', clearance: 'SECRET', roles: ['analyst'], communities: ['NATO'] });
  });
});

describe('trust: who may ask, and through whom', () => {
  it('refuses a token from the French identity provider that claims a German user', async () => {
    const forged = await world.token({ nation: 'DEU', clearance: 'SECRET', issuer: 'https://idp.fra.sovgraph.example' });
    const answer = await world.ask(forged, '{ me { nation } }');
    expect(answer.status).toBe(401);
    expect(answer.errors![0]!.extensions!.code).toBe('UNAUTHENTICATED');
  });

  it('refuses an expired token and a token signed with another nation’s key', async () => {
    const expired = await world.token({ nation: 'FRA', clearance: 'SECRET', expiresIn: Math.floor(Date.now() / 1000) - 60 });
    expect((await world.ask(expired, '{ me { nation } }')).status).toBe(401);
    const { mintToken } = await import('../../gateway/demo/tokens');
    const wrongKey = await mintToken(world.coalition.keys.idpPrivateJwks.FRA!, { nation: 'USA', clearance: 'SECRET', issuer: 'https://idp.usa.sovgraph.example' });
    expect((await world.ask(wrongKey, '{ me { nation } }')).status).toBe(401);
    expect((await world.ask(undefined, '{ me { nation } }')).status).toBe(401);
  });

  it('a nation subgraph called directly, without the gateway’s signed assertion, refuses to answer', async () => {
    const fra = world.coalition.nations.find((n) => n.nation === 'FRA')!;
    const answer = await postGraphQL(fra.url, '{ indicators(first: 1) { edges { node { id } } } }');
    expect(answer.status).toBe(401);
    expect(answer.errors![0]!.extensions!.code).toBe('UNAUTHENTICATED');
    expect(answer.data ?? null).toBeNull();
    const reference = await postGraphQL(world.coalition.reference.url, '{ attackPattern(id: "T1566") { name } }');
    expect(reference.status).toBe(401);
  });

  it('every nation serves exactly the contract as its _service SDL, so none can drift from it', async () => {
    const contract = print(parse(readFileSync(new URL('../../subgraphs/contract/nation.graphql', import.meta.url), 'utf8')));
    for (const { nation } of world.coalition.nations) {
      const answer = await askNationDirectly(nation, '{ _service { sdl } }');
      const served = print(parse(answer.data._service.sdl));
      // buildSubgraphSchema prints the schema back; compare the definitions, not the formatting.
      expect(definitionsOf(served), nation).toEqual(definitionsOf(contract));
    }
  });
});

describe('a nation that is slow or down costs only its own data', () => {
  it('a frozen nation times out: the others answer, with NATION_UNAVAILABLE naming it', async () => {
    const est = world.coalition.nations.find((n) => n.nation === 'EST')!;
    est.child.kill('SIGSTOP');
    try {
      const answer = await world.ask(analyst, PAGE, { first: 100 });
      const nations = new Set(answer.data.indicators.edges.map((e: any) => e.node.nation));
      expect(nations.has('EST')).toBe(false);
      expect(nations.size).toBe(4);
      expect(answer.errors).toEqual([expect.objectContaining({ extensions: expect.objectContaining({ code: 'NATION_UNAVAILABLE', nation: 'EST' }) })]);
    } finally {
      est.child.kill('SIGCONT');
    }
  });

  it('a stopped nation: partial data plus NATION_UNAVAILABLE, and its objects asked by id come back null', async () => {
    const before = await world.ask(analyst, `{ indicators(first: 1, filter: { nations: ["GBR"] }) { edges { node { id } } } }`);
    const gbrId = before.data.indicators.edges[0].node.id;
    await world.coalition.stopNation('GBR');
    const answer = await world.ask(analyst, PAGE, { first: 100 });
    expect(answer.status).toBe(200);
    const nations = new Set(answer.data.indicators.edges.map((e: any) => e.node.nation));
    expect(nations.has('GBR')).toBe(false);
    expect(nations.size).toBe(4);
    const unavailable = answer.errors!.filter((e) => e.extensions?.code === 'NATION_UNAVAILABLE');
    expect(unavailable.map((e) => e.extensions!.nation)).toEqual(['GBR']);
    const byId = await world.ask(analyst, `query One($id: ID!) { indicator(id: $id) { id } }`, { id: gbrId });
    expect(byId.data.indicator).toBeNull();
    expect(byId.errors![0]!.extensions).toMatchObject({ code: 'NATION_UNAVAILABLE', nation: 'GBR' });
  });
});

describe('stopping', () => {
  it('the gateway stops once however often it is asked, and no longer answers', async () => {
    const url = world.coalition.gateway.url;
    await Promise.all([world.coalition.gateway.stop(), world.coalition.gateway.stop()]);
    await world.coalition.gateway.stop();
    await expect(fetch(url.replace('/graphql', '/health'))).rejects.toThrow();
  });
});

function definitionsOf(sdl: string): string[] {
  return parse(sdl)
    .definitions.map((d) => print(d))
    .filter((d) => !d.startsWith('schema') && !d.includes('_service') && !d.startsWith('scalar _') && !d.startsWith('directive @link') && !d.startsWith('type _Service') && !d.startsWith('union _Entity') && !d.startsWith('scalar link__') && !d.startsWith('enum link__'))
    .map((d) => d.replace(/\n\s*_entities\(representations: \[_Any!\]!\): \[_Entity\]!/, '').replace(/\n\s*_service: _Service!/, ''))
    .sort();
}
