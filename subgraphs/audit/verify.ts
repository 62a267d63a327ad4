/**
 * Reading a nation's audit log back: checking its hash chain from the first record, and the most
 * recent records for a feed.
 */
import type { SiloQueryable } from '../silo/db';
import { chainHash, GENESIS_HASH, type AuditEntry, type AuditRecord } from './chain';

/**
 * `records`: how many records were found intact (when broken, those before the break). The chain
 * cannot show that records were cut off its end: compare `head` with one kept elsewhere for that.
 */
export type ChainVerdict = { ok: true; records: number; head: string | null } | { ok: false; records: number; firstBroken: { seq: number; reason: string } };

interface StoredRow {
  seq: number | string;
  at: Date | string;
  body: string;
  prev_hash: string;
  hash: string;
}

const PAGE_SIZE = 1000;
// Keyset pages so that a log of millions of records is read in constant memory.
const READ_PAGE = `SELECT seq, at, body, prev_hash, hash FROM audit_record
  WHERE $1::bigint IS NULL OR seq > $1::bigint ORDER BY seq LIMIT ${PAGE_SIZE}`;

export async function verifyAuditChain(db: SiloQueryable): Promise<ChainVerdict> {
  let expected = { seq: 1, prevHash: GENESIS_HASH };
  for (let after: number | null = null; ; ) {
    const rows: StoredRow[] = await db.query<StoredRow>(READ_PAGE, [after]);
    for (const row of rows) {
      const reason = brokenBecause(row, expected);
      if (reason) return { ok: false, records: expected.seq - 1, firstBroken: { seq: expected.seq, reason } };
      expected = { seq: expected.seq + 1, prevHash: row.hash };
    }
    if (rows.length < PAGE_SIZE) break;
    after = Number(rows[rows.length - 1]!.seq);
  }
  const records = expected.seq - 1;
  return { ok: true, records, head: records === 0 ? null : expected.prevHash };
}

/**
 * Why `row` cannot be record `expected.seq`, or null when it is. The hash is checked before the
 * body is read, so an edited body is reported as what it is: a hash mismatch.
 */
function brokenBecause(row: StoredRow, expected: { seq: number; prevHash: string }): string | null {
  const seq = Number(row.seq);
  if (seq > expected.seq) return `gap in sequence (${seq === expected.seq + 1 ? `record ${expected.seq} is` : `records ${expected.seq} to ${seq - 1} are`} missing)`;
  if (seq < expected.seq) return `record ${seq} appears twice`;
  if (row.prev_hash !== expected.prevHash) {
    const previous = seq === 1 ? 'the genesis hash' : `record ${seq - 1}'s hash ${short(expected.prevHash)}`;
    return `broken link (prevHash ${short(row.prev_hash)} is not ${previous})`;
  }
  const computed = chainHash(row.prev_hash, row.body);
  if (row.hash !== computed) return `hash mismatch (stored ${short(row.hash)}, recomputed ${short(computed)})`;
  return columnsDisagree(row, seq);
}

/** The seq and at columns are copies of the hashed body, for SQL: they must say the same. */
function columnsDisagree(row: StoredRow, seq: number): string | null {
  const body = parseBody(row.body);
  if (!body) return 'body is not a JSON record';
  if (body.seq !== seq) return `body says seq ${String(body.seq)}, the seq column ${seq}`;
  if (Date.parse(body.at) !== new Date(row.at).getTime()) return `body says at ${body.at}, the at column ${new Date(row.at).toISOString()}`;
  return null;
}

function parseBody(text: string): { seq: unknown; at: string; entry: AuditEntry } | null {
  try {
    const body = JSON.parse(text) as { seq?: unknown; at?: unknown; entry?: unknown };
    return typeof body === 'object' && body !== null && typeof body.at === 'string' && typeof body.entry === 'object' && body.entry !== null ? (body as { seq: unknown; at: string; entry: AuditEntry }) : null;
  } catch {
    return null;
  }
}

function short(hash: string): string {
  return hash.length > 12 ? `${hash.slice(0, 12)}…` : hash;
}

/** The newest `limit` records, newest first. Reads them as stored: `verifyAuditChain` says whether to trust them. */
export async function recentAuditRecords(db: SiloQueryable, limit: number): Promise<AuditRecord[]> {
  if (!Number.isInteger(limit) || limit < 0) throw new RangeError(`limit must be a non-negative integer, got ${limit}`);
  const rows = await db.query<StoredRow>('SELECT seq, at, body, prev_hash, hash FROM audit_record ORDER BY seq DESC LIMIT $1', [limit]);
  return rows.map(toRecord);
}

function toRecord(row: StoredRow): AuditRecord {
  const seq = Number(row.seq);
  const body = parseBody(row.body);
  if (!body) throw new Error(`audit record ${seq} is not a JSON record: the log was altered (run audit verify)`);
  return { seq, at: body.at, entry: body.entry, prevHash: row.prev_hash, hash: row.hash };
}
