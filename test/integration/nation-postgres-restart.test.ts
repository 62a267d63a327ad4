/**
 * France's silo is on a PostgreSQL server of its own, and the server is restarted while German
 * analysts keep asking the coalition for indicators. France's subgraph does not crash; while the
 * server is away its answers are a clean 503 and the gateway gives the German data with
 * NATION_UNAVAILABLE for France alone; once the server is back France answers again by itself
 * within seconds; and every French object an analyst received is in France's verified audit chain.
 */
import { spawn, type ChildProcess } from 'node:child_process';
import { readdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startGateway, type RunningGateway } from '../../gateway/server';
import { ASSERTION_HEADER, createAssertionSigner } from '../../policies';
import { recentAuditRecords, verifyAuditChain } from '../../subgraphs/audit';
import { openSilo } from '../../subgraphs/silo';
import { postGraphQL, startTestCoalition, type GraphQLAnswer, type TestCoalition } from '../helpers/coalition';
import { startThrowawayPostgres, type ThrowawayPostgres } from '../helpers/postgres-server';

const ROOT = fileURLToPath(new URL('../../', import.meta.url));
const NODE_WITH_TSX = [process.execPath, '--import', 'tsx'];
const QUERY = '{ indicators(first: 10) { edges { node { id nation created } } } }';
const OUTAGE_MS = 2_000;

let server: ThrowawayPostgres;
let world: TestCoalition;
let france: { child: ChildProcess; url: string; stderr: () => string };
let gateway: RunningGateway;
let analyst: string;

beforeAll(async () => {
  server = await startThrowawayPostgres();
  // The coalition's France stays on PGlite; this test's France is its own process over the server.
  world = await startTestCoalition({ nations: ['FRA', 'DEU'] });
  const env = { ...process.env, DATABASE_URL: server.url };
  await run(['subgraphs/cli/stix.ts', 'import', '--nation', 'FRA', join(world.dataDir, 'seed', 'FRA.json')], env);
  const { keys } = world.coalition;
  france = await spawnNation(['--nation', 'FRA', '--port', '0', '--gateway-key', keys.gatewayPublicKeyFile, '--policy-trust', keys.policyTrustFile, '--signed-rules', join(world.dataDir, 'policy', 'FRA')], env);
  const signedDir = join(world.dataDir, 'policy', 'signed');
  gateway = await startGateway({
    port: 0,
    nations: [
      { nation: 'FRA', url: france.url },
      { nation: 'DEU', url: world.coalition.nations.find((n) => n.nation === 'DEU')!.url },
    ],
    subgraphs: [{ name: 'reference', url: world.coalition.reference.url }],
    trustStore: keys.trustStore,
    assertionPrivateJwk: keys.gatewayPrivateJwk,
    nationTimeoutMs: 1_500,
    policyTrust: keys.policyTrust,
    signedRules: readdirSync(signedDir).filter((f) => f.endsWith('.jws')).map((f) => readFileSync(join(signedDir, f), 'utf8')),
  });
  analyst = await world.token({ nation: 'DEU', clearance: 'TOP_SECRET', roles: ['analyst'], communities: ['NATO', 'EU'] });
}, 240_000);

afterAll(async () => {
  await gateway?.stop();
  france?.child.kill('SIGTERM');
  await world?.stop();
  server?.dispose();
});

function run(args: string[], env: NodeJS.ProcessEnv): Promise<void> {
  return new Promise((resolve, reject) => {
    const child = spawn(NODE_WITH_TSX[0]!, [...NODE_WITH_TSX.slice(1), ...args], { cwd: ROOT, env, stdio: ['ignore', 'ignore', 'pipe'] });
    let err = '';
    child.stderr!.on('data', (d) => (err += d));
    child.on('exit', (code) => (code === 0 ? resolve() : reject(new Error(`${args.join(' ')} exited with ${code}: ${err}`))));
  });
}

function spawnNation(args: string[], env: NodeJS.ProcessEnv): Promise<typeof france> {
  const child = spawn(NODE_WITH_TSX[0]!, [...NODE_WITH_TSX.slice(1), 'subgraphs/cli/nation.ts', ...args], { cwd: ROOT, env, stdio: ['ignore', 'pipe', 'pipe'] });
  let stderr = '';
  child.stderr!.on('data', (d) => (stderr += d));
  return new Promise((resolve, reject) => {
    let out = '';
    child.stdout!.on('data', (d) => {
      out += d;
      const url = out.match(/http:\/\/[\w.:[\]-]+\/graphql/)?.[0];
      if (url) resolve({ child, url, stderr: () => stderr });
    });
    child.on('exit', (code) => reject(new Error(`the nation exited with ${code}: ${stderr}`)));
  });
}

interface Observed {
  /** When the request was sent, and when its answer arrived. */
  at: number;
  doneAt: number;
  answer: GraphQLAnswer;
}

