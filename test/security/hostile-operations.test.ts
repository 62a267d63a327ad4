/**
 * Hostile operations against a real coalition: an analyst sends reference cycles, alias floods,
 * fragment bombs, deep nesting, huge pages and huge inputs. Each is refused with HTTP 400 and one
 * error naming the limit, quickly, and no nation hears of it: every nation is reached through a
 * proxy that counts the GraphQL requests it passes on. Ordinary queries still go through.
 */
import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startTestCoalition, type TestCoalition } from '../helpers/coalition';
import { HOSTILE_OPERATIONS, type HostileOperation } from '../helpers/hostile-operations';

let world: TestCoalition;
let analyst: string;
const proxies: Server[] = [];
/** GraphQL requests that reached any nation (the rules' polling, a GET, is not counted). */
let nationRequests = 0;

beforeAll(async () => {
  world = await startTestCoalition({ nations: ['DEU', 'FRA', 'GBR'], seedSize: 40, routeToNation: (_nation, url) => startCountingProxy(url) });
  analyst = await world.token({ nation: 'DEU', clearance: 'SECRET', roles: ['analyst'], communities: ['NATO', 'EU'] });
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
