/**
 * A nation in trouble costs its own data only, quickly: hung (SIGSTOP), flapping (stopped and
 * continued over and over under load) and killed, with real processes. Once a nation's circuit is
 * open the others answer at once, and a background probe closes it when the nation answers again.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startTestCoalition, type GraphQLAnswer, type TestCoalition } from '../helpers/coalition';

let world: TestCoalition;
let analyst: string;
/** Every nation this file stopped: continued in teardown whatever happened. */
const stopped = new Set<number>();

const PAGE = '{ indicators(first: 20) { edges { node { id nation } } } }';
const ONLY = (nation: string) => `{ indicators(first: 5, filter: { nations: ["${nation}"] }) { edges { node { id nation } } } }`;

beforeAll(async () => {
  world = await startTestCoalition();
  analyst = await world.token({ nation: 'DEU', clearance: 'SECRET', roles: ['analyst'], communities: ['NATO', 'EU'] });
}, 180_000);

afterAll(async () => {
  for (const pid of stopped) continueProcess(pid);
  await world?.stop();
});

function pidOf(nation: string): number {
  return world.coalition.nations.find((n) => n.nation === nation)!.child.pid!;
}

function stopProcess(pid: number): void {
  stopped.add(pid);
  process.kill(pid, 'SIGSTOP');
}

function continueProcess(pid: number): void {
  try {
    process.kill(pid, 'SIGCONT');
  } catch {
    // Already gone (killed by a test): nothing to continue.
  }
}

async function health(): Promise<{ circuits: Record<string, { state: string }> }> {
  return (await fetch(world.coalition.gateway.url.replace('/graphql', '/health'))).json() as never;
}

async function timed(query: string): Promise<{ ms: number; answer: GraphQLAnswer }> {
  const started = performance.now();
  const answer = await world.ask(analyst, query);
  return { ms: performance.now() - started, answer };
}

function circuitOpenError(answer: GraphQLAnswer, nation: string) {
  return answer.errors?.find((e) => e.extensions?.code === 'NATION_UNAVAILABLE' && e.extensions?.nation === nation && e.message.includes('circuit is open'));
}

/** Asks until `done` says so, or fails after `withinMs`. */
async function eventually<T>(withinMs: number, attempt: () => Promise<T | undefined>): Promise<T> {
  const deadline = Date.now() + withinMs;
  for (;;) {
    const result = await attempt();
    if (result !== undefined) return result;
    if (Date.now() > deadline) throw new Error(`not within ${withinMs} ms`);
    await new Promise((resolve) => setTimeout(resolve, 200));
  }
}

describe('a hung nation', () => {
  it("once its circuit opens, costs its own data only and answers at once; when it answers again, its circuit closes and its data is back", async () => {
    const fra = pidOf('FRA');
    stopProcess(fra);
    try {
      // Three queries at once: three timeouts in a row open the circuit.
      await Promise.all([1, 2, 3].map(() => world.ask(analyst, PAGE)));
      await eventually(10_000, async () => circuitOpenError(await world.ask(analyst, PAGE), 'FRA'));

      const took: number[] = [];
      for (let i = 0; i < 5; i++) {
        const { ms, answer } = await timed(PAGE);
        took.push(ms);
        expect(answer.status).toBe(200);
        const nations = new Set(answer.data.indicators.edges.map((e: any) => e.node.nation));
        expect(nations.has('FRA')).toBe(false);
        expect(nations.size).toBeGreaterThan(1);
        for (const error of answer.errors!) expect(error.extensions?.code).toBe('NATION_UNAVAILABLE');
        expect(circuitOpenError(answer, 'FRA')!.message).toMatch(
          /^Nation FRA is unavailable: its circuit is open since \S+Z after 3 consecutive failures \(the last: no answer within 1500 ms\); it is probed every 1000 ms, next at \S+Z\. Its data is missing from this answer\.$/,
        );
      }
      // Every answer under the 1500 ms nation timeout, the typical one well under: the hung nation was not waited for.
      expect(Math.max(...took)).toBeLessThan(1500);
      expect(took.sort((a, b) => a - b)[2]).toBeLessThan(1000);
      expect((await health()).circuits.FRA).toMatchObject({ state: 'open', lastFailure: 'no answer within 1500 ms' });
      expect((await health()).circuits.DEU).toEqual({ state: 'closed', consecutiveFailures: 0 });
    } finally {
      continueProcess(fra);
    }
    const back = await eventually(8_000, async () => {
      const answer = await world.ask(analyst, ONLY('FRA'));
      return answer.errors === undefined ? answer : undefined;
    });
    expect(back.data.indicators.edges.length).toBeGreaterThan(0);
    expect((await health()).circuits.FRA).toEqual({ state: 'closed', consecutiveFailures: 0 });
  }, 60_000);
});

describe('a flapping nation', () => {
  it('stopped and continued over and over under steady load: no 5xx, every answer whole or partial with NATION_UNAVAILABLE, and it recovers by itself', async () => {
    const gbr = pidOf('GBR');
    let loading = true;
    const answers: GraphQLAnswer[] = [];
    const load = Promise.all(
      [1, 2, 3].map(async () => {
        while (loading) answers.push(await world.ask(analyst, PAGE));
      }),
    );
    try {
      for (let cycle = 0; cycle < 4; cycle++) {
        // Stopped longer than the 1500 ms nation timeout, so requests fail; continued briefly.
        stopProcess(gbr);
        await new Promise((resolve) => setTimeout(resolve, 2500));
        continueProcess(gbr);
        await new Promise((resolve) => setTimeout(resolve, 800));
      }
    } finally {
      continueProcess(gbr);
      loading = false;
      await load;
    }
    expect(answers.length).toBeGreaterThan(6);
    for (const answer of answers) {
      expect(answer.status).toBe(200);
      expect(answer.data.indicators.edges.length).toBeGreaterThan(0);
      for (const error of answer.errors ?? []) expect(error.extensions).toMatchObject({ code: 'NATION_UNAVAILABLE', nation: 'GBR' });
    }
    expect(answers.some((a) => a.errors?.length)).toBe(true);
    const back = await eventually(8_000, async () => {
      const answer = await world.ask(analyst, ONLY('GBR'));
      return answer.errors === undefined ? answer : undefined;
    });
    expect(back.data.indicators.edges.length).toBeGreaterThan(0);
    expect((await health()).circuits.GBR).toEqual({ state: 'closed', consecutiveFailures: 0 });
  }, 90_000);
});

describe('a killed nation', () => {
  it('refuses connections: its circuit opens the same way, and the others answer at once', async () => {
    process.kill(pidOf('EST'), 'SIGKILL');
    await eventually(10_000, async () => circuitOpenError(await world.ask(analyst, PAGE), 'EST'));
    const { ms, answer } = await timed(PAGE);
    expect(ms).toBeLessThan(1500);
    expect(circuitOpenError(answer, 'EST')!.message).toMatch(/\(the last: unreachable \(/);
    expect(answer.data.indicators.edges.length).toBeGreaterThan(0);
    expect((await health()).circuits.EST).toMatchObject({ state: 'open' });
  }, 60_000);
});
