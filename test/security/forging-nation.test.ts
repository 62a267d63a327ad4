/**
 * A nation that forges: Germany's subgraph is reached through a proxy that rewrites what Germany
 * answers, as a compromised or hostile subgraph could. The gateway decides every object by its id's
 * owner, so an object Germany passes off as France's would be released on France's rules and shown
 * as France's. Nor may Germany answer more than it was asked: Apollo Gateway merges what a fetch
 * returns into the composed objects, Germany's references to French objects included. The gateway
 * refuses any such answer, whole, and says so without quoting it; the other nations' data is
 * untouched.
 */
import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startTestCoalition, type GraphQLAnswer, type TestCoalition } from '../helpers/coalition';

type Forgery = 'none' | 'foreign-id' | 'foreign-owner' | 'unasked-field' | 'unasked-in-probe' | 'field-on-a-reference' | 'withheld-by-another' | 'speaking-as-the-gateway' | 'an-entity-too-many';

let world: TestCoalition;
let proxy: Server;
let forgery: Forgery = 'none';
let analyst: string;
/** How many German answers the proxy changed: each story shows its forgery did happen. */
let forged = 0;

const FORGED_NAME = 'written by the proxy';

beforeAll(async () => {
  world = await startTestCoalition({
    nations: ['DEU', 'FRA', 'GBR'],
    seedSize: 60,
    routeToNation: async (nation, url) => (nation === 'DEU' ? startForgingProxy(url) : url),
  });
  analyst = await world.token({ nation: 'GBR', clearance: 'TOP_SECRET', roles: ['analyst'], communities: ['NATO', 'FVEY'] });
}, 180_000);

afterAll(async () => {
  proxy?.close();
  await world?.stop();
});

/**
 * Forwards everything to Germany's real subgraph (its GraphQL endpoint, and the rules it publishes
 * for the gateway to poll) and rewrites its GraphQL answers as `forgery` says.
 */
async function startForgingProxy(target: string): Promise<string> {
  const origin = new URL(target).origin;
  proxy = createServer(async (req, res) => {
    try {
      const chunks: Buffer[] = [];
      for await (const chunk of req) chunks.push(chunk as Buffer);
      const body = chunks.length ? Buffer.concat(chunks) : undefined;
      const headers = Object.fromEntries(Object.entries(req.headers).filter(([name]) => !['host', 'connection', 'content-length'].includes(name)) as Array<[string, string]>);
      const upstream = await fetch(`${origin}${req.url}`, { method: req.method, headers, body });
      let text = await upstream.text();
      if (req.method === 'POST' && body) {
        const answer = JSON.parse(text) as { data?: unknown; errors?: Array<{ extensions?: Record<string, unknown> }> };
        if (forge(answer, (JSON.parse(body.toString('utf8')) as { query: string }).query)) forged += 1;
        text = JSON.stringify(answer);
      }
      res.writeHead(upstream.status, { 'content-type': upstream.headers.get('content-type') ?? 'application/json' }).end(text);
    } catch (error) {
      res.writeHead(502).end(String(error));
    }
  });
  await new Promise<void>((resolve) => proxy.listen(0, '127.0.0.1', resolve));
  return `http://127.0.0.1:${(proxy.address() as AddressInfo).port}${new URL(target).pathname}`;
}

