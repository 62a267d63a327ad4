/**
 * What one audit record holds and how the records chain: the pure part of the audit log, shared by
 * the writer (log.ts) and the verifier (verify.ts).
 */
import { createHash } from 'node:crypto';

export interface AuditEntry {
  /** Who asked: the verified principal. */
  principal: { subject: string; nation: string; clearance: string; roles: string[]; communities: string[] };
  /** Which operation: its name (or null) and the sha256 hex of the query text. */
  operation: { name: string | null; queryHash: string };
  /** Global ids of the objects any field of which was released (allowed, redacted or transformed). */
  released: string[];
  /** Each withheld field: the object id, the field (GraphQL name) and the reason (rule id or marking check). */
  withheld: Array<{ object: string; field: string; reason: string }>;
  redacted: Array<{ object: string; field: string; reason: string }>;
  transformed: Array<{ object: string; field: string; transform: string; reason: string }>;
}

export interface AuditRecord {
  seq: number;
  /** When the entry was recorded, ISO 8601. */
  at: string;
  entry: AuditEntry;
  prevHash: string;
  hash: string;
}

/** The prevHash of record 1. */
export const GENESIS_HASH = '0'.repeat(64);

/**
 * JSON with object keys sorted (by UTF-16 code units, as RFC 8785 does) at every depth and no
 * whitespace. Written out by hand rather than by re-inserting keys in order, because JavaScript
 * puts integer-like keys first whatever the insertion order. Throws on what JSON cannot hold
 * (BigInt, cycles), like JSON.stringify.
 */
export function canonicalJson(value: unknown): string {
  const text = write(value);
  if (text === undefined) throw new TypeError(`${typeof value} has no JSON form`);
  return text;
}

function write(value: unknown): string | undefined {
  const plain = hasToJson(value) ? value.toJSON() : value;
  if (plain === null || typeof plain !== 'object') return JSON.stringify(plain);
  if (Array.isArray(plain)) return `[${plain.map((item) => write(item) ?? 'null').join(',')}]`;
  const members: string[] = [];
  for (const key of Object.keys(plain).sort()) {
    const text = write((plain as Record<string, unknown>)[key]);
    if (text !== undefined) members.push(`${JSON.stringify(key)}:${text}`);
  }
  return `{${members.join(',')}}`;
}

/**
 * canonicalJson(entry), written for the entry's one shape (keys in their sorted order, known to be
 * present): what every answered request pays, so it skips the general walk's sorting of every
 * object's keys. A property test holds it to canonicalJson.
 */
export function auditEntryJson(entry: AuditEntry): string {
  const str = JSON.stringify;
  const fields = (list: AuditEntry['withheld']) => `[${list.map((f) => `{"field":${str(f.field)},"object":${str(f.object)},"reason":${str(f.reason)}}`).join(',')}]`;
  const { operation: o, principal: p } = entry;
  return (
    `{"operation":{"name":${str(o.name)},"queryHash":${str(o.queryHash)}},` +
    `"principal":{"clearance":${str(p.clearance)},"communities":${str(p.communities)},"nation":${str(p.nation)},"roles":${str(p.roles)},"subject":${str(p.subject)}},` +
    `"redacted":${fields(entry.redacted)},"released":${str(entry.released)},` +
    `"transformed":[${entry.transformed.map((f) => `{"field":${str(f.field)},"object":${str(f.object)},"reason":${str(f.reason)},"transform":${str(f.transform)}}`).join(',')}],` +
    `"withheld":${fields(entry.withheld)}}`
  );
}

function hasToJson(value: unknown): value is { toJSON(): unknown } {
  return typeof value === 'object' && value !== null && typeof (value as { toJSON?: unknown }).toJSON === 'function';
}

/**
 * The stored and hashed body of a record: canonicalJson({ seq, at, entry }) built around an entry
 * already made canonical when it was recorded (its keys sort as at < entry < seq).
 */
export function recordBody(seq: number, at: string, entryJson: string): string {
  return `{"at":${JSON.stringify(at)},"entry":${entryJson},"seq":${seq}}`;
}

export function chainHash(prevHash: string, body: string): string {
  return createHash('sha256').update(`${prevHash}\n${body}`, 'utf8').digest('hex');
}

/** One row of the audit_record table, as written. */
export interface ChainedRow {
  seq: number;
  at: string;
  body: string;
  prevHash: string;
  hash: string;
}

/** Extends the chain whose head is `head` (null: an empty log) with entries in the order given. */
export function chainAfter(head: { seq: number; hash: string } | null, entries: ReadonlyArray<{ at: string; entryJson: string }>): ChainedRow[] {
  let seq = head?.seq ?? 0;
  let prevHash = head?.hash ?? GENESIS_HASH;
  return entries.map(({ at, entryJson }) => {
    seq += 1;
    const body = recordBody(seq, at, entryJson);
    const row = { seq, at, body, prevHash, hash: chainHash(prevHash, body) };
    prevHash = row.hash;
    return row;
  });
}
