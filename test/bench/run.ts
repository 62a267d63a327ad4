/**
 * `npm run bench`: requests/s and p50/p99 of a 50-indicator nested query, measured side by side in
 * one run (the machine is shared and noisy: read the ratios, not the absolute figures):
 *   1. one nation subgraph alone (the floor),
 *   2. plain @apollo/gateway over that one subgraph,
 *   3. sovgraph over five nations (fan-out + keyset merge),
 *   4. sovgraph with a reference-subgraph hop (technique names).
 * Environment: BENCH_SECONDS (default 8), BENCH_CONCURRENCY (default 16), BENCH_SEED_SIZE (default 400).
 */
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { ApolloGateway, RemoteGraphQLDataSource } from '@apollo/gateway';
import { composeServices } from '@apollo/composition';
import { ApolloServer } from '@apollo/server';
import { startStandaloneServer } from '@apollo/server/standalone';
import { parse } from 'graphql';
import { ASSERTION_HEADER, createAssertionSigner, type Principal } from '../../policies';
import { launchCoalition } from '../../gateway/demo/launch';
import { mintToken } from '../../gateway/demo/tokens';
import { runLoad, type LoadResult } from './load';

const seconds = Number(process.env.BENCH_SECONDS ?? 8);
const concurrency = Number(process.env.BENCH_CONCURRENCY ?? 16);
const seedSize = Number(process.env.BENCH_SEED_SIZE ?? 400);

const nestedQuery = (techniqueFields: string) => `query Bench {
  indicators(first: 50) {
    edges { cursor node {
      id nation stixId pattern patternType indicatorTypes validFrom validUntil confidence
      killChainPhases { killChainName phaseName }
      techniques { ${techniqueFields} }
      source { name kind }
      sightings { count firstSeen lastSeen }
      marking { classification tlp releasableTo caveats }
    } }
    pageInfo { hasNextPage endCursor }
  }
}`;

const principal: Principal = { subject: 'bench', nation: 'FRA', clearance: 'TOP_SECRET', roles: ['analyst'], communities: ['NATO', 'EU'] };

const dataDir = mkdtempSync(join(tmpdir(), 'sovgraph-bench-'));
console.log(`starting a five-nation coalition (${seedSize} objects a nation)…`);
const coalition = await launchCoalition({ dataDir, gatewayPort: 0, referencePort: 0, firstNationPort: 0, seedSize });
const fra = coalition.nations.find((n) => n.nation === 'FRA')!;
const sign = await createAssertionSigner({ privateJwk: coalition.keys.gatewayPrivateJwk, ttlSeconds: 3600 });
const assertion = await sign(principal, 'sovgraph:FRA');
const plain = await startPlainGateway(fra.url, assertion);
const token = await mintToken(coalition.keys.idpPrivateJwks.FRA!, { nation: 'FRA', clearance: 'TOP_SECRET', roles: ['analyst'], communities: ['NATO', 'EU'] });

const scenarios: Array<{ name: string; url: string; headers: Record<string, string>; query: string }> = [
  { name: 'nation subgraph alone (floor)', url: fra.url, headers: { [ASSERTION_HEADER]: assertion }, query: nestedQuery('id') },
  { name: 'plain @apollo/gateway, 1 nation', url: plain.url, headers: {}, query: nestedQuery('id') },
  { name: 'sovgraph, 5 nations fan-out', url: coalition.gateway.url, headers: { authorization: `Bearer ${token}` }, query: nestedQuery('id') },
  { name: 'sovgraph, 5 nations + reference hop', url: coalition.gateway.url, headers: { authorization: `Bearer ${token}` }, query: nestedQuery('id name tactics') },
];

const results: Array<{ name: string; result: LoadResult; benchCpuMs: number; subgraphCpuMs: number }> = [];
const subgraphPids = [...coalition.nations.map((n) => n.child.pid!), coalition.reference.child.pid!];
try {
  for (const scenario of scenarios) {
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
  await coalition.stop();
  rmSync(dataDir, { recursive: true, force: true });
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
