/**
 * The writer of a nation's audit log. No release without its record: the subgraph sends an answer
 * only once the entry recording what it releases is committed. Group commit keeps that cheap under
 * load: entries recorded while a write is in flight are committed together by the next write.
 */
import type { SiloDb, SiloQueryable } from '../silo/db';
import { auditEntryJson, chainAfter, type AuditEntry, type ChainedRow } from './chain';

export interface AuditLog {
  /**
   * Resolves once the entry is committed to the chain; rejects with an AuditWriteError when it
   * could not be (the caller must then not release what the entry records). An idle log writes
   * at once; entries arriving during a write share the next one.
   */
  record(entry: AuditEntry): Promise<void>;
  /** Resolves once every entry recorded before the call is settled (committed or refused); never rejects. */
  flush(): Promise<void>;
  /** Refuses new entries and waits for those recorded to settle. */
  close(): Promise<void>;
}

export interface AuditLogOptions {
  /** No write takes more entries than this (default 200, at most 13107); the rest join the next. */
  maxBatch?: number;
  /** Told of every failed write, once per write (the recorders' promises reject too). */
  onError?: (error: Error) => void;
}

/** A failed write: the message gives counts only, never what the entries say. */
export class AuditWriteError extends Error {
  override name = 'AuditWriteError';
}

const DEFAULT_MAX_BATCH = 200;

/**
 * Every writer of one nation's log, in any process, takes this lock before reading the head, so
 * replicas sharing a PostgreSQL server extend one chain instead of racing for the same seq. Its
 * second key is the schema, so nations sharing a server do not wait for each other.
 */
const LOCK_HEAD = `SELECT pg_advisory_xact_lock(${0x736f7667 /* "sovg" */}, hashtext(current_schema()))`;
const READ_HEAD = 'SELECT seq, hash FROM audit_record ORDER BY seq DESC LIMIT 1';
const COLUMNS = ['seq', 'at', 'body', 'prev_hash', 'hash'] as const;
/** PostgreSQL takes at most 65535 parameters in a statement, and a row takes one per column. */
const MAX_BATCH = Math.floor(65535 / COLUMNS.length);

export async function openAuditLog(db: SiloDb, options: AuditLogOptions = {}): Promise<AuditLog> {
  // Fails now, at start, when the silo has not been migrated, rather than at the first release.
  // An embedded silo has one writer, this process: its head, read once, makes every write one INSERT.
  const head = db.exclusive ? await readHead(db) : (await db.query('SELECT 1 FROM audit_record LIMIT 0'), undefined);
  return new GroupCommitAuditLog(db, {
    maxBatch: Math.min(MAX_BATCH, Math.max(1, options.maxBatch ?? DEFAULT_MAX_BATCH)),
    onError: options.onError ?? ((error) => console.error(`audit: ${error.message}`)),
  }, head);
}

interface Pending {
  at: string;
  /** Made canonical when recorded: later changes to the caller's objects cannot alter the record. */
  entryJson: string;
  committed: () => void;
  refused: (error: AuditWriteError) => void;
}

class GroupCommitAuditLog implements AuditLog {
  private queue: Pending[] = [];
  /** The running write loop, while entries wait or are being written; one at a time. */
  private writing: Promise<void> | undefined;
  private closed = false;

  constructor(
    private readonly db: SiloDb,
    private readonly options: Required<AuditLogOptions>,
    /** The head this log last wrote or read: the next batch is tried straight after it. */
    private head: Head | undefined,
  ) {}

  record(entry: AuditEntry): Promise<void> {
    if (this.closed) return Promise.reject(new AuditWriteError('an entry arrived after the audit log was closed: not recorded'));
    let entryJson: string;
    try {
      entryJson = auditEntryJson(entry);
    } catch (error) {
      return Promise.reject(new AuditWriteError(`an entry has no JSON form (${(error as Error).message}): not recorded`));
    }
    return new Promise<void>((committed, refused) => {
      this.queue.push({ at: new Date().toISOString(), entryJson, committed, refused });
      this.startWriting();
    });
  }

