/**
 * Fair share, with real processes: a caller who floods the gateway is bounded (429 with
 * Retry-After), and another caller's requests all go through meanwhile.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { DEFAULT_FAIR_SHARE } from '../../gateway/admission';
import { startTestCoalition, type GraphQLAnswer, type TestCoalition } from '../helpers/coalition';

let world: TestCoalition;
let flooder: string;
let steady: string;

const SMALL_PAGE = '{ indicators(first: 5) { edges { node { id nation } } } }';

beforeAll(async () => {
  world = await startTestCoalition();
  flooder = await world.token({ nation: 'DEU', clearance: 'SECRET', roles: ['analyst'], communities: ['NATO', 'EU'], subject: 'flooder@bund.de' });
  steady = await world.token({ nation: 'FRA', clearance: 'SECRET', roles: ['analyst'], communities: ['NATO', 'EU'], subject: 'analyste@defense.gouv.fr' });
}, 180_000);

afterAll(async () => world?.stop());

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

describe('a German analyst floods the gateway', () => {
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
