/**
 * `npm run bench:faults`: what one caller's trouble or one nation's costs the others, measured side
 * by side in one run (the machine is shared and noisy: read the ratios, not the absolute figures).
 * A French analyst's ordinary query, p50/p99:
 *   1. on a healthy coalition (measured first and last: the baseline is their mean),
 *   2. while a German analyst floods the gateway (fair share: the flood gets 429s),
 *   3. while hostile operations arrive from a third caller (refused before any nation is asked),
 *   4. with one nation hung (SIGSTOP), once its circuit is open (its data missing, said so),
 * then each hostile operation's time to refusal, one at a time.
 * Environment: BENCH_SECONDS (each measured run, default 6), BENCH_SEED_SIZE (default 300).
 */
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { launchCoalition } from '../../gateway/demo/launch';
import { mintToken } from '../../gateway/demo/tokens';
import { HOSTILE_OPERATIONS, type HostileOperation } from '../helpers/hostile-operations';
import { runLoad, type LoadResult, type LoadSpec } from './load';

const seconds = Number(process.env.BENCH_SECONDS ?? 6);
const seedSize = Number(process.env.BENCH_SEED_SIZE ?? 300);
const HUNG_NATION = 'EST';
const NORMAL_QUERY = `query Analyst {
  indicators(first: 20) { edges { node { id nation name pattern validFrom techniques { id } } } pageInfo { hasNextPage endCursor } }
}`;

const dataDir = mkdtempSync(join(tmpdir(), 'sovgraph-bench-faults-'));
console.log(`starting a five-nation coalition (${seedSize} objects a nation)…`);
const coalition = await launchCoalition({ dataDir, gatewayPort: 0, referencePort: 0, firstNationPort: 0, seedSize });
const url = coalition.gateway.url;
const tokenOf = (nation: string, subject: string) =>
  mintToken(coalition.keys.idpPrivateJwks[nation]!, { nation, subject, clearance: 'SECRET', roles: ['analyst'], communities: ['NATO', 'EU'] });
const analyst = { authorization: `Bearer ${await tokenOf('FRA', 'bench-analyst')}` };
const flooder = { authorization: `Bearer ${await tokenOf('DEU', 'bench-flooder')}` };
const attacker = { authorization: `Bearer ${await tokenOf('GBR', 'bench-attacker')}` };

const normal = (extra: Partial<LoadSpec> = {}): Promise<LoadResult> =>
  runLoad({ url, headers: analyst, body: JSON.stringify({ query: NORMAL_QUERY }), concurrency: 4, durationMs: seconds * 1000, warmupMs: 1000, ...extra });

type Row = { name: string; result: LoadResult; note: string };
const rows: Row[] = [];
const refusals: Array<{ name: string; code: string; times: number[]; wrong: string | undefined }> = [];
try {
  console.log('warming up (unmeasured)…');
  await normal({ durationMs: 4000 });

  rows.push({ name: 'healthy coalition (before)', result: await normal(), note: '' });

  const [underFlood, flood] = await Promise.all([
    normal(),
    runLoad({ url, headers: flooder, body: JSON.stringify({ query: NORMAL_QUERY }), concurrency: 64, durationMs: seconds * 1000 + 1000, warmupMs: 0 }),
  ]);
  rows.push({ name: 'while one caller floods', result: underFlood, note: `flooder: ${describeStatuses(flood)}` });

  const [underAttack, ...attacks] = await Promise.all([
    normal(),
    ...HOSTILE_OPERATIONS.map((op) =>
      runLoad({ url, headers: attacker, body: JSON.stringify({ query: op.query, variables: op.variables, operationName: op.operationName }), concurrency: 1, durationMs: seconds * 1000 + 1000, warmupMs: 0 }),
    ),
  ]);
  const hostileSent = attacks.reduce((sum, a) => sum + a.requests, 0);
  rows.push({ name: 'while hostile operations arrive', result: underAttack, note: `${HOSTILE_OPERATIONS.length} kinds, ${hostileSent} sent: ${describeStatuses(...attacks)}` });

  const hung = coalition.nations.find((n) => n.nation === HUNG_NATION)!;
  process.kill(hung.child.pid!, 'SIGSTOP');
  try {
    // The warm-up runs while the circuit opens; measured answers then come from the others at once.
    rows.push({ name: `one nation hung (${HUNG_NATION}, SIGSTOP)`, result: await normal({ warmupMs: 5000, acceptedCodes: ['NATION_UNAVAILABLE'] }), note: '' });
  } finally {
    process.kill(hung.child.pid!, 'SIGCONT');
  }
  await waitUntilWhole();

  rows.push({ name: 'healthy coalition (after)', result: await normal(), note: '' });

  for (const op of HOSTILE_OPERATIONS) refusals.push({ name: op.name, code: op.code, ...(await timeToRefusal(op)) });
} finally {
  await coalition.stop();
  rmSync(dataDir, { recursive: true, force: true });
}

