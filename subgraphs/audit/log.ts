/**
 * The writer of a nation's audit log. The subgraph records what it released after answering each
 * request; the entries are queued and written in batches so that auditing never holds up an answer,
 * and a database that is briefly unavailable loses none of them.
 */
import type { SiloDb, SiloQueryable } from '../silo/db';
import { auditEntryJson, chainAfter, type AuditEntry, type ChainedRow } from './chain';

export interface AuditLog {
  /** Queues an entry; never throws, never blocks the answer. */
  record(entry: AuditEntry): void;
  /**
   * Writes everything queued (the chain is extended in queue order). Rejects with an
   * AuditWriteError when the database refused; the entries then stay queued.
   */
  flush(): Promise<void>;
  /** Flushes and stops the timer; rejects like flush() when that last flush fails. */
  close(): Promise<void>;
}

export interface AuditLogOptions {
  /** How long an entry may wait in the queue (default 200 ms). */
  flushEveryMs?: number;
  /** A queue this long is written at once, and no transaction writes more (default 200, at most 13107). */
  maxBatch?: number;
  /** Told of every failure nobody awaited: background flushes, entries that cannot be recorded. */
  onError?: (error: Error) => void;
}

/** A failed write: the message gives counts only, never what the entries say. */
export class AuditWriteError extends Error {
  override name = 'AuditWriteError';
}

/**
 * Each flush is a write of its own (on embedded PostgreSQL, a statement costs about half a
 * millisecond of CPU whatever it does): under load, 200 ms batches the releases of many requests.
 */
const DEFAULTS = { flushEveryMs: 200, maxBatch: 200 };
const MAX_RETRY_MS = 30_000;

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
  // Fails now, at start, when the silo has not been migrated, rather than at the first flush.
  await db.query('SELECT 1 FROM audit_record LIMIT 0');
  return new BatchingAuditLog(db, {
    flushEveryMs: options.flushEveryMs ?? DEFAULTS.flushEveryMs,
    maxBatch: Math.min(MAX_BATCH, Math.max(1, options.maxBatch ?? DEFAULTS.maxBatch)),
    onError: options.onError ?? ((error) => console.error(`audit: ${error.message}`)),
  });
}

interface Queued {
  at: string;
  /** Made canonical when recorded: later changes to the caller's objects cannot alter the record. */
  entryJson: string;
}

class BatchingAuditLog implements AuditLog {
  private readonly queue: Queued[] = [];
  private timer: NodeJS.Timeout | undefined;
  /** The last flush started or queued: flushes run one after another, never two at once. */
  private writing: Promise<void> = Promise.resolve();
  /** A flush queued behind the running one and not started yet: later callers share it. */
  private waiting: Promise<void> | undefined;
  private failures = 0;
  private closed = false;
  /** The head this log last wrote or read: the next batch is tried straight after it. */
  private head: Head | undefined;

  constructor(
    private readonly db: SiloDb,
    private readonly options: Required<AuditLogOptions>,
  ) {}

  record(entry: AuditEntry): void {
    if (this.closed) return this.report(new AuditWriteError('an entry arrived after the audit log was closed: not recorded'));
    try {
      this.queue.push({ at: new Date().toISOString(), entryJson: auditEntryJson(entry) });
    } catch (error) {
      return this.report(new AuditWriteError(`an entry has no JSON form (${(error as Error).message}): not recorded`));
    }
    if (this.queue.length >= this.options.maxBatch && this.failures === 0) this.flushInBackground();
    else this.schedule();
  }

  flush(): Promise<void> {
    this.cancelTimer();
    if (this.waiting) return this.waiting;
    const run = this.writing.then(() => {
      this.waiting = undefined;
      return this.writeQueued();
    });
    this.waiting = run;
    this.writing = run.catch(() => undefined);
    return run;
  }

  async close(): Promise<void> {
    this.closed = true;
    this.cancelTimer();
    await this.flush();
  }

  private async writeQueued(): Promise<void> {
    while (this.queue.length > 0) {
      const batch = this.queue.slice(0, this.options.maxBatch);
      try {
        this.head = await appendToChain(this.db, batch, this.head);
      } catch (error) {
        this.head = undefined;
        this.failures += 1;
        this.schedule();
        throw new AuditWriteError(`could not write ${entries(batch.length)} (${(error as Error).message}): ${this.queue.length} stay queued for the next flush`, { cause: error });
      }
      this.queue.splice(0, batch.length);
      this.failures = 0;
    }
  }

  private flushInBackground(): void {
    this.flush().catch((error: Error) => this.report(error));
  }

  /** A throwing onError must not make record() throw, nor crash the process from a timer. */
  private report(error: Error): void {
    try {
      this.options.onError(error);
    } catch {
      // Nowhere left to tell: the entries themselves stay queued.
    }
  }

  private schedule(): void {
    if (this.timer || this.closed || this.queue.length === 0) return;
    this.timer = setTimeout(() => {
      this.timer = undefined;
      this.flushInBackground();
    }, this.delay());
    // The log must not keep a process alive: close() is how a stopping subgraph writes the rest.
    this.timer.unref();
  }

  private cancelTimer(): void {
    clearTimeout(this.timer);
    this.timer = undefined;
  }

  /** After failures, back off: a database that is down is not hammered, nor the operator's log flooded. */
  private delay(): number {
    const { flushEveryMs } = this.options;
    return this.failures === 0 ? flushEveryMs : Math.min(MAX_RETRY_MS, Math.max(1, flushEveryMs) * 2 ** this.failures);
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
async function appendToChain(db: SiloDb, batch: readonly Queued[], known: Head | undefined): Promise<Head> {
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
