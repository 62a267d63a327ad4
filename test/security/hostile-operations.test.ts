/**
 * Hostile operations against a real coalition: an analyst sends reference cycles, alias floods,
 * fragment bombs, deep nesting, huge pages and huge inputs. Each is refused with HTTP 400 and one
 * error naming the limit, quickly, and no nation hears of it: every nation is reached through a
 * proxy that counts the GraphQL requests it passes on. Ordinary queries still go through. And a
 * caller who floods the gateway is bounded (429 with Retry-After) while another caller's requests
 * all go through meanwhile (fair share), in the same coalition: each costs a start of its own.
 */
import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { DEFAULT_FAIR_SHARE } from '../../gateway/admission';
import { startTestCoalition, type GraphQLAnswer, type TestCoalition } from '../helpers/coalition';
import { HOSTILE_OPERATIONS, type HostileOperation } from '../helpers/hostile-operations';

let world: TestCoalition;
let analyst: string;
let flooder: string;
let steady: string;
const SMALL_PAGE = '{ indicators(first: 5) { edges { node { id nation } } } }';
const proxies: Server[] = [];
/** GraphQL requests that reached any nation (the rules' polling, a GET, is not counted). */
let nationRequests = 0;

beforeAll(async () => {
  world = await startTestCoalition({ nations: ['DEU', 'FRA', 'GBR'], seedSize: 40, routeToNation: (_nation, url) => startCountingProxy(url) });
  analyst = await world.token({ nation: 'DEU', clearance: 'SECRET', roles: ['analyst'], communities: ['NATO', 'EU'] });
  flooder = await world.token({ nation: 'DEU', clearance: 'SECRET', roles: ['analyst'], communities: ['NATO', 'EU'], subject: 'flooder@bund.de' });
  steady = await world.token({ nation: 'FRA', clearance: 'SECRET', roles: ['analyst'], communities: ['NATO', 'EU'], subject: 'analyste@defense.gouv.fr' });
}, 180_000);

afterAll(async () => {
  for (const proxy of proxies) proxy.close();
  await world?.stop();
});

async function startCountingProxy(target: string): Promise<string> {
  const origin = new URL(target).origin;
  const proxy = createServer(async (req, res) => {
    try {
      const chunks: Buffer[] = [];
      for await (const chunk of req) chunks.push(chunk as Buffer);
      if (req.method === 'POST') nationRequests += 1;
      const headers = Object.fromEntries(Object.entries(req.headers).filter(([name]) => !['host', 'connection', 'content-length'].includes(name)) as Array<[string, string]>);
      const upstream = await fetch(`${origin}${req.url}`, { method: req.method, headers, body: chunks.length ? Buffer.concat(chunks) : undefined });
      res.writeHead(upstream.status, { 'content-type': upstream.headers.get('content-type') ?? 'application/json' }).end(await upstream.text());
    } catch (error) {
      res.writeHead(502).end(String(error));
    }
  });
  proxies.push(proxy);
  await new Promise<void>((resolve) => proxy.listen(0, '127.0.0.1', resolve));
  return `http://127.0.0.1:${(proxy.address() as AddressInfo).port}${new URL(target).pathname}`;
}

async function send(operation: Pick<HostileOperation, 'query' | 'variables' | 'operationName'>) {
  const response = await fetch(world.coalition.gateway.url, {
    method: 'POST',
    headers: { 'content-type': 'application/json', authorization: `Bearer ${analyst}` },
    body: JSON.stringify({ query: operation.query, variables: operation.variables, operationName: operation.operationName }),
  });
  return { status: response.status, body: (await response.json()) as { data?: unknown; errors?: Array<{ message: string; extensions?: Record<string, unknown> }> } };
}

describe('a German analyst sends hostile operations', () => {
  for (const hostile of HOSTILE_OPERATIONS) {
    it(`${hostile.name}: 400 ${hostile.code}, no nation asked`, async () => {
      const before = nationRequests;
      const started = performance.now();
      const { status, body } = await send(hostile);
      const took = performance.now() - started;
      expect(body.errors).toHaveLength(1);
      expect(body.errors![0]!.extensions?.code).toBe(hostile.code);
      expect(status).toBe(400);
      expect(body.data).toBeUndefined();
      expect(nationRequests).toBe(before);
      // Refused before any work: nowhere near the seconds such operations used to take.
      expect(took).toBeLessThan(2000);
    });
  }

  it('is told which limit, the allowed value and what the operation had', async () => {
    const { body } = await send({ query: '{ indicators(first: 1000000) { edges { node { id } } } }' });
    expect(body.errors![0]!.extensions).toMatchObject({ code: 'MAX_COST_EXCEEDED', limit: 700_000 });
    expect(body.errors![0]!.extensions!.found).toBeGreaterThan(700_000);
    expect(body.errors![0]!.message).toMatch(/limit of 700000/);
  });

  it('gets no "Did you mean" suggestion of the schema\'s names', async () => {
    const { status, body } = await send({ query: '{ indicatorz(first: 1) { edges { cursor } } }' });
    expect(status).toBe(400);
    expect(body.errors![0]!.message).not.toMatch(/Did you mean/);
    expect(body.errors![0]!.message).toContain('indicatorz');
  });
});

