/**
 * France's audit log, told as an operator would: every release is chained into the silo, the chain
 * survives restarts and outages, the table refuses edits, an edit made behind its back is caught at
 * the record edited, and `npm run audit` says so from the command line.
 */
import { execFile } from 'node:child_process';
import { createHash } from 'node:crypto';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { afterAll, beforeAll, describe, expect, it, vi } from 'vitest';
import { GENESIS_HASH, openAuditLog, recentAuditRecords, verifyAuditChain, type AuditEntry, type AuditLog } from '../../subgraphs/audit';
import { chainHash } from '../../subgraphs/audit/chain';
import { openSilo, type SiloDb } from '../../subgraphs/silo';

const ROOT = fileURLToPath(new URL('../../', import.meta.url));
const work = mkdtempSync(join(tmpdir(), 'sovgraph-audit-'));

/** What FRA's subgraph released to a German analyst asking for indicators, request `n`. */
function release(n: number, subject = `analyst-${n}@bund.de`): AuditEntry {
  return {
    principal: { subject, nation: 'DEU', clearance: 'SECRET', roles: ['analyst'], communities: ['NATO', 'EU'] },
    operation: { name: n % 2 ? 'Indicators' : null, queryHash: createHash('sha256').update(`{ indicators(first: ${n}) { edges { node { id } } } }`).digest('hex') },
    released: [`FRA:indicator--${n}`, `FRA:indicator--${n + 1}`],
    withheld: [{ object: `FRA:indicator--${n}`, field: 'pattern', reason: 'fra-noforn-patterns' }],
    redacted: [{ object: `FRA:indicator--${n + 1}`, field: 'description', reason: 'marking: classification above clearance' }],
    transformed: [{ object: `FRA:indicator--${n + 1}`, field: 'validFrom', transform: 'day', reason: 'fra-coarse-time' }],
  };
}

async function recordAll(log: AuditLog, from: number, count: number): Promise<AuditEntry[]> {
  const entries = Array.from({ length: count }, (_, i) => release(from + i));
  await Promise.all(entries.map((entry) => log.record(entry)));
  return entries;
}

async function countRecords(db: SiloDb): Promise<number> {
  const [row] = await db.query<{ n: number | string }>('SELECT count(*) AS n FROM audit_record');
  return Number(row!.n);
}

/** Behind the trigger's back: what a superuser could do to the table. */
async function asSuperuser(db: SiloDb, sql: string, params: unknown[] = []): Promise<void> {
  await db.query('ALTER TABLE audit_record DISABLE TRIGGER audit_record_no_update_or_delete');
  try {
    await db.query(sql, params);
  } finally {
    await db.query('ALTER TABLE audit_record ENABLE TRIGGER audit_record_no_update_or_delete');
  }
}

/** The silo, but every write of the log (its INSERT, alone or in a transaction) fails while `outage.down`. */
function failingWrites(silo: SiloDb, outage: { down: boolean }, message: string): SiloDb {
  const refuse = () => Promise.reject(new Error(message));
  return {
    ...silo,
    query: (sql, params) => (outage.down && sql.startsWith('INSERT') ? refuse() : silo.query(sql, params)),
    transaction: (work) => (outage.down ? refuse() : silo.transaction(work)),
  };
}

/** An in-memory silo shared by the stories that need no data directory (each costs seconds to open). */
let db: SiloDb;
beforeAll(async () => {
  db = await openSilo({ nation: 'FRA' });
});
afterAll(async () => {
  await db.close();
  rmSync(work, { recursive: true, force: true });
});