const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));
const whole = (answer: GraphQLAnswer): boolean => answer.status === 200 && !answer.errors && answer.data.indicators.edges.some((e: { node: { nation: string } }) => e.node.nation === 'FRA');

describe("France's PostgreSQL server restarted under load", () => {
  it('France does not crash, answers cleanly while it is away, recovers by itself, and loses no audit record', async () => {
    const sign = await createAssertionSigner({ privateJwk: world.coalition.keys.gatewayPrivateJwk });
    const askFranceDirectly = async () => postGraphQL(france.url, QUERY, {}, { [ASSERTION_HEADER]: await sign({ subject: 'ana@bund', nation: 'DEU', clearance: 'TOP_SECRET', roles: ['analyst'], communities: ['NATO', 'EU'] }, 'sovgraph:FRA') });
    // Through this test's gateway, whose France is on the server.
    const ask = () => postGraphQL(gateway.url, QUERY, {}, { authorization: `Bearer ${analyst}` }).catch(() => ({ status: 0 }) as GraphQLAnswer);
    const loadStartedAt = Date.now();
    const observed: Observed[] = [];
    let stopping = false;
    const client = async () => {
      while (!stopping) {
        const at = Date.now();
        const answer = await ask();
        observed.push({ at, doneAt: Date.now(), answer });
        await sleep(20);
      }
    };
    const clients = Array.from({ length: 3 }, client);

    await sleep(1_500);
    await server.stop();
    const stoppedAt = Date.now();
    await sleep(OUTAGE_MS / 2);
    const direct = await askFranceDirectly();
    await sleep(OUTAGE_MS / 2);
    const startingAt = Date.now();
    await server.start();
    const startedAt = Date.now();
    let recoveredAt: number | undefined;
    while (Date.now() - startedAt < 20_000) {
      const recovered = observed.find((o) => o.at >= startedAt && whole(o.answer));
      if (recovered) {
        recoveredAt = recovered.at;
        break;
      }
      await sleep(100);
    }
    await sleep(500);
    stopping = true;
    await Promise.all(clients);

    expect(france.child.exitCode, france.stderr()).toBeNull();
    expect(france.child.signalCode).toBeNull();
    expect(direct.status).toBe(503);
    expect(direct.data).toBeUndefined();
    expect(direct.errors?.map((e) => e.extensions?.code)).toEqual(['SILO_UNAVAILABLE']);

    // Asked and answered while the server was down.
    const during = observed.filter((o) => o.at > stoppedAt && o.doneAt < startingAt).map((o) => o.answer);
    expect(during.length).toBeGreaterThan(0);
    for (const answer of during) {
      expect(answer.status).toBe(200);
      expect(answer.data.indicators.edges.length).toBeGreaterThan(0);
      expect(answer.data.indicators.edges.every((e: { node: { nation: string } }) => e.node.nation === 'DEU')).toBe(true);
      expect(answer.errors?.map((e) => [e.extensions?.code, e.extensions?.nation])).toEqual([['NATION_UNAVAILABLE', 'FRA']]);
    }
    expect(recoveredAt, 'France answered again after the server was back').toBeDefined();
    console.info(`${observed.length} requests; ${during.length} during the outage, all partial; France answered again ${recoveredAt! - startedAt} ms after the server was back`);
    expect(recoveredAt! - startedAt).toBeLessThan(10_000);
    // Nothing but partial answers and whole ones: no other error reached an analyst.
    for (const { answer } of observed) expect(answer.errors?.every((e) => e.extensions?.code === 'NATION_UNAVAILABLE' && e.extensions?.nation === 'FRA') ?? true).toBe(true);
    expect(france.stderr()).not.toMatch(/\n\s+at /);

    const received = new Set(observed.flatMap(({ answer }) => (answer.data?.indicators.edges ?? []).map((e: { node: { id: string } }) => e.node.id).filter((id: string) => id.startsWith('FRA:'))));
    expect(received.size).toBeGreaterThan(0);
    const silo = await openSilo({ nation: 'FRA', databaseUrl: server.url });
    try {
      const verdict = await verifyAuditChain(silo);
      expect(verdict.ok).toBe(true);
      const ofTheLoad = (await recentAuditRecords(silo, verdict.records)).filter((r) => Date.parse(r.at) >= loadStartedAt);
      const released = new Set(ofTheLoad.flatMap((r) => r.entry.released));
      expect([...received].filter((id) => !released.has(id))).toEqual([]);
      // Each answer with French data was a release France recorded.
      const answeredByFrance = observed.filter(({ answer }) => answer.data?.indicators.edges.some((e: { node: { nation: string } }) => e.node.nation === 'FRA')).length;
      expect(ofTheLoad.length).toBeGreaterThanOrEqual(answeredByFrance);
    } finally {
      await silo.close();
    }
  });
});
