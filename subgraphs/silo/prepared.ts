/**
 * A silo's reads as named prepared statements. A silo runs few read texts, many times: the same
 * page, probe and link queries for every request, the caller's visibility bound as values. Sent as
 * text each time, every one was parsed, described and planned again, and planning was up to half
 * of a read: measured on a 400-object PGlite silo, a page probe took 0.57 ms unprepared and 0.31 ms
 * prepared, and under a caller's visibility predicate (whose array tests cost the planner more
 * than the executor) 0.72 ms against 0.35 ms. A named statement is parsed once; after PostgreSQL's
 * first custom plans it runs on its generic plan, while its values still come per execution.
 */
import { createHash } from 'node:crypto';
import { parse, protocol, type PGlite } from '@electric-sql/pglite';

/**
 * Only reads are worth keeping: writes vary in shape (a batch of n rows is its own text). A
 * statement opening with WITH may write (`WITH … UPDATE`): only SELECT counts.
 */
export function isRead(sql: string): boolean {
  return /^\s*SELECT\b/i.test(sql);
}

/** How many texts an embedded silo keeps prepared; the least recently used is closed beyond it. */
const MAX_STATEMENTS = 256;

/**
 * The name a statement text is prepared under: the same on every connection, distinct per text.
 * Asked on every read a server runs: hashed once per text (a silo has a few hundred at most).
 */
const names = new Map<string, string>();
export function statementName(sql: string): string {
  let name = names.get(sql);
  if (name === undefined) {
    if (names.size >= 4 * MAX_STATEMENTS) names.clear();
    names.set(sql, (name = `sg_${createHash('sha256').update(sql).digest('base64url').slice(0, 22)}`));
  }
  return name;
}

interface Prepared {
  name: string;
  parameterTypes: number[];
}

/**
 * Reads on PGlite through named statements. PGlite's own query() prepares an unnamed statement
 * per call; this runs the same protocol messages (Bind, Describe, Execute, Sync) against a named
 * one, under the same two locks query() takes: no other query, and no open transaction of another
 * caller, can interleave (a read inside someone's transaction would see, or abort, its work).
 */
export function createPreparedReads(pg: PGlite): <Row>(sql: string, params: readonly unknown[]) => Promise<Row[]> {
  const prepared = new Map<string, Prepared>();

  async function prepare(sql: string): Promise<Prepared> {
    const name = statementName(sql);
    const described = await pg.execProtocol(concat(protocol.serialize.parse({ name, text: sql }), protocol.serialize.describe({ type: 'S', name }), protocol.serialize.sync()), { syncToFs: false });
    const statement = { name, parameterTypes: parse.parseDescribeStatementResults(described.messages) };
    // Kept before anything else can fail: the server holds the name now, and parsing it again would be refused.
    prepared.set(sql, statement);
    if (prepared.size > MAX_STATEMENTS) {
      const [oldestSql, oldest] = prepared.entries().next().value!;
      prepared.delete(oldestSql);
      await pg.execProtocol(concat(protocol.serialize.close({ type: 'S', name: oldest.name }), protocol.serialize.sync()), { syncToFs: false });
    }
    return statement;
  }

  return (sql, params) => {
    // As query() refuses: a closed silo answers nothing (its WebAssembly is gone).
    if (pg.closed) return Promise.reject(new Error('the silo is closed'));
    return pg._runExclusiveTransaction(() =>
      pg._runExclusiveQuery(async () => {
        let statement = prepared.get(sql);
        if (statement) {
          // Least recently used first: a hit moves to the back.
          prepared.delete(sql);
          prepared.set(sql, statement);
        } else statement = await prepare(sql);
        const values = params.map((value, i) => serialized(pg, value, statement.parameterTypes[i]));
        const run = concat(protocol.serialize.bind({ statement: statement.name, values }), protocol.serialize.describe({ type: 'P' }), protocol.serialize.execute({}), protocol.serialize.sync());
        // Reads write nothing a restart needs (at most hint bits): no sync to the file system.
        const { messages } = await pg.execProtocol(run, { syncToFs: false });
        return parse.parseResults(messages, pg.parsers)[0]!.rows as never;
      }),
    );
  };
}

/** A value in the text form PostgreSQL reads for its parameter's type, as PGlite's query() sends it. */
function serialized(pg: PGlite, value: unknown, type: number | undefined): string | null {
  if (value === null || value === undefined) return null;
  const serializer = type === undefined ? undefined : pg.serializers[type];
  return serializer ? serializer(value) : String(value);
}

function concat(...parts: Uint8Array[]): Uint8Array {
  const out = new Uint8Array(parts.reduce((length, part) => length + part.length, 0));
  let offset = 0;
  for (const part of parts) {
    out.set(part, offset);
    offset += part.length;
  }
  return out;
}