const healthy = (rows[0]!.result.p99Ms + rows.at(-1)!.result.p99Ms) / 2;
console.log(`\nA French analyst's 20-indicator query, 4 concurrent clients, ${seconds} s each\n`);
console.log('scenario                                  req/s    p50 ms   p99 ms   p99 vs healthy   complete  partial  failed');
for (const { name, result, note } of rows) {
  const complete = result.requests - result.partial - result.failures;
  console.log(
    `${name.padEnd(40)} ${result.requestsPerSecond.toFixed(0).padStart(6)} ${result.p50Ms.toFixed(1).padStart(9)} ${result.p99Ms.toFixed(1).padStart(8)} ${(result.p99Ms / healthy).toFixed(2).padStart(15)}x ${String(complete).padStart(9)} ${String(result.partial).padStart(8)} ${String(result.failures).padStart(7)}`,
  );
  if (note) console.log(`    ${note}`);
  if (result.firstFailure) console.log(`    first failure: ${result.firstFailure}`);
}
console.log('\ntarget: p99 within 2x of the healthy coalition\'s in every scenario; "partial" answers miss the hung nation and say so (NATION_UNAVAILABLE)\n');
console.log('hostile operation                          refused with                    median ms   max ms   (20 sent one at a time; target well under 50 ms)');
for (const { name, code, times, wrong } of refusals) {
  const sorted = [...times].sort((a, b) => a - b);
  console.log(`${name.padEnd(42)} ${code.padEnd(30)} ${sorted[Math.floor(sorted.length / 2)]!.toFixed(1).padStart(10)} ${sorted.at(-1)!.toFixed(1).padStart(8)}${wrong ? `   NOT REFUSED AS EXPECTED: ${wrong}` : ''}`);
}
process.exit(0);

function describeStatuses(...results: LoadResult[]): string {
  const total: Record<string, number> = {};
  for (const r of results) for (const [status, count] of Object.entries(r.statuses)) total[status] = (total[status] ?? 0) + count;
  return Object.entries(total)
    .map(([status, count]) => `HTTP ${status} × ${count}`)
    .join(', ');
}

async function timeToRefusal({ query, variables, operationName, code }: HostileOperation) {
  const times: number[] = [];
  let wrong: string | undefined;
  for (let i = 0; i < 20; i++) {
    const started = performance.now();
    const response = await fetch(url, { method: 'POST', headers: { 'content-type': 'application/json', ...attacker }, body: JSON.stringify({ query, variables, operationName }) });
    const body = (await response.json()) as { errors?: Array<{ extensions?: { code?: string } }> };
    times.push(performance.now() - started);
    const got = body.errors?.[0]?.extensions?.code;
    if (response.status !== 400 || got !== code) wrong ??= `HTTP ${response.status}, ${got ?? 'no error code'}`;
  }
  return { times, wrong };
}

/** After SIGCONT: until an answer comes back with every nation in it (the circuit closed again). */
async function waitUntilWhole(): Promise<void> {
  const deadline = Date.now() + 30_000;
  while (Date.now() < deadline) {
    const response = await fetch(url, { method: 'POST', headers: { 'content-type': 'application/json', ...analyst }, body: JSON.stringify({ query: NORMAL_QUERY }) });
    const body = (await response.json()) as { errors?: Array<{ extensions?: { code?: string } }> };
    if (response.status === 200 && !body.errors?.some((e) => e.extensions?.code === 'NATION_UNAVAILABLE')) return;
    await new Promise((r) => setTimeout(r, 250));
  }
  throw new Error(`${HUNG_NATION} did not come back within 30 s of SIGCONT`);
}
