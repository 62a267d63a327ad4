/**
 * No release without its audit record. French and German analysts read France's objects through
 * the gateway, one object a request and never the same one twice, while France's subgraph is
 * killed (SIGKILL, no chance to write anything more). Every French object any of them received is
 * then found released, during the load, in France's verified audit chain: no answer left before
 * its record was in.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { siloDir } from '../../gateway/demo/launch';
import { recentAuditRecords, verifyAuditChain } from '../../subgraphs/audit';
import { openSilo } from '../../subgraphs/silo';
import { startTestCoalition, type GraphQLAnswer, type TestCoalition } from '../helpers/coalition';

const VICTIM = 'FRA';
const CLIENTS = 6;
/** France is killed once this share of its objects has been answered: answers are still arriving. */
const KILL_AFTER_SHARE = 0.5;
const TYPES = [
  { list: 'indicators', single: 'indicator' },
  { list: 'incidents', single: 'incident' },
  { list: 'sightings', single: 'sighting' },
  { list: 'threatActors', single: 'threatActor' },
] as const;

let world: TestCoalition;
let analysts: string[];

beforeAll(async () => {
  world = await startTestCoalition({ nations: [VICTIM, 'DEU'], seedSize: 200 });
  analysts = await Promise.all([
    world.token({ nation: 'FRA', clearance: 'TOP_SECRET', roles: ['analyst'], communities: ['NATO', 'EU'] }),
    world.token({ nation: 'DEU', clearance: 'TOP_SECRET', roles: ['analyst'], communities: ['NATO', 'EU'] }),
  ]);
}, 180_000);

afterAll(async () => world?.stop());

/** Every French object the French analyst may see, as `{ single, id }`, by paging through each list. */
async function everyFrenchObject(): Promise<Array<{ single: string; id: string }>> {
  const objects: Array<{ single: string; id: string }> = [];
  for (const { list, single } of TYPES) {
    let after: string | null = null;
    for (let guard = 0; guard < 100; guard++) {
      const answer = await world.ask(analysts[0], `query($after: String) { ${list}(first: 100, after: $after, filter: { nations: ["${VICTIM}"] }) { edges { node { id } } pageInfo { hasNextPage endCursor } } }`, { after });
      expect(answer.errors).toBeUndefined();
      const connection = answer.data[list];
      objects.push(...connection.edges.map((e: { node: { id: string } }) => ({ single, id: e.node.id })));
      if (!connection.pageInfo.hasNextPage) break;
      after = connection.pageInfo.endCursor;
    }
  }
  return objects;
}

/** Every id of France's in an answer, wherever it sits. */
function frenchIdsIn(value: unknown, into: Set<string>): void {
  if (Array.isArray(value)) for (const item of value) frenchIdsIn(item, into);
  else if (value && typeof value === 'object') for (const [key, inner] of Object.entries(value)) {
    if (key === 'id' && typeof inner === 'string' && inner.startsWith(`${VICTIM}:`)) into.add(inner);
    else frenchIdsIn(inner, into);
  }
}

// Before France is killed (this file's coalition is shared): ids that cannot name an object, through the gateway.
describe('a German analyst asks the gateway for French objects by ids that name nothing', () => {
  it('gets null as for an unknown id, and France logs nothing', async () => {
    const france = world.coalition.nations.find((n) => n.nation === VICTIM)!;
    let logged = '';
    const listen = (chunk: Buffer) => (logged += chunk.toString());
    france.child.stderr!.on('data', listen);
    try {
      const query = 'query($id: ID!) { indicator(id: $id) { id pattern } }';
      const unknown = await world.ask(analysts[1], query, { id: `${VICTIM}:indicator--00000000-0000-4000-8000-000000000000` });
      expect(unknown).toEqual({ status: 200, data: { indicator: null }, extensions: expect.anything() });
      for (const id of [`${VICTIM}:indicator--\u0000`, `${VICTIM}:indicator--${'a'.repeat(100_000)}`, `${VICTIM}:indicator--\uD800`]) {
        expect(await world.ask(analysts[1], query, { id })).toEqual(unknown);
      }
      // France's log lines are written as they come: a moment for the last to arrive.
      await new Promise((resolve) => setTimeout(resolve, 300));
      expect(logged).toBe('');
    } finally {
      france.child.stderr!.off('data', listen);
    }
  });
});

describe('France killed under load', () => {
  it('every French object a client received is in a release of France’s verified audit chain', async () => {
    const objects = await everyFrenchObject();
    console.info(TYPES.map(({ single }) => `${objects.filter((o) => o.single === single).length} ${single}`).join(', '));
    expect(objects.length).toBeGreaterThan(40);
    const france = world.coalition.nations.find((n) => n.nation === VICTIM)!;
    const exited = new Promise((resolve) => france.child.once('exit', resolve));

    const received = new Set<string>();
    const answers: GraphQLAnswer[] = [];
    let next = 0;
    let killedAt: number | undefined;
    // Listing France's objects released them all already: only the records of the load itself count.
    const loadStartedAt = Date.now();
    const client = async (n: number) => {
      while (next < objects.length && (killedAt === undefined || Date.now() - killedAt < 1_000)) {
        const { single, id } = objects[next++]!;
        const answer = await world.ask(analysts[n % analysts.length], `query($id: ID!) { ${single}(id: $id) { id created } }`, { id });
        answers.push(answer);
        frenchIdsIn(answer.data, received);
        // Killed the moment an answer arrives: it, and those of the other clients in flight, left France milliseconds ago.
        if (killedAt === undefined && answers.length >= objects.length * KILL_AFTER_SHARE) {
          killedAt = Date.now();
          france.child.kill('SIGKILL');
        }
      }
    };
    await Promise.all(Array.from({ length: CLIENTS }, (_, n) => client(n)));
    await exited;

    const unavailable = answers.filter((a) => a.errors?.some((e) => e.extensions?.code === 'NATION_UNAVAILABLE' && e.extensions?.nation === VICTIM));
    console.info(`${answers.length} requests, ${received.size} French objects received, ${unavailable.length} answered NATION_UNAVAILABLE after the kill`);
    expect(received.size).toBeGreaterThan(15);
    expect(unavailable.length).toBeGreaterThan(0);

    const silo = await openSilo({ nation: VICTIM, dataDir: siloDir(world.dataDir, VICTIM) });
    try {
      const verdict = await verifyAuditChain(silo);
      expect(verdict.ok).toBe(true);
      const ofTheLoad = (await recentAuditRecords(silo, verdict.records)).filter((record) => Date.parse(record.at) >= loadStartedAt);
      const released = new Set(ofTheLoad.flatMap((record) => record.entry.released));
      const missing = [...received].filter((id) => !released.has(id));
      expect(missing, `${missing.length} of ${received.size} objects received are in no record of the chain`).toEqual([]);
    } finally {
      await silo.close();
    }
  });

  it('without France the gateway answers the German data and says France is unavailable', async () => {
    const answer = await world.ask(analysts[1], '{ indicators(first: 10) { edges { node { id nation } } } }');
    expect(answer.data.indicators.edges.length).toBeGreaterThan(0);
    expect(answer.data.indicators.edges.every((e: { node: { nation: string } }) => e.node.nation === 'DEU')).toBe(true);
    expect(answer.errors?.map((e) => [e.extensions?.code, e.extensions?.nation])).toEqual([['NATION_UNAVAILABLE', VICTIM]]);
  });
});
