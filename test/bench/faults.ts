/**
 * `npm run bench:faults`: what a well-behaved caller's p99 costs when another caller floods the
 * gateway, and when one nation is hung (SIGSTOP) once its circuit is open. A French analyst runs
 * the benchmark's 50-indicator query with BENCH_CONCURRENCY clients (default 4, under the per-caller
 * bound) throughout; the rows alternate in pairs so the machine's drift hits both alike:
 *   - idle gateway vs the same while a German analyst floods it with BENCH_FLOOD clients (default 200);
 *   - healthy coalition vs Estonia hung (after its circuit opened; the seconds before it opens,
 *     each request waits out the nation timeout, are not measured).
 * The ratios are what the issue asks for: each within 2×. Absolute figures move with the machine.
 * The flooder runs in a process of its own under `nice` (flood.mjs): a real flood comes from another
 * machine, and its own client work would otherwise take this 2-core machine's CPU from the gateway.
 * Environment: BENCH_SECONDS (default 5), BENCH_CONCURRENCY (4), BENCH_FLOOD (200), BENCH_ROUNDS (3),
 * BENCH_SEED_SIZE (400), BENCH_WARMUP_SECONDS (8), BENCH_FLOOD_NICE (the flooder's niceness, 10).
 */
import { execFile } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { promisify } from 'node:util';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { launchCoalition } from '../../gateway/demo/launch';
import { mintToken } from '../../gateway/demo/tokens';
import { runLoad, type LoadResult } from './load';
import { NESTED_QUERY } from './queries';

const seconds = Number(process.env.BENCH_SECONDS ?? 5);
const concurrency = Number(process.env.BENCH_CONCURRENCY ?? 4);
const floodConcurrency = Number(process.env.BENCH_FLOOD ?? 200);
const rounds = Number(process.env.BENCH_ROUNDS ?? 3);
const seedSize = Number(process.env.BENCH_SEED_SIZE ?? 400);
const warmupSeconds = Number(process.env.BENCH_WARMUP_SECONDS ?? 8);

const dataDir = mkdtempSync(join(tmpdir(), 'sovgraph-bench-faults-'));
console.log(`starting a five-nation coalition (${seedSize} objects a nation)…`);
const coalition = await launchCoalition({ dataDir, gatewayPort: 0, referencePort: 0, firstNationPort: 0, seedSize });
const est = coalition.nations.find((n) => n.nation === 'EST')!;
const tokenOf = (nation: string, subject: string) => mintToken(coalition.keys.idpPrivateJwks[nation]!, { nation, subject, clearance: 'TOP_SECRET', roles: ['analyst'], communities: ['NATO', 'EU'] });
const body = JSON.stringify({ query: NESTED_QUERY });
const steady = { url: coalition.gateway.url, headers: { authorization: `Bearer ${await tokenOf('FRA', 'steady@defense.gouv.fr')}` }, body, concurrency };
const flooderAuthorization = `Bearer ${await tokenOf('DEU', 'flooder@bund.de')}`;
const flood = async (): Promise<{ requests: number; refused: number; firstRefusal?: string }> => {
  const script = fileURLToPath(new URL('./flood.mjs', import.meta.url));
  const { stdout } = await promisify(execFile)('nice', ['-n', process.env.BENCH_FLOOD_NICE ?? '10', process.execPath, script, coalition.gateway.url, flooderAuthorization, body, String(floodConcurrency), String(seconds * 1000)]);
  return JSON.parse(stdout);
};
let floodOutcome: Awaited<ReturnType<typeof flood>> | undefined;

const measure = (spec: typeof steady) => runLoad({ ...spec, durationMs: seconds * 1000, warmupMs: 0 });
const rows: Record<string, LoadResult[]> = {};
const record = (name: string, result: LoadResult) => (rows[name] ??= []).push(result);

try {
  console.log(`warming up (${warmupSeconds} s, unmeasured)…`);
  await runLoad({ ...steady, durationMs: warmupSeconds * 1000, warmupMs: 0 });

  for (let round = 0; round < rounds; round++) {
    const idle = async () => record('idle gateway', await measure(steady));
    const flooded = async () => {
      const [mine, flooded] = await Promise.all([measure(steady), flood()]);
      record(`flooded (${floodConcurrency} clients of another caller)`, mine);
      floodOutcome = flooded;
    };
    for (const run of round % 2 ? [flooded, idle] : [idle, flooded]) await run();
  }

  for (let round = 0; round < rounds; round++) {
    const healthy = async () => record('healthy coalition', await measure(steady));
    const hung = async () => {
      process.kill(est.child.pid!, 'SIGSTOP');
      try {
        // Enough requests to open the circuit; measured only once it is open.
        await runLoad({ ...steady, durationMs: 4000, warmupMs: 0 });
        record('EST hung, circuit open (NATION_UNAVAILABLE counts as failure)', await measure(steady));
      } finally {
        process.kill(est.child.pid!, 'SIGCONT');
      }
      // The probe closes the circuit within about a second.
      await new Promise((resolve) => setTimeout(resolve, 2500));
    };
    for (const run of round % 2 ? [hung, healthy] : [healthy, hung]) await run();
  }

  console.log(`\nthe steady caller: ${concurrency} clients, ${seconds} s a run, median of ${rounds} runs`);
  console.log('scenario'.padEnd(66), 'req/s'.padStart(8), 'p50 ms'.padStart(8), 'p99 ms'.padStart(8), 'failed'.padStart(8));
  for (const [name, results] of Object.entries(rows)) {
    const m = (pick: (r: LoadResult) => number) => median(results.map(pick));
    console.log(name.padEnd(66), m((r) => r.requestsPerSecond).toFixed(0).padStart(8), m((r) => r.p50Ms).toFixed(1).padStart(8), m((r) => r.p99Ms).toFixed(1).padStart(8), m((r) => r.failures).toFixed(0).padStart(8));
  }
  const p99 = (name: string) => median(rows[name]!.map((r) => r.p99Ms));
  console.log(`\np99 flooded / idle: ${(p99(`flooded (${floodConcurrency} clients of another caller)`) / p99('idle gateway')).toFixed(2)}× (the bound: 2×)`);
  console.log(`p99 EST hung / healthy: ${(p99('EST hung, circuit open (NATION_UNAVAILABLE counts as failure)') / p99('healthy coalition')).toFixed(2)}× (the bound: 2×)`);
  if (floodOutcome) console.log(`the flooder, last run: ${floodOutcome.requests} requests, ${floodOutcome.refused} refused with 429, told: ${floodOutcome.firstRefusal}`);
} finally {
  await coalition.stop();
  rmSync(dataDir, { recursive: true, force: true });
}

function median(values: number[]): number {
  const sorted = [...values].sort((a, b) => a - b);
  return sorted[Math.floor(sorted.length / 2)]!;
}
