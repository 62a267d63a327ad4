/**
 * `npm run bench`: requests/s and p50/p99 of a 50-indicator nested query, measured side by side in
 * one run (the machine is shared and noisy: read the ratios, not the absolute figures):
 *   1. one nation subgraph alone (the floor),
 *   2. plain @apollo/gateway over that one subgraph,
 *   3. sovgraph over five nations with the policy layer OFF (fan-out + keyset merge only),
 *   4. the same with the policy layer ON (every field decided at source and again at the gateway),
 *   5. sovgraph with a reference-subgraph hop (technique names), policy on.
 * Policy off and on run as two coalitions over copies of the same silos, measured alternately, in
 * pairs that swap their order (off on, on off, off on…): drift in the machine's speed, which on a
 * shared machine moves the cost of a request by a fifth within a minute, hits both alike, and a
 * steady drift does not favour whichever always runs second.
 * Both coalitions are first warmed up alike, unmeasured: freshly started processes run cold code
 * (JIT, caches) for seconds, and the first pair measured would otherwise compare two cold starts.
 * Many short pairs rather than a few long ones: a pair's two runs are closer in time (less drift
 * between them), and the median of ten pairs moves less than that of six. The pairs' middle half is
 * printed too: it is how far to trust the median.
 * Environment: BENCH_SECONDS (default 5), BENCH_CONCURRENCY (default 16), BENCH_SEED_SIZE (default 400),
 * BENCH_ROUNDS (policy off/on pairs, default 10), BENCH_WARMUP_SECONDS (each coalition, default 8).
 * Last, one line: what committing each release's audit record before its answer costs (audit-commit.ts).
 */
