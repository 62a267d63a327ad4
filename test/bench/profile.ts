/**
 * `npm run bench:profile`: where the policy layer's cost goes. Runs the benchmark's 50-indicator
 * nested query against a five-nation coalition with the policy layer off, then on, each process
 * profiled by V8 (the gateway in this process, every subgraph in its own), and prints, per gateway
 * request, the busy time by file and by package for the gateway and for the nations together, ON
 * against OFF, largest difference first.
 *
 * The profiler samples wall time: on a machine busier than its cores a process's samples include
 * time it waited for one, so read the ON − OFF differences and the shares, not the totals (the
 * benchmark's CPU columns are the accurate totals).
 * Environment: BENCH_SECONDS (default 8), BENCH_CONCURRENCY (default 16), BENCH_SEED_SIZE (default 400),
 * PROFILE_TOP (rows a table, default 25), PROFILE_DIR (where the profiles stay; default a temporary folder, removed).
 */
import { Session } from 'node:inspector/promises';
import { cpSync, mkdirSync, mkdtempSync, readdirSync, readFileSync, rmSync, statSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { launchCoalition } from '../../gateway/demo/launch';
import { mintToken } from '../../gateway/demo/tokens';
import { runLoad } from './load';
import { NESTED_QUERY } from './queries';

const seconds = Number(process.env.BENCH_SECONDS ?? 8);
const concurrency = Number(process.env.BENCH_CONCURRENCY ?? 16);
const seedSize = Number(process.env.BENCH_SEED_SIZE ?? 400);
const top = Number(process.env.PROFILE_TOP ?? 25);
const keepProfiles = process.env.PROFILE_DIR;
const work = keepProfiles ?? mkdtempSync(join(tmpdir(), 'sovgraph-profile-'));

interface CallFrame {
  functionName: string;
  url: string;
  lineNumber: number;
}
interface CpuProfile {
  nodes: Array<{ id: number; callFrame: CallFrame }>;
  startTime: number;
  samples: number[];
  timeDeltas: number[];
}
/** Busy microseconds by package (or by our own file), and by function. */
interface Busy {
  byPlace: Map<string, number>;
  byFunction: Map<string, number>;
  total: number;
}

type Mode = 'OFF' | 'ON';
const measured: Record<Mode, { gateway: Busy; nations: Busy; requests: number; requestsPerSecond: number }> = {} as never;

const silos = join(work, 'silos-seeded');
console.log(`seeding a five-nation coalition (${seedSize} objects a nation)…`);
await (await launchCoalition({ dataDir: silos, gatewayPort: 0, referencePort: 0, firstNationPort: 0, seedSize })).stop();
for (const mode of ['OFF', 'ON'] as const) {
  const dataDir = join(work, `data-${mode}`);
  cpSync(silos, dataDir, { recursive: true });
  const profiles = join(work, `profiles-${mode}`);
  mkdirSync(profiles, { recursive: true });
  const coalition = await launchCoalition({ dataDir, gatewayPort: 0, referencePort: 0, firstNationPort: 0, cpuProfileDir: profiles, ...(mode === 'OFF' && { enforcement: false }) });
  const token = await mintToken(coalition.keys.idpPrivateJwks.FRA!, { nation: 'FRA', clearance: 'TOP_SECRET', roles: ['analyst'], communities: ['NATO', 'EU'] });
  const load = { url: coalition.gateway.url, headers: { authorization: `Bearer ${token}` }, body: JSON.stringify({ query: NESTED_QUERY }), concurrency, warmupMs: 0 };
  console.log(`policy ${mode}: warming up, then ${seconds} s profiled…`);
  await runLoad({ ...load, durationMs: 6000 });
  const session = new Session();
  session.connect();
  await session.post('Profiler.enable');
  await session.post('Profiler.start');
  // V8's profile clock and process.hrtime are both the monotonic clock: the window is comparable across processes.
  const from = Number(process.hrtime.bigint() / 1000n);
  const result = await runLoad({ ...load, durationMs: seconds * 1000 });
  const to = Number(process.hrtime.bigint() / 1000n);
  const { profile } = await session.post('Profiler.stop');
  session.disconnect();
  await coalition.stop(); // the subgraphs write their profiles as they exit
  const nationProfiles = coalition.nations.map((n) => mainThreadProfile(join(profiles, n.nation)));
  measured[mode] = {
    gateway: busyIn([profile as unknown as CpuProfile], from, to),
    nations: busyIn(nationProfiles, from, to),
    requests: result.requests,
    requestsPerSecond: result.requestsPerSecond,
  };
}
if (!keepProfiles) rmSync(work, { recursive: true, force: true });

console.log(`\npolicy OFF ${measured.OFF.requestsPerSecond.toFixed(1)} req/s, ON ${measured.ON.requestsPerSecond.toFixed(1)} req/s; busy ms per gateway request (sampled wall time)\n`);
for (const part of ['gateway', 'nations'] as const) {
  for (const table of ['byPlace', 'byFunction'] as const) printDifferences(part, table);
}
process.exit(0);

/** The profile of a subgraph's main thread: the largest of its folder (the others are loader threads). */
function mainThreadProfile(dir: string): CpuProfile {
  const files = readdirSync(dir).filter((f) => f.endsWith('.cpuprofile')).map((f) => join(dir, f));
  const largest = files.sort((a, b) => statSync(b).size - statSync(a).size)[0];
  if (!largest) throw new Error(`no CPU profile in ${dir}`);
  return JSON.parse(readFileSync(largest, 'utf8')) as CpuProfile;
}

function busyIn(profiles: CpuProfile[], from: number, to: number): Busy {
  const busy: Busy = { byPlace: new Map(), byFunction: new Map(), total: 0 };
  const add = (map: Map<string, number>, key: string, us: number) => map.set(key, (map.get(key) ?? 0) + us);
  for (const profile of profiles) {
    const frames = new Map(profile.nodes.map((n) => [n.id, n.callFrame]));
    let at = profile.startTime;
    profile.samples.forEach((id, i) => {
      const delta = profile.timeDeltas[i] ?? 0;
      at += delta;
      const frame = frames.get(id)!;
      if (at < from || at > to || frame.functionName === '(idle)') return;
      const url = frame.url.replace(/^.*node_modules\//, 'node_modules/').replace(/^file:\/\/.*?\/(gateway|subgraphs|policies|test)\//, '$1/');
      add(busy.byPlace, placeOf(url, frame.functionName), delta);
      add(busy.byFunction, `${frame.functionName || '(anonymous)'} ${url}:${frame.lineNumber + 1}`, delta);
      busy.total += delta;
    });
  }
  return busy;
}

/** A dependency by its package, our code by its file, V8 and Node by what they report. */
function placeOf(url: string, functionName: string): string {
  if (url.startsWith('node_modules/')) {
    const parts = url.split('/');
    return parts.slice(0, parts[1]!.startsWith('@') ? 3 : 2).join('/');
  }
  return url || functionName;
}

function printDifferences(part: 'gateway' | 'nations', table: 'byPlace' | 'byFunction'): void {
  const off = measured.OFF[part];
  const on = measured.ON[part];
  const perRequest = (us: number, mode: Mode) => us / 1000 / measured[mode].requests;
  const keys = new Set([...off[table].keys(), ...on[table].keys()]);
  const rows = [...keys]
    .map((key) => ({ key, off: perRequest(off[table].get(key) ?? 0, 'OFF'), on: perRequest(on[table].get(key) ?? 0, 'ON') }))
    .sort((a, b) => b.on - b.off - (a.on - a.off))
    .slice(0, top);
  const heading = `${part}, by ${table === 'byPlace' ? 'file or package' : 'function'}`;
  console.log(`${heading.padEnd(70)}     OFF      ON   ON−OFF`);
  console.log(`${'(all)'.padEnd(70)} ${perRequest(off.total, 'OFF').toFixed(2).padStart(7)} ${perRequest(on.total, 'ON').toFixed(2).padStart(7)} ${(perRequest(on.total, 'ON') - perRequest(off.total, 'OFF')).toFixed(2).padStart(8)}`);
  for (const row of rows) console.log(`${row.key.slice(0, 70).padEnd(70)} ${row.off.toFixed(2).padStart(7)} ${row.on.toFixed(2).padStart(7)} ${(row.on - row.off).toFixed(2).padStart(8)}`);
  console.log('');
}