/** Changes the first German object (or error) the forgery applies to; returns whether it changed one. */
function forge(answer: { data?: unknown; errors?: Array<{ extensions?: Record<string, unknown> }> }, query: string): boolean {
  if (forgery === 'none' || query.includes('_service')) return false;
  if (forgery === 'unasked-in-probe') {
    const connection = (answer.data as { indicators?: Record<string, unknown> } | undefined)?.indicators;
    const isProbe = query.includes('__sovgraph_edges') && !query.includes('node');
    if (isProbe && connection) connection.objectCount = 120;
    return isProbe && connection !== undefined;
  }
  if (forgery === 'an-entity-too-many') {
    const entities = (answer.data as { _entities?: unknown[] } | undefined)?._entities;
    entities?.push(entities[0]);
    return entities !== undefined;
  }
  if (forgery === 'speaking-as-the-gateway') {
    (answer.errors ??= []).push({ message: 'Nation FRA is unavailable: no answer within 1500 ms. Its data is missing from this answer.', extensions: { code: 'NATION_UNAVAILABLE', nation: 'FRA' } } as never);
    return true;
  }
  if (forgery === 'withheld-by-another') {
    const error = answer.errors?.find((e) => e.extensions?.code === 'WITHHELD');
    if (error) error.extensions!.owner = 'FRA';
    return error !== undefined;
  }
  let done = false;
  visitObjects(answer.data, (object) => {
    if (done) return;
    const idKey = ['id', '__sg_id'].find((k) => typeof object[k] === 'string' && (object[k] as string).startsWith('DEU:'));
    if (forgery === 'foreign-id' && idKey) {
      object[idKey] = `FRA:${(object[idKey] as string).slice(4)}`;
      done = true;
    } else if (forgery === 'foreign-owner' && object.nation === 'DEU') {
      object.nation = 'FRA';
      done = true;
    } else if (forgery === 'unasked-field' && idKey && !('confidence' in object)) {
      object.confidence = 100;
      done = true;
    } else if (forgery === 'field-on-a-reference' && isObject(object.sightingOf) && !(object.sightingOf.id as string).startsWith('DEU:')) {
      object.sightingOf.name = FORGED_NAME;
      done = true;
    }
  });
  return done;
}

function visitObjects(value: unknown, visit: (object: Record<string, any>) => void): void {
  if (Array.isArray(value)) return value.forEach((v) => visitObjects(v, visit));
  if (!isObject(value)) return;
  visit(value);
  for (const v of Object.values(value)) visitObjects(v, visit);
}

function isObject(value: unknown): value is Record<string, any> {
  return typeof value === 'object' && value !== null && !Array.isArray(value);
}

async function ask(query: string, variables?: Record<string, unknown>): Promise<GraphQLAnswer> {
  const answer = await world.ask(analyst, query, variables);
  expect(answer.status).toBe(200);
  return answer;
}

async function askForged(as: Forgery, query: string, variables?: Record<string, unknown>): Promise<GraphQLAnswer> {
  forgery = as;
  const before = forged;
  try {
    const answer = await ask(query, variables);
    expect(forged, 'the proxy forged something in this answer').toBeGreaterThan(before);
    return answer;
  } finally {
    forgery = 'none';
  }
}

const INDICATORS = '{ indicators(first: 60) { edges { node { id nation name } } } }';
const idsIn = (answer: GraphQLAnswer) => (answer.data?.indicators?.edges ?? []).map((e: any) => e.node.id as string);

function expectRejectedGermany(answer: GraphQLAnswer, what: RegExp) {
  const rejected = answer.errors?.filter((e) => e.extensions?.code === 'NATION_ANSWER_REJECTED') ?? [];
  expect(rejected).toHaveLength(1);
  expect(rejected[0]!.extensions).toMatchObject({ nation: 'DEU' });
  expect(rejected[0]!.message).toMatch(what);
  // The words name a path, not what Germany sent, nor where in its page (a count of what came before).
  expect(rejected[0]!.message).not.toMatch(/indicator--|sighting--|written by|confidence|objectCount|\d/);
}

let honest: { german: string[]; others: string[] };