import { cpSync, mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { ApolloGateway, RemoteGraphQLDataSource } from '@apollo/gateway';
import { composeServices } from '@apollo/composition';
import { ApolloServer } from '@apollo/server';
import { startStandaloneServer } from '@apollo/server/standalone';
import { parse } from 'graphql';
import { ASSERTION_HEADER, createAssertionSigner, type Principal } from '../../policies';
import { launchCoalition } from '../../gateway/demo/launch';
import { withoutApolloTelemetry } from '../../gateway/server';
import { mintToken } from '../../gateway/demo/tokens';
import { measureAuditCommit } from './audit-commit';
import { runLoad, type LoadResult } from './load';
import { nestedQuery } from './queries';

const seconds = Number(process.env.BENCH_SECONDS ?? 5);
const concurrency = Number(process.env.BENCH_CONCURRENCY ?? 16);
const seedSize = Number(process.env.BENCH_SEED_SIZE ?? 400);
const rounds = Number(process.env.BENCH_ROUNDS ?? 10);
const warmupSeconds = Number(process.env.BENCH_WARMUP_SECONDS ?? 8);



const principal: Principal = { subject: 'bench', nation: 'FRA', clearance: 'TOP_SECRET', roles: ['analyst'], communities: ['NATO', 'EU'] };

const dataDir = mkdtempSync(join(tmpdir(), 'sovgraph-bench-'));
const offDataDir = mkdtempSync(join(tmpdir(), 'sovgraph-bench-off-'));
console.log(`seeding a five-nation coalition (${seedSize} objects a nation)…`);
const ports = { gatewayPort: 0, referencePort: 0, firstNationPort: 0, seedSize };
await (await launchCoalition({ dataDir, ...ports })).stop();
cpSync(dataDir, offDataDir, { recursive: true });
console.log('starting it twice over copies of the same silos: policy on, and policy off…');
const [coalition, unpoliced] = await Promise.all([launchCoalition({ dataDir, ...ports }), launchCoalition({ dataDir: offDataDir, ...ports, enforcement: false })]);
const fra = coalition.nations.find((n) => n.nation === 'FRA')!;
const sign = await createAssertionSigner({ privateJwk: coalition.keys.gatewayPrivateJwk, ttlSeconds: 3600 });
const assertion = await sign(principal, 'sovgraph:FRA');
const plain = await startPlainGateway(fra.url, assertion);
const token = await mintToken(coalition.keys.idpPrivateJwks.FRA!, { nation: 'FRA', clearance: 'TOP_SECRET', roles: ['analyst'], communities: ['NATO', 'EU'] });

const unpolicedToken = await mintToken(unpoliced.keys.idpPrivateJwks.FRA!, { nation: 'FRA', clearance: 'TOP_SECRET', roles: ['analyst'], communities: ['NATO', 'EU'] });

type Scenario = { name: string; url: string; headers: Record<string, string>; query: string; pids: number[] };
const pidsOf = (c: typeof coalition) => [...c.nations.map((n) => n.child.pid!), c.reference.child.pid!];
const POLICY_OFF = 'sovgraph, 5 nations, policy OFF';
const POLICY_ON = 'sovgraph, 5 nations, policy ON';
const policyOff: Scenario = { name: POLICY_OFF, url: unpoliced.gateway.url, headers: { authorization: `Bearer ${unpolicedToken}` }, query: nestedQuery('id'), pids: pidsOf(unpoliced) };
const policyOn: Scenario = { name: POLICY_ON, url: coalition.gateway.url, headers: { authorization: `Bearer ${token}` }, query: nestedQuery('id'), pids: pidsOf(coalition) };
const scenarios: Scenario[] = [
  { name: 'nation subgraph alone (floor)', url: fra.url, headers: { [ASSERTION_HEADER]: assertion }, query: nestedQuery('id'), pids: pidsOf(coalition) },
  { name: 'plain @apollo/gateway, 1 nation', url: plain.url, headers: {}, query: nestedQuery('id'), pids: pidsOf(coalition) },
  ...Array.from({ length: rounds }, (_, i) => (i % 2 ? [policyOn, policyOff] : [policyOff, policyOn])).flat(),
  { name: 'sovgraph, 5 nations + reference hop, policy ON', url: coalition.gateway.url, headers: { authorization: `Bearer ${token}` }, query: nestedQuery('id name tactics'), pids: pidsOf(coalition) },
];

const results: Array<{ name: string; result: LoadResult; benchCpuMs: number; subgraphCpuMs: number }> = [];
try {
  console.log(`warming up both coalitions (${warmupSeconds} s each, unmeasured)…`);
  for (const scenario of [policyOff, policyOn]) {
    await runLoad({ url: scenario.url, headers: scenario.headers, body: JSON.stringify({ query: scenario.query }), concurrency, durationMs: warmupSeconds * 1000, warmupMs: 0 });
  }
  for (const scenario of scenarios) {
    const subgraphPids = scenario.pids;
    const cpuBefore = process.cpuUsage();
    const subgraphBefore = subgraphCpuMs(subgraphPids);
    const result = await runLoad({
      url: scenario.url,
      headers: scenario.headers,
      body: JSON.stringify({ query: scenario.query }),
      concurrency,
      durationMs: seconds * 1000,
      warmupMs: 1500,
    });
    const cpu = process.cpuUsage(cpuBefore);
    // Includes the warm-up requests, which are not counted: a slight over-estimate, the same for every scenario.
    const counted = result.requests * (1 + 1500 / (seconds * 1000));
    results.push({ name: scenario.name, result, benchCpuMs: (cpu.user + cpu.system) / 1000 / counted, subgraphCpuMs: (subgraphCpuMs(subgraphPids) - subgraphBefore) / counted });
    console.log(`  measured: ${scenario.name}`);
  }
} finally {
  await plain.stop();
  await Promise.all([coalition.stop(), unpoliced.stop()]);
  rmSync(dataDir, { recursive: true, force: true });
  rmSync(offDataDir, { recursive: true, force: true });
}

const floor = results[1]!.result.requestsPerSecond;
console.log(`\n50-indicator nested query, ${concurrency} concurrent clients, ${seconds} s each\n`);
console.log('gateway CPU = this process (gateways + load thread) per request; subgraph CPU = all subgraph processes per request\n');
console.log('scenario                                 req/s     p50 ms   p99 ms   vs plain gateway   gateway CPU ms/req   subgraph CPU ms/req   failures');
for (const { name, result, benchCpuMs, subgraphCpuMs: subCpu } of results) {
  console.log(
    `${name.padEnd(38)} ${result.requestsPerSecond.toFixed(0).padStart(7)} ${result.p50Ms.toFixed(1).padStart(10)} ${result.p99Ms.toFixed(1).padStart(8)} ${(result.requestsPerSecond / floor).toFixed(2).padStart(14)}x ${benchCpuMs.toFixed(2).padStart(18)} ${subCpu.toFixed(2).padStart(21)} ${String(result.failures).padStart(10)}`,
  );
  if (result.firstFailure) console.log(`    first failure: ${result.firstFailure}`);
}

const offRuns = results.filter((r) => r.name === POLICY_OFF);
const onRuns = results.filter((r) => r.name === POLICY_ON);
const pairs = onRuns.map((on, i) => on.result.requestsPerSecond / offRuns[i]!.result.requestsPerSecond);
const median = (values: number[]) => {
  const sorted = [...values].sort((a, b) => a - b);
  const middle = Math.floor(sorted.length / 2);
  return sorted.length % 2 ? sorted[middle]! : (sorted[middle - 1]! + sorted[middle]!) / 2;
};
const quartiles = (values: number[]) => {
  const sorted = [...values].sort((a, b) => a - b);
  return [median(sorted.slice(0, Math.floor(sorted.length / 2))), median(sorted.slice(Math.ceil(sorted.length / 2)))] as const;
};
const [lowerQuartile, upperQuartile] = quartiles(pairs);
console.log(`\npolicy ON / policy OFF throughput, per alternating pair: ${pairs.map((r) => r.toFixed(3)).join(', ')}; median ${median(pairs).toFixed(3)}, middle half ${lowerQuartile.toFixed(3)}–${upperQuartile.toFixed(3)}`);
console.log(`policy layer overhead (1 - median ratio): ${((1 - median(pairs)) * 100).toFixed(1)}% of throughput (target: at most 10%)`);
console.log(
  `p99 policy OFF ${median(offRuns.map((r) => r.result.p99Ms)).toFixed(1)} ms, policy ON ${median(onRuns.map((r) => r.result.p99Ms)).toFixed(1)} ms (medians over ${rounds} runs each)`,
);
// Where the overhead is: each pair's ON − OFF CPU per request, in the gateway's process and in the nations'.
const cpuDifference = (cpuOf: (run: (typeof results)[number]) => number) => median(onRuns.map((on, i) => cpuOf(on) - cpuOf(offRuns[i]!)));
console.log(
  `CPU per request, ON − OFF (median of pairs): gateway process ${cpuDifference((r) => r.benchCpuMs).toFixed(2)} ms, nations ${cpuDifference((r) => r.subgraphCpuMs).toFixed(2)} ms; policy OFF spends ${median(offRuns.map((r) => r.benchCpuMs + r.subgraphCpuMs)).toFixed(2)} ms a request in all`,
);
// Measured after the coalitions stopped: in this process, on an embedded silo of its own.
console.log(await measureAuditCommit());

/** User + system CPU of processes, from /proc (Linux), in ms. */
function subgraphCpuMs(pids: number[]): number {
  const ticksPerMs = 100 / 1000; // USER_HZ is 100 on Linux
  return pids.reduce((sum, pid) => {
    try {
      const fields = readFileSync(`/proc/${pid}/stat`, 'utf8').split(') ')[1]!.split(' ');
      return sum + (Number(fields[11]) + Number(fields[12])) / ticksPerMs;
    } catch {
      return sum;
    }
  }, 0);
}

async function startPlainGateway(nationUrl: string, assertionToken: string) {
  const sdl = await fetch(nationUrl, {
    method: 'POST',
    headers: { 'content-type': 'application/json', [ASSERTION_HEADER]: assertionToken },
    body: JSON.stringify({ query: '{ _service { sdl } }' }),
  }).then((r) => r.json() as Promise<{ data: { _service: { sdl: string } } }>);
  const composed = composeServices([{ name: 'FRA', url: nationUrl, typeDefs: parse(sdl.data._service.sdl) }]);
  if (composed.errors) throw new Error(composed.errors.map((e) => e.message).join('\n'));
  withoutApolloTelemetry();
  const gateway = new ApolloGateway({
    supergraphSdl: composed.supergraphSdl,
    buildService: ({ url }) =>
      new RemoteGraphQLDataSource({
        url,
        willSendRequest: ({ request }) => void request.http?.headers.set(ASSERTION_HEADER, assertionToken),
      }),
  });
  const server = new ApolloServer({ gateway });
  const { url } = await startStandaloneServer(server, { listen: { port: 0, host: '127.0.0.1' } });
  return { url: url.replace('localhost', '127.0.0.1') + 'graphql', stop: () => server.stop() };
}
process.exit(0);
