/**
 * What "no release without its record" costs: releases arrive at a steady rate at a nation's audit
 * log (an embedded silo in a data directory, as `npm start` runs it), and are committed
 *   - by group commit, each answer waiting for its own record (today's log),
 *   - in 200 ms batches, answers not waiting (the log before: a release's record could be lost).
 * Printed: CPU per release (this process: the log and the embedded PostgreSQL) and the answers'
 * p50/p99 wait for their record. Standalone: `npx tsx test/bench/audit-commit.ts`.
 */
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { pathToFileURL } from 'node:url';
import { openAuditLog, type AuditEntry, type AuditLog } from '../../subgraphs/audit';
import { openSilo } from '../../subgraphs/silo';

const RELEASES_PER_SECOND = Number(process.env.BENCH_AUDIT_RATE ?? 300);
const SECONDS = Number(process.env.BENCH_AUDIT_SECONDS ?? 2);
const BATCH_EVERY_MS = 200;
const TICK_MS = 5;

interface Measured {
  cpuMicrosPerRelease: number;
  p50: number;
  p99: number;
}

/** One line: group commit against the 200 ms batching it replaced. */
export async function measureAuditCommit(): Promise<string> {
  const dataDir = mkdtempSync(join(tmpdir(), 'sovgraph-bench-audit-'));
  const db = await openSilo({ nation: 'FRA', dataDir });
  try {
    // Unmeasured: the first writes run cold code (JIT, the embedded PostgreSQL's caches).
    await measure(await openAuditLog(db), 'wait', 0.5);
    const grouped = await measure(await openAuditLog(db), 'wait');
    const batched = await measure(await openAuditLog(db), 'batch');
    const cpu = (m: Measured) => `${m.cpuMicrosPerRelease.toFixed(0)} µs CPU/release`;
    const wait = (m: Measured) => `answer waits p50 ${m.p50.toFixed(1)} / p99 ${m.p99.toFixed(1)} ms`;
    return (
      `audit commit at ${RELEASES_PER_SECOND} releases/s: group commit ${cpu(grouped)}, ${wait(grouped)}; ` +
      `200 ms batching (before; records could be lost) ${cpu(batched)}, answers waited 0 ms`
    );
  } finally {
    await db.close();
    rmSync(dataDir, { recursive: true, force: true });
  }
}

/** Releases at a steady rate for `seconds`: 'wait' awaits each record, 'batch' records what waited every 200 ms. */
async function measure(log: AuditLog, mode: 'wait' | 'batch', seconds = SECONDS): Promise<Measured> {
  const waits: number[] = [];
  const pending: Promise<void>[] = [];
  let held: AuditEntry[] = [];
  const total = Math.round(RELEASES_PER_SECOND * seconds);
  const perTick = (RELEASES_PER_SECOND * TICK_MS) / 1000;
  const cpuBefore = process.cpuUsage();
  const startedAt = performance.now();
  let lastBatch = startedAt;
  for (let issued = 0; issued < total; ) {
    const due = Math.min(total, Math.floor(((performance.now() - startedAt) / TICK_MS + 1) * perTick));
    for (; issued < due; issued++) {
      const entry = release(issued);
      if (mode === 'batch') held.push(entry);
      else {
        const asked = performance.now();
        pending.push(log.record(entry).then(() => void waits.push(performance.now() - asked)));
      }
    }
    if (mode === 'batch' && performance.now() - lastBatch >= BATCH_EVERY_MS) {
      pending.push(...held.map((entry) => log.record(entry)));
      held = [];
      lastBatch = performance.now();
    }
    await new Promise((resolve) => setTimeout(resolve, TICK_MS));
  }
  pending.push(...held.map((entry) => log.record(entry)));
  await Promise.all(pending);
  await log.close();
  const cpu = process.cpuUsage(cpuBefore);
  waits.sort((a, b) => a - b);
  const at = (q: number) => (waits.length ? waits[Math.min(waits.length - 1, Math.floor(q * waits.length))]! : 0);
  return { cpuMicrosPerRelease: (cpu.user + cpu.system) / total, p50: at(0.5), p99: at(0.99) };
}

/** What a page of 20 indicators released to a German analyst looks like in the log. */
function release(n: number): AuditEntry {
  return {
    principal: { subject: `analyst-${n % 50}@bund.de`, nation: 'DEU', clearance: 'SECRET', roles: ['analyst'], communities: ['NATO', 'EU'] },
    operation: { name: null, queryHash: n.toString(16).padStart(64, '0') },
    released: Array.from({ length: 20 }, (_, i) => `FRA:indicator--00000000-0000-5000-8000-${String(n * 20 + i).padStart(12, '0')}`),
    withheld: [{ object: `FRA:indicator--00000000-0000-5000-8000-${String(n * 20).padStart(12, '0')}`, field: 'source', reason: 'FRA/sources-stay-in-france' }],
    redacted: [],
    transformed: [],
  };
}

if (import.meta.url === pathToFileURL(process.argv[1] ?? '').href) console.log(await measureAuditCommit());
