/**
 * The audit log's queue against a pretend silo: whatever the caller or the database does,
 * record() neither throws nor loses an entry silently, and a database that is down is not hammered.
 */
import { afterEach, describe, expect, it, vi } from 'vitest';
import { openAuditLog, type AuditEntry } from '../../subgraphs/audit';
import type { SiloDb, SiloQueryable } from '../../subgraphs/silo/db';

function entry(subject: string): AuditEntry {
  return {
    principal: { subject, nation: 'DEU', clearance: 'SECRET', roles: [], communities: [] },
    operation: { name: null, queryHash: '0'.repeat(64) },
    released: [],
    withheld: [],
    redacted: [],
    transformed: [],
  };
}

/** A silo that writes nowhere: counts its transactions, keeps the bodies inserted, fails while `down`. */
function pretendSilo() {
  const state = { down: false, transactions: 0, bodies: [] as string[] };
  const tx: SiloQueryable = {
    async query<Row>(sql: string, params: readonly unknown[] = []) {
      // Five parameters a row: seq, at, body, prev_hash, hash.
      if (sql.startsWith('INSERT')) state.bodies.push(...(params.filter((_, i) => i % 5 === 2) as string[]));
      return [] as Row[];
    },
  };
  const db: SiloDb = {
    query: tx.query,
    statements: { count: 0 },
    exclusive: false,
    close: async () => undefined,
    async transaction(work) {
      state.transactions += 1;
      if (state.down) throw new Error('connection refused');
      return work(tx);
    },
  };
  return { db, state };
}

afterEach(() => {
  vi.useRealTimers();
});

describe('the audit queue', () => {
  it('an entry JSON cannot hold is reported, not thrown, and the others are still written', async () => {
    const { db, state } = pretendSilo();
    const errors: Error[] = [];
    const log = await openAuditLog(db, { onError: (e) => errors.push(e) });
    const broken = { ...entry('b'), released: [1n] } as unknown as AuditEntry;
    expect(() => log.record(broken)).not.toThrow();
    log.record(entry('a'));
    await log.close();
    expect(errors.map((e) => e.message)).toEqual([expect.stringMatching(/^an entry has no JSON form \(.*\): not recorded$/)]);
    expect(state.bodies).toHaveLength(1);
  });

  it('an onError that throws cannot make record() throw, nor a background flush crash the process', async () => {
    const { db, state } = pretendSilo();
    state.down = true;
    const onError = vi.fn(() => {
      throw new Error('the logger is broken too');
    });
    const log = await openAuditLog(db, { flushEveryMs: 1, onError });
    log.record(entry('a'));
    await vi.waitFor(() => expect(onError).toHaveBeenCalled());
    await log.close().catch(() => undefined);
    expect(() => log.record(entry('after close'))).not.toThrow();
  });

  it('an entry recorded after close is reported', async () => {
    const { db } = pretendSilo();
    const errors: Error[] = [];
    const log = await openAuditLog(db, { onError: (e) => errors.push(e) });
    await log.close();
    log.record(entry('late'));
    expect(errors.map((e) => e.message)).toEqual(['an entry arrived after the audit log was closed: not recorded']);
  });

  it('after failures the retries back off, then everything waiting is written when the database is back', async () => {
    vi.useFakeTimers();
    const { db, state } = pretendSilo();
    state.down = true;
    const log = await openAuditLog(db, { flushEveryMs: 10, onError: () => undefined });
    for (let n = 0; n < 500; n++) log.record(entry(`analyst-${n}`)); // past maxBatch: no immediate retry storm
    await vi.advanceTimersByTimeAsync(1_000);
    // The wait doubles after each failure: a handful of attempts in a second, where a fixed 10 ms timer would make a hundred.
    expect(state.transactions).toBeLessThanOrEqual(7);
    state.down = false;
    await vi.advanceTimersByTimeAsync(2_000);
    expect(state.bodies).toHaveLength(500);
    expect(state.bodies.map((body) => JSON.parse(body).entry.principal.subject)).toEqual(Array.from({ length: 500 }, (_, n) => `analyst-${n}`));
    await log.close();
  });
});