describe("FRA's audit log", () => {
  it('chains every release and verify says it is intact', async () => {
    const log = await openAuditLog(db);
    const entries = await recordAll(log, 1, 3);
    await log.close();

    const verdict = await verifyAuditChain(db);
    const newestFirst = await recentAuditRecords(db, 10);
    expect(newestFirst.map((r) => r.seq)).toEqual([3, 2, 1]);
    expect(newestFirst.map((r) => r.entry)).toEqual(entries.toReversed());
    expect(newestFirst[2]!.prevHash).toBe(GENESIS_HASH);
    expect(newestFirst[0]!.prevHash).toBe(newestFirst[1]!.hash);
    expect(Date.parse(newestFirst[0]!.at)).toBeGreaterThan(Date.now() - 60_000);
    expect(verdict).toEqual({ ok: true, records: 3, head: newestFirst[0]!.hash });
  });

  it('two hundred releases at once cost two INSERTs: the first is written at once, the 199 that arrived during its write share the next', async () => {
    const before = await countRecords(db);
    const log = await openAuditLog(db, { maxBatch: 200 });
    db.statements.count = 0;
    const entries = Array.from({ length: 200 }, (_, n) => release(n));
    await Promise.all(entries.map((entry) => log.record(entry)));
    expect(db.statements.count).toBe(2);
    expect(await countRecords(db)).toBe(before + 200);
    expect((await recentAuditRecords(db, 200)).map((r) => r.entry).reverse()).toEqual(entries);
    await log.close();
    expect((await verifyAuditChain(db)).ok).toBe(true);
  });

  it("an embedded silo's log reads the head once, when it opens: each write after is one INSERT, no lock, no read", async () => {
    const log = await openAuditLog(db);
    db.statements.count = 0;
    for (let n = 0; n < 3; n++) await log.record(release(501 + n));
    expect(db.statements.count).toBe(3);
    await log.close();
    expect((await verifyAuditChain(db)).ok).toBe(true);
  });

  it('a log whose known head another writer has moved on finds the seq taken, writes nothing there, and appends after the real head', async () => {
    const [stale, other] = await Promise.all([openAuditLog(db), openAuditLog(db)]);
    await stale.record(release(600));
    await other.record(release(601));
    const before = await countRecords(db);
    await stale.record(release(602));
    expect(await countRecords(db)).toBe(before + 1);
    const [latest, previous] = await recentAuditRecords(db, 2);
    expect(latest!.entry).toEqual(release(602));
    expect(latest!.prevHash).toBe(previous!.hash);
    expect(previous!.entry).toEqual(release(601));
    await Promise.all([stale.close(), other.close()]);
    expect((await verifyAuditChain(db)).ok).toBe(true);
  });

  it('when an entry is committed it is in the silo, and entries are chained in the order they were recorded', async () => {
    const before = await countRecords(db);
    const log = await openAuditLog(db);
    const entries = Array.from({ length: 5 }, (_, i) => release(1000 + i));
    const committed = entries.map((entry) => log.record(entry));
    await committed[0];
    expect(await countRecords(db)).toBeGreaterThanOrEqual(before + 1);
    await Promise.all(committed);
    expect(await countRecords(db)).toBe(before + 5);
    expect((await recentAuditRecords(db, 5)).map((r) => r.entry).reverse()).toEqual(entries);
    await log.close();
  });

  it('two logs on one silo (replicas) recording at once extend one chain', async () => {
    const before = await countRecords(db);
    const [a, b] = await Promise.all([openAuditLog(db), openAuditLog(db)]);
    await Promise.all(Array.from({ length: 40 }, (_, n) => (n % 2 ? a : b).record(release(2000 + n))));
    await Promise.all([a.close(), b.close()]);
    expect(await countRecords(db)).toBe(before + 40);
    expect(await verifyAuditChain(db)).toMatchObject({ ok: true, records: before + 40 });
  });

  it('a page-sized record (past the 2 KB where PostgreSQL would compress it) is stored inline as written, and still verifies', async () => {
    const log = await openAuditLog(db);
    const page = { ...release(900), released: Array.from({ length: 40 }, (_, i) => `FRA:indicator--${String(i).padStart(36, '0')}`) };
    await log.record(page);
    await log.close();
    const [row] = await db.query<{ length: number; compression: string | null }>('SELECT length(body) AS length, pg_column_compression(body) AS compression FROM audit_record ORDER BY seq DESC LIMIT 1');
    expect(row!.length).toBeGreaterThan(2048);
    expect(row!.compression).toBeNull();
    expect((await verifyAuditChain(db)).ok).toBe(true);
  });

  it('UPDATE, DELETE and TRUNCATE are refused', async () => {
    await expect(db.query("UPDATE audit_record SET body = '{}' WHERE seq = 1")).rejects.toThrow(/append-only: UPDATE refused/);
    await expect(db.query('DELETE FROM audit_record WHERE seq = 1')).rejects.toThrow(/append-only: DELETE refused/);
    await expect(db.query('TRUNCATE audit_record')).rejects.toThrow(/append-only: TRUNCATE refused/);
    expect((await verifyAuditChain(db)).ok).toBe(true);
  });

  it('a failed write refuses its entries with a message that tells no secrets, and the next write continues the chain', async () => {
    const outage = { down: false };
    const flaky = failingWrites(db, outage, 'connection terminated');
    const errors: Error[] = [];
    const log = await openAuditLog(flaky, { onError: (e) => errors.push(e) });
    const before = await countRecords(db);
    outage.down = true;
    const refused = await Promise.allSettled([release(3000, 'secret-agent@bnd.de'), release(3001)].map((entry) => log.record(entry)));
    expect(refused.map((r) => r.status)).toEqual(['rejected', 'rejected']);
    expect(errors.map((e) => e.message)).toEqual(['could not write 1 audit entry (connection terminated): not recorded', 'could not write 1 audit entry (connection terminated): not recorded']);
    expect(await countRecords(db)).toBe(before);

    outage.down = false;
    await log.record(release(3002));
    await log.close();
    expect((await recentAuditRecords(db, 1))[0]!.entry).toEqual(release(3002));
    expect(await countRecords(db)).toBe(before + 1);
    expect((await verifyAuditChain(db)).ok).toBe(true);
  });

  it('by default a failure goes to the console, with counts only', async () => {
    const consoleError = vi.spyOn(console, 'error').mockImplementation(() => undefined);
    try {
      const log = await openAuditLog(failingWrites(db, { down: true }, 'PGlite is closed'));
      await expect(log.record(release(4000, 'secret-agent@bnd.de'))).rejects.toThrow(/could not write 1 audit entry/);
      const printed = consoleError.mock.calls.map((call) => call.join(' ')).join('\n');
      expect(printed).toBe('audit: could not write 1 audit entry (PGlite is closed): not recorded');
      await log.close();
    } finally {
      consoleError.mockRestore();
    }
  });
});