describe('a German subgraph that forges its answers', () => {
  it('answering honestly through the same proxy, Germany’s indicators arrive beside France’s and Britain’s, and nothing is rejected', async () => {
    const answer = await ask(INDICATORS);
    expect(answer.errors ?? []).toEqual([]);
    const ids = idsIn(answer);
    honest = { german: ids.filter((id: string) => id.startsWith('DEU:')), others: ids.filter((id: string) => !id.startsWith('DEU:')) };
    expect(honest.german.length).toBeGreaterThan(0);
    expect(honest.others.length).toBeGreaterThan(0);
  });

  it('passing one of its indicators off under a French id: a British analyst gets France’s and Britain’s indicators, none of Germany’s, no forged French one, and NATION_ANSWER_REJECTED naming Germany', async () => {
    const answer = await askForged('foreign-id', INDICATORS);
    const ids = idsIn(answer);
    expect(ids.filter((id: string) => id.startsWith('DEU:'))).toEqual([]);
    // Every French id in the answer is one France itself holds.
    const french = ids.filter((id: string) => id.startsWith('FRA:'));
    expect(french.every((id: string) => honest.others.includes(id))).toBe(true);
    expect(ids.filter((id: string) => !id.startsWith('DEU:')).sort()).toEqual([...honest.others].sort());
    expectRejectedGermany(answer, /id that is not its own/);
  });

  it('asked for one of its indicators by id, answering under a French id: null, with NATION_ANSWER_REJECTED', async () => {
    const answer = await askForged('foreign-id', 'query($id: ID!) { indicator(id: $id) { id name } }', { id: honest.german[0] });
    expect(answer.data.indicator).toBeNull();
    expectRejectedGermany(answer, /id that is not its own/);
  });

  it('saying an indicator of its own is France’s (`nation: "FRA"`): rejected, and no indicator in the answer claims an owner other than its id’s', async () => {
    const answer = await askForged('foreign-owner', INDICATORS);
    for (const { node } of answer.data.indicators.edges) expect(node.nation).toBe(node.id.slice(0, 3));
    expectRejectedGermany(answer, /naming another owner/);
  });

  it('adding a field nobody asked for to one of its objects: rejected, Germany’s data left out', async () => {
    const answer = await askForged('unasked-field', INDICATORS);
    expectRejectedGermany(answer, /not asked for/);
    expect(idsIn(answer).filter((id: string) => id.startsWith('DEU:'))).toEqual([]);
  });

  it('adding a count of its objects to its cursors (the first of the two phases of a list): rejected, Germany’s data left out, France’s and Britain’s as they were', async () => {
    const answer = await askForged('unasked-in-probe', INDICATORS);
    expectRejectedGermany(answer, /not asked for, in indicators$|not asked for, in indicators\./);
    const ids = idsIn(answer);
    expect(ids.filter((id: string) => id.startsWith('DEU:'))).toEqual([]);
    expect(ids.filter((id: string) => !id.startsWith('DEU:')).sort()).toEqual([...honest.others].sort());
  });

  it('claiming in an error that France is unavailable: rejected, and no error in the answer says France is', async () => {
    const answer = await askForged('speaking-as-the-gateway', INDICATORS);
    expect(answer.errors!.filter((e) => e.extensions?.nation === 'FRA')).toEqual([]);
    expectRejectedGermany(answer, /only the gateway gives/);
  });

  it('reporting a German source as withheld by France’s rules: rejected, and no WITHHELD error in the answer names an owner other than the object’s', async () => {
    const query = '{ indicators(first: 60, filter: { nations: ["DEU"] }) { edges { node { id source { name } } } } }';
    const answer = await askForged('withheld-by-another', query);
    for (const error of answer.errors!.filter((e) => e.extensions?.code === 'WITHHELD')) expect(error.extensions!.owner).toBe('DEU');
    expectRejectedGermany(answer, /withheld in another owner's name/);
  });

  it('answering one entity more than the representations it was sent: an answer out of step with its question is rejected, not trimmed', async () => {
    const query = '{ sightings(first: 60, filter: { nations: ["DEU"] }) { edges { node { id sightingOf { id name } } } } }';
    const answer = await askForged('an-entity-too-many', query);
    expectRejectedGermany(answer, /one entity for each representation/);
  });

  it('writing a name onto its reference to a French indicator (a sighting of it), where only the id was asked: the name is France’s to supply; rejected, and the forged name appears nowhere', async () => {
    const query = '{ sightings(first: 60, filter: { nations: ["DEU"] }) { edges { node { id sightingOf { id name } } } } }';
    const honestAnswer = await ask(query);
    const abroad = honestAnswer.data.sightings.edges.filter((e: any) => e.node.sightingOf && !e.node.sightingOf.id.startsWith('DEU:'));
    expect(abroad.length, 'the seed holds German sightings of other nations’ indicators').toBeGreaterThan(0);

    const answer = await askForged('field-on-a-reference', query);
    expect(JSON.stringify(answer)).not.toContain(FORGED_NAME);
    expectRejectedGermany(answer, /not asked for/);
  });
});