  async flush(): Promise<void> {
    while (this.writing) await this.writing;
  }

  async close(): Promise<void> {
    this.closed = true;
    await this.flush();
  }

  private startWriting(): void {
    if (this.writing) return;
    // An entry recorded by a continuation of the last batch's committed() may land after the loop
    // saw an empty queue: the loop starts again for it.
    this.writing = this.writeAll().then(() => {
      this.writing = undefined;
      if (this.queue.length > 0) this.startWriting();
    });
  }

  /** Writes until nothing waits: each write takes everything queued meanwhile, up to maxBatch. */
  private async writeAll(): Promise<void> {
    while (this.queue.length > 0) {
      const batch = this.queue.splice(0, this.options.maxBatch);
      try {
        this.head = await appendToChain(this.db, batch, this.head);
      } catch (error) {
        this.head = undefined;
        const failure = new AuditWriteError(`could not write ${entries(batch.length)} (${(error as Error).message}): not recorded`, { cause: error });
        this.report(failure);
        for (const pending of batch) pending.refused(failure);
        continue;
      }
      for (const pending of batch) pending.committed();
    }
  }

  /** A throwing onError must not stop the write loop. */
  private report(error: Error): void {
    try {
      this.options.onError(error);
    } catch {
      // Nowhere left to tell: the recorders are refused all the same.
    }
  }
}

type Head = { seq: number; hash: string } | null;

/**
 * Appends the batch after the chain's head and returns the new head. In a silo this process alone
 * writes, straight after the head this log knows, in one statement: should another log of the same
 * process have extended the chain meanwhile, the first seq is taken (it is the primary key) and
 * nothing is written. Otherwise (no head known, or a server replicas share, where an unlocked
 * insert would race the locked ones), in one transaction that locks the head, reads it and
 * inserts after it.
 */
async function appendToChain(db: SiloDb, batch: readonly Pending[], known: Head | undefined): Promise<Head> {
  if (known !== undefined && db.exclusive) {
    const rows = chainAfter(known, batch);
    try {
      await db.query(...insertStatement(rows));
      return headOf(rows);
    } catch (error) {
      if (!isUniqueViolation(error)) throw error;
    }
  }
  return db.transaction(async (tx) => {
    await tx.query(LOCK_HEAD);
    const rows = chainAfter(await readHead(tx), batch);
    await tx.query(...insertStatement(rows));
    return headOf(rows);
  });
}

function headOf(rows: readonly ChainedRow[]): Head {
  const last = rows.at(-1)!;
  return { seq: last.seq, hash: last.hash };
}

/** PostgreSQL's unique_violation, as node-postgres and PGlite report it. */
function isUniqueViolation(error: unknown): boolean {
  return (error as { code?: unknown })?.code === '23505';
}

/**
 * One multi-row INSERT ... VALUES. Measured against one INSERT ... SELECT FROM unnest(arrays) for
 * 200 rows: 14 against 22 ms on PGlite, 17 against 20 ms on PostgreSQL 15 (arrays of JSON text are
 * escaped into array literals, then parsed again).
 */
function insertStatement(rows: readonly ChainedRow[]): [string, unknown[]] {
  const params = rows.flatMap((r) => [r.seq, r.at, r.body, r.prevHash, r.hash]);
  const tuples = rows.map((_, i) => `(${COLUMNS.map((_, c) => `$${i * COLUMNS.length + c + 1}`).join(', ')})`);
  return [`INSERT INTO audit_record (${COLUMNS.join(', ')}) VALUES ${tuples.join(', ')}`, params];
}

async function readHead(tx: SiloQueryable): Promise<Head> {
  const [head] = await tx.query<{ seq: number | string; hash: string }>(READ_HEAD);
  // node-postgres returns bigint as a string, PGlite as a number.
  return head ? { seq: Number(head.seq), hash: head.hash } : null;
}

function entries(count: number): string {
  return `${count} audit ${count === 1 ? 'entry' : 'entries'}`;
}
