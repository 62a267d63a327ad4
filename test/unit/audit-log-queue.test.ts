/**
 * The audit log's group commit against a pretend silo: an entry's promise settles only once its
 * write is over, committed or refused; entries arriving during a write share the next one; a
 * database that is down refuses every waiting recorder and is never written to twice at once.
 */
import { describe, expect, it, vi } from 'vitest';
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

/**
 * A silo that writes nowhere: counts its transactions and the entries each wrote, keeps the bodies
 * inserted, fails while `down`; while `held`, a write waits until `release()`.
 */
function pretendSilo() {
  const state = { down: false, transactions: 0, inFlight: 0, mostInFlight: 0, batchSizes: [] as number[], bodies: [] as string[] };
  let gate: { promise: Promise<void>; open: () => void } | undefined;
  const tx: SiloQueryable = {
    async query<Row>(sql: string, params: readonly unknown[] = []) {
      if (sql.startsWith('INSERT')) {
        // Five parameters a row: seq, at, body, prev_hash, hash.
        const bodies = params.filter((_, i) => i % 5 === 2) as string[];
        state.batchSizes.push(bodies.length);
        state.bodies.push(...bodies);
      }
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
      state.inFlight += 1;
      state.mostInFlight = Math.max(state.mostInFlight, state.inFlight);
      try {
        await gate?.promise;
        if (state.down) throw new Error('connection refused');
        return await work(tx);
      } finally {
        state.inFlight -= 1;
      }
    },
  };
  const hold = () => {
    let open!: () => void;
    gate = { promise: new Promise<void>((resolve) => (open = resolve)), open };
  };
  const release = () => {
    gate?.open();
    gate = undefined;
  };
  return { db, state, hold, release };
}

/** Whether a promise has settled, without waiting for it. */
async function settled(promise: Promise<unknown>): Promise<boolean> {
  const pending = Symbol('pending');
  return (await Promise.race([promise.then(() => true, () => true), new Promise((resolve) => setImmediate(() => resolve(pending)))])) !== pending;
}

describe('the audit log group commit', () => {
  it('an idle log writes the first entry at once, and its promise resolves only once that write is committed', async () => {
    const { db, state, hold, release } = pretendSilo();
    const log = await openAuditLog(db);
    hold();
    const first = log.record(entry('a'));
    await vi.waitFor(() => expect(state.transactions).toBe(1));
    expect(await settled(first)).toBe(false);
    release();
    await first;
    expect(state.bodies).toHaveLength(1);
    await log.close();
  });

  it('entries recorded while a write is in flight share the next write, one write at a time, each at most maxBatch', async () => {
    const { db, state, hold, release } = pretendSilo();
    const log = await openAuditLog(db, { maxBatch: 50 });
    hold();
    const first = log.record(entry('first'));
    await vi.waitFor(() => expect(state.transactions).toBe(1));
    const others = Array.from({ length: 120 }, (_, n) => log.record(entry(`analyst-${n}`)));
    release();
    await Promise.all([first, ...others]);
    expect(state.batchSizes).toEqual([1, 50, 50, 20]);
    expect(state.mostInFlight).toBe(1);
    expect(state.bodies.map((body) => JSON.parse(body).entry.principal.subject)).toEqual(['first', ...Array.from({ length: 120 }, (_, n) => `analyst-${n}`)]);
    await log.close();
  });

  it('an entry JSON cannot hold is refused, and the others are still written', async () => {
    const { db, state } = pretendSilo();
    const log = await openAuditLog(db);
    const broken = { ...entry('b'), released: [1n] } as unknown as AuditEntry;
    await expect(log.record(broken)).rejects.toThrow(/^an entry has no JSON form \(.*\): not recorded$/);
    await log.record(entry('a'));
    expect(state.bodies).toHaveLength(1);
    await log.close();
  });

  it('while the database is down every waiting recorder is refused (none waits forever), and once it is back entries are committed again', async () => {
    const { db, state } = pretendSilo();
    const errors: Error[] = [];
    const log = await openAuditLog(db, { onError: (e) => errors.push(e) });
    state.down = true;
    const outcomes = await Promise.allSettled(Array.from({ length: 500 }, (_, n) => log.record(entry(`analyst-${n}`))));
    expect(outcomes.every((o) => o.status === 'rejected')).toBe(true);
    expect((outcomes[0] as PromiseRejectedResult).reason.message).toBe('could not write 1 audit entry (connection refused): not recorded');
    // One write at a time, each taking all that waited (up to 200): a handful of attempts for 500 requests, not 500.
    expect(state.transactions).toBeLessThanOrEqual(4);
    expect(state.mostInFlight).toBe(1);
    expect(errors).toHaveLength(state.transactions);
    state.down = false;
    await log.record(entry('after the outage'));
    expect(state.bodies.map((body) => JSON.parse(body).entry.principal.subject)).toEqual(['after the outage']);
    await log.close();
  });

  it('an onError that throws cannot stop the writes', async () => {
    const { db, state } = pretendSilo();
    const onError = vi.fn(() => {
      throw new Error('the logger is broken too');
    });
    const log = await openAuditLog(db, { onError });
    state.down = true;
    await expect(log.record(entry('a'))).rejects.toThrow(/could not write 1 audit entry/);
    expect(onError).toHaveBeenCalledTimes(1);
    state.down = false;
    await log.record(entry('b'));
    expect(state.bodies).toHaveLength(1);
    await log.close();
  });

  it('close waits for the entries in flight, then refuses new ones', async () => {
    const { db, state, hold, release } = pretendSilo();
    const log = await openAuditLog(db);
    hold();
    const inFlight = log.record(entry('in flight'));
    const closing = log.close();
    await expect(log.record(entry('late'))).rejects.toThrow('an entry arrived after the audit log was closed: not recorded');
    release();
    await Promise.all([inFlight, closing]);
    expect(state.bodies).toHaveLength(1);
  });
});