describe('an operator who edits the log behind the trigger', () => {
  let original: Map<number, { body: string; prev_hash: string; hash: string }>;
  const hideReleases = (body: string) => body.replace(/"released":\[[^\]]*\]/, '"released":[]');
  beforeAll(async () => {
    const log = await openAuditLog(db);
    await recordAll(log, 1, 20);
    await log.close();
    const rows = await db.query<{ seq: number; body: string; prev_hash: string; hash: string }>('SELECT seq, body, prev_hash, hash FROM audit_record ORDER BY seq');
    original = new Map(rows.map((row) => [Number(row.seq), row]));
  });

  /** Puts record `seq` back as it was, so that each story starts from an intact chain. */
  async function restore(seq: number): Promise<void> {
    const row = original.get(seq)!;
    await asSuperuser(db, 'DELETE FROM audit_record WHERE seq = $1', [seq]);
    await db.query('INSERT INTO audit_record (seq, at, body, prev_hash, hash) VALUES ($1, $2, $3, $4, $5)', [seq, JSON.parse(row.body).at, row.body, row.prev_hash, row.hash]);
    expect(await verifyAuditChain(db)).toMatchObject({ ok: true, records: original.size });
  }

  it('who hides what was released to someone is caught at that record', async () => {
    await asSuperuser(db, 'UPDATE audit_record SET body = $1 WHERE seq = 7', [hideReleases(original.get(7)!.body)]);
    expect(await verifyAuditChain(db)).toEqual({ ok: false, records: 6, firstBroken: { seq: 7, reason: expect.stringMatching(/^hash mismatch \(stored [0-9a-f]{12}…, recomputed [0-9a-f]{12}…\)$/) } });
    await restore(7);
  });

  it('who also recomputes that record’s hash is caught at the next one, whose link no longer holds', async () => {
    const { body, prev_hash } = original.get(7)!;
    await asSuperuser(db, 'UPDATE audit_record SET body = $1, hash = $2 WHERE seq = 7', [hideReleases(body), chainHash(prev_hash, hideReleases(body))]);
    expect(await verifyAuditChain(db)).toMatchObject({ ok: false, records: 7, firstBroken: { seq: 8, reason: expect.stringMatching(/^broken link \(prevHash \w{12}… is not record 7's hash \w{12}…\)$/) } });
    await restore(7);
  });

  it('who deletes a record leaves a gap', async () => {
    await asSuperuser(db, 'DELETE FROM audit_record WHERE seq = 12');
    expect(await verifyAuditChain(db)).toMatchObject({ ok: false, records: 11, firstBroken: { seq: 12, reason: 'gap in sequence (record 12 is missing)' } });
    await restore(12);
  });

  it('who moves a record in time without touching its body is caught by its at column', async () => {
    await asSuperuser(db, "UPDATE audit_record SET at = at - interval '1 day' WHERE seq = 3");
    expect(await verifyAuditChain(db)).toMatchObject({ ok: false, records: 2, firstBroken: { seq: 3, reason: expect.stringMatching(/^body says at .*, the at column /) } });
    await restore(3);
  });
});

/**
 * Only a real PostgreSQL server has replicas: the tests' global setup starts one (or names yours in
 * TEST_DATABASE_URL); a throwaway schema is made and dropped.
 */
describe('FRA replicas sharing one PostgreSQL server', () => {
  const databaseUrl = process.env.TEST_DATABASE_URL!;
  const nation = `AUD${process.pid}`;

  afterAll(async () => {
    const admin = await openSilo({ nation, databaseUrl });
    await admin.query(`DROP SCHEMA silo_${nation.toLowerCase()} CASCADE`);
    await admin.close();
  });

  it('extend one chain, however their flushes interleave', async () => {
    // One after the other: the silo's migrations are not made to run twice at once.
    const replicas = [await openSilo({ nation, databaseUrl }), await openSilo({ nation, databaseUrl })];
    const errors: Error[] = [];
    const logs = await Promise.all(replicas.map((replica) => openAuditLog(replica, { maxBatch: 7, onError: (e) => errors.push(e) })));
    const committed: Promise<void>[] = [];
    for (let n = 0; n < 600; n++) {
      committed.push(logs[n % 2]!.record(release(n)));
      if (n % 25 === 0) await new Promise((resolve) => setTimeout(resolve, 1));
    }
    await Promise.all(committed);
    await Promise.all(logs.map((log) => log.close()));
    expect(errors).toEqual([]);
    expect(await verifyAuditChain(replicas[0]!)).toMatchObject({ ok: true, records: 600 });
    await Promise.all(replicas.map((replica) => replica.close()));
  });
});

describe('a nation restarted, then checked from the command line', () => {
  const dataDir = join(work, 'silos', 'FRA');
  let hashBeforeRestart: string;

  interface Run {
    code: number;
    stdout: string;
    stderr: string;
  }

  function audit(args: string[]): Promise<Run> {
    const env = { ...process.env };
    delete env.DATABASE_URL;
    return new Promise((resolve) => {
      execFile(process.execPath, ['--import', 'tsx', join(ROOT, 'subgraphs/cli/audit.ts'), ...args], { cwd: ROOT, env }, (error, stdout, stderr) => {
        resolve({ code: error ? (typeof error.code === 'number' ? error.code : 1) : 0, stdout, stderr });
      });
    });
  }

  it('a restart continues the chain', async () => {
    const first = await openSilo({ nation: 'FRA', dataDir });
    const log = await openAuditLog(first);
    await recordAll(log, 1, 5);
    await log.close();
    hashBeforeRestart = (await recentAuditRecords(first, 1))[0]!.hash;
    await first.close();

    const second = await openSilo({ nation: 'FRA', dataDir });
    const again = await openAuditLog(second);
    await recordAll(again, 6, 3);
    await again.close();
    const records = await recentAuditRecords(second, 4);
    expect(records.map((r) => r.seq)).toEqual([8, 7, 6, 5]);
    expect(records[2]!.prevHash).toBe(hashBeforeRestart);
    expect(await verifyAuditChain(second)).toMatchObject({ ok: true, records: 8 });
    await second.close();
  });

  it('verify says the stopped nation’s chain is intact, and tail shows its latest records', async () => {
    const verify = await audit(['verify', '--nation', 'FRA', '--data', dataDir]);
    expect(verify.code, verify.stderr).toBe(0);
    expect(verify.stdout).toMatch(/^FRA audit chain intact: 8 records, head [0-9a-f]{64}\n$/);

    const tail = await audit(['tail', '--nation', 'fra', '--data', dataDir, '--limit', '2', '--json']);
    expect(tail.code, tail.stderr).toBe(0);
    const records = JSON.parse(tail.stdout);
    expect(records.map((r: { seq: number }) => r.seq)).toEqual([7, 8]);
    expect(records[1].hash).toBe(verify.stdout.trim().split(' ').pop());
    expect(records[0].entry).toEqual(release(7));
  });

  it('after an edit behind the trigger, verify exits 1 naming the record and the reason', async () => {
    const db = await openSilo({ nation: 'FRA', dataDir });
    await asSuperuser(db, "UPDATE audit_record SET body = replace(body, 'SECRET', 'UNCLASSIFIED') WHERE seq = 4");
    await db.close();

    const verify = await audit(['verify', '--nation', 'FRA', '--data', dataDir]);
    expect(verify.code).toBe(1);
    expect(verify.stdout).toMatch(/^FRA audit chain BROKEN at record 4: hash mismatch \(stored \w{12}…, recomputed \w{12}…\) \(3 records before it are intact\)\n$/);

  });

  it('usage errors exit 2 and say what is wrong', async () => {
    // None of these opens the silo, so they may run at once.
    const [noNation, badLimit, noSilo] = await Promise.all([
      audit(['verify']),
      audit(['tail', '--nation', 'FRA', '--data', dataDir, '--limit', 'ten']),
      audit(['verify', '--nation', 'FRA', '--data', join(work, 'nowhere')]),
    ]);
    expect(noNation.code).toBe(2);
    expect(noNation.stderr).toMatch(/--nation is required[\s\S]*usage:[\s\S]*stop the nation first/);
    expect(badLimit.code).toBe(2);
    expect(badLimit.stderr).toMatch(/--limit must be a whole number of records, 1 or more \(got "ten"\)/);
    expect(noSilo.code).toBe(2);
    expect(noSilo.stderr).toMatch(/no PGlite silo in .*nowhere/);
  });
});