describe('a French analyst\'s ordinary queries still go through', () => {
  it('a page of indicators with a cross-nation reference, answered by the nations', async () => {
    const before = nationRequests;
    const { status, body } = await send({ query: '{ sightings(first: 5) { edges { node { id sightingOf { id nation } } } } me { nation } }' });
    expect(status).toBe(200);
    // Withheld fields are the policy at work; nothing else may go wrong.
    expect((body.errors ?? []).filter((e) => e.extensions?.code !== 'WITHHELD')).toEqual([]);
    expect((body.data as { sightings: { edges: unknown[] } }).sightings.edges.length).toBeGreaterThan(0);
    expect(nationRequests).toBeGreaterThan(before);
  });
});

/** The raw HTTP answer, headers included. */
async function post(token: string, query: string, signal?: AbortSignal): Promise<{ status: number; retryAfter: string | null; body: GraphQLAnswer }> {
  const response = await fetch(world.coalition.gateway.url, {
    method: 'POST',
    headers: { 'content-type': 'application/json', authorization: `Bearer ${token}` },
    body: JSON.stringify({ query }),
    signal,
  });
  return { status: response.status, retryAfter: response.headers.get('retry-after'), body: (await response.json()) as GraphQLAnswer };
}

describe('a German analyst floods the gateway (fair share)', () => {
  it("gets 429s with Retry-After naming the per-caller bound; a French analyst's queries meanwhile all succeed", async () => {
    let flooding = true;
    const floodAnswers: Awaited<ReturnType<typeof post>>[] = [];
    const flood = (async () => {
      while (flooding) floodAnswers.push(...(await Promise.all(Array.from({ length: 200 }, () => post(flooder, SMALL_PAGE)))));
    })();
    const steadyAnswers: GraphQLAnswer[] = [];
    try {
      for (let i = 0; i < 10; i++) steadyAnswers.push(await world.ask(steady, SMALL_PAGE));
    } finally {
      flooding = false;
      await flood;
    }

    for (const answer of steadyAnswers) {
      expect(answer.status).toBe(200);
      expect(answer.errors?.filter((e) => e.extensions?.code === 'RATE_LIMITED') ?? []).toEqual([]);
      expect(answer.data.indicators.edges.length).toBeGreaterThan(0);
    }
    const refused = floodAnswers.filter((a) => a.status === 429);
    expect(refused.length).toBeGreaterThan(100);
    expect(floodAnswers.filter((a) => a.status !== 429).every((a) => a.status === 200)).toBe(true);
    for (const { retryAfter, body } of refused) {
      expect(retryAfter).toBe('1');
      expect(body.errors).toEqual([
        {
          message: `Too many requests at once from you: at most ${DEFAULT_FAIR_SHARE.perCaller} of yours run at a time. Retry after 1 s.`,
          extensions: { code: 'RATE_LIMITED', scope: 'caller', limit: DEFAULT_FAIR_SHARE.perCaller, retryAfterSeconds: 1 },
        },
      ]);
    }
  }, 120_000);

  it('after the flood, and after leaving mid-answer, the flooder is served again at its full bound: no slot was kept', async () => {
    // Leave in the middle: the requests are aborted by the client while the gateway works on them.
    const leaving = Array.from({ length: 40 }, () => {
      const controller = new AbortController();
      setTimeout(() => controller.abort(), 20);
      return post(flooder, SMALL_PAGE, controller.signal).catch(() => undefined);
    });
    await Promise.all(leaving);
    // The gateway sees each leaving client's close on its own time; give it a moment, then ask at the bound.
    await new Promise((resolve) => setTimeout(resolve, 2000));
    const answers = await Promise.all(Array.from({ length: DEFAULT_FAIR_SHARE.perCaller }, () => post(flooder, SMALL_PAGE)));
    expect(answers.map((a) => a.status)).toEqual(answers.map(() => 200));
  }, 60_000);

  it('an unauthenticated flood is refused as unauthenticated, taking no slot', async () => {
    const answers = await Promise.all(Array.from({ length: 50 }, () => world.ask(undefined, SMALL_PAGE)));
    expect(new Set(answers.map((a) => a.status))).toEqual(new Set([401]));
  });
});
