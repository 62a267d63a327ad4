/**
 * A nation's silo database: embedded PGlite in a data directory by default, a PostgreSQL server
 * when a connection string is given. Both speak the same SQL; migrations run on open.
 */
import { existsSync, readFileSync, readdirSync, mkdirSync, renameSync, statSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import type { Pool, PoolClient } from 'pg';
import { createPreparedReads, isRead, statementName } from './prepared';

export interface SiloQueryable {
  query<Row = Record<string, unknown>>(sql: string, params?: readonly unknown[]): Promise<Row[]>;
}

export interface SiloDb extends SiloQueryable {
  /** Runs `work` in one transaction: all of it is committed, or none. */
  transaction<T>(work: (tx: SiloQueryable) => Promise<T>): Promise<T>;
  /** SQL statements run since open (or since the last reset): lets tests prove batching. */
  readonly statements: { count: number };
  /**
   * Whether this process is the only writer: an embedded silo belongs to the one process that
   * opened its data directory; a server may be shared by replicas of the nation's subgraph.
   */
  readonly exclusive: boolean;
  close(): Promise<void>;
}

export interface OpenSiloOptions {
  /** Owner nation; names the PostgreSQL schema when several silos share one server. */
  nation: string;
  /** PGlite data directory; omitted: an in-memory silo (tests). */
  dataDir?: string;
  /** PostgreSQL connection string: use a real server instead of PGlite. */
  databaseUrl?: string;
}

const MIGRATIONS_DIR = join(dirname(fileURLToPath(import.meta.url)), 'migrations');

export async function openSilo(options: OpenSiloOptions): Promise<SiloDb> {
  const db = options.databaseUrl ? await openPostgres(options.databaseUrl, options.nation) : await openPglite(options.dataDir);
  await migrate(db);
  db.statements.count = 0;
  return db;
}

async function openPglite(dataDir: string | undefined): Promise<SiloDb> {
  const { PGlite } = await import('@electric-sql/pglite');
  const fresh = !dataDir || !existsSync(join(dataDir, 'PG_VERSION'));
  if (dataDir) mkdirSync(dataDir, { recursive: true });
  const loadDataDir = fresh ? await blankClusterTemplate(PGlite) : undefined;
  const pg = await PGlite.create({ ...(dataDir ? { dataDir } : {}), ...(loadDataDir ? { loadDataDir } : {}) });
  await pg.exec(`${PGLITE_PLANNER_COSTS}; ${PGLITE_GENERIC_PLANS}`);
  const statements = { count: 0 };
  const queryable = (target: { query: typeof pg.query }): SiloQueryable => ({
    async query<Row>(sql: string, params: readonly unknown[] = []) {
      statements.count++;
      const result = await target.query<Row>(sql, params as unknown[]);
      return result.rows;
    },
  });
  const preparedRead = createPreparedReads(pg);
  const outsideTransactions = queryable(pg);
  return {
    // Inside a transaction a statement runs once on its connection: only reads outside are prepared.
    async query<Row>(sql: string, params: readonly unknown[] = []) {
      if (!isRead(sql)) return outsideTransactions.query<Row>(sql, params);
      statements.count++;
      return preparedRead<Row>(sql, params);
    },
    statements,
    exclusive: true,
    transaction: (work) => pg.transaction((tx) => work(queryable(tx))),
    close: () => pg.close(),
  };
}

async function openPostgres(databaseUrl: string, nation: string): Promise<SiloDb> {
  const { default: pg } = await import('pg');
  const schema = `silo_${nation.toLowerCase()}`;
  // A connection is waited for at most CONNECT_TIMEOUT_MS: a request's work stays bounded while the server is away.
  const pool = new pg.Pool({ connectionString: databaseUrl, max: 8, connectionTimeoutMillis: CONNECT_TIMEOUT_MS, options: `-c search_path=${schema}` });
  // An idle connection the server closes (a restart) is reported here; unheard, it would kill the process.
  pool.on('error', (error) => console.error(`[silo ${nation}] an idle connection to PostgreSQL failed: ${oneLine(error)}`));
  await pool.query(`CREATE SCHEMA IF NOT EXISTS ${schema}`);
  const statements = { count: 0 };
  const queryable = (client: Pool | PoolClient): SiloQueryable => ({
    async query<Row>(sql: string, params: readonly unknown[] = []) {
      statements.count++;
      // node-postgres prepares a named statement once per connection and binds it after.
      const config = isRead(sql) ? { name: statementName(sql), text: sql, values: params as unknown[] } : { text: sql, values: params as unknown[] };
      try {
        return (await client.query(config)).rows as Row[];
      } catch (error) {
        throw asSiloError(error);
      }
    },
  });
  return {
    ...queryable(pool),
    statements,
    exclusive: false,
    async transaction(work) {
      const client = await pool.connect().catch((error: unknown) => Promise.reject(asSiloError(error)));
      // A connection lost between two statements is reported on the client itself: heard here, thrown by the next statement.
      const ignore = () => undefined;
      client.on('error', ignore);
      let broken: unknown;
      try {
        await client.query('BEGIN');
        const result = await work(queryable(client));
        await client.query('COMMIT');
        return result;
      } catch (error) {
        await client.query('ROLLBACK').catch((rollbackFailed: unknown) => (broken = rollbackFailed));
        throw asSiloError(error);
      } finally {
        client.off('error', ignore);
        // A connection that could not even roll back is dropped, not handed to the next request.
        client.release(broken instanceof Error ? broken : undefined);
      }
    },
    close: () => pool.end(),
  };
}

const CONNECT_TIMEOUT_MS = 2_000;

/**
 * The silo's server cannot be reached (down, restarting, connection lost): the request cannot be
 * answered now, and may be asked again. Its message says only that.
 */
export class SiloUnavailableError extends Error {
  override name = 'SiloUnavailableError';
}

/** node-postgres' connection failures: socket errors, SQLSTATE classes 08 and 57P (shutdown, starting up), and its own. */
const CONNECTION_LOST = /^(Connection terminated|timeout exceeded when trying to connect|Client has encountered a connection error|Client was closed)/;
function asSiloError(error: unknown): unknown {
  if (!(error instanceof Error) || error instanceof SiloUnavailableError) return error;
  const code = String((error as { code?: unknown }).code ?? '');
  const lost = /^E(CONNREFUSED|CONNRESET|PIPE|TIMEDOUT|HOSTUNREACH|NOTFOUND|AI_AGAIN)$/.test(code) || /^(08|57P)/.test(code) || CONNECTION_LOST.test(error.message);
  return lost ? new SiloUnavailableError(`the silo's PostgreSQL server is unavailable (${code || error.message.split('\n')[0]})`, { cause: error }) : error;
}

function oneLine(error: Error): string {
  const code = (error as { code?: unknown }).code;
  return `${code ? `${String(code)} ` : ''}${error.message.split('\n')[0]}`;
}

/**
 * An embedded silo's pages are all in memory, where a random read costs what a sequential one does;
 * PostgreSQL's default random_page_cost (4) assumes disk. With it, a page under a visibility predicate
 * the planner guesses keeps 40% of a type's rows was planned as a scan of the whole table (every row's
 * JSON built) and a sort, instead of a walk down the list index that stops once it has its rows:
 * 1.4 ms against 0.5 ms for a page of 18 on a 400-object silo. PostgreSQL's manual: setting them equal
 * "makes sense if the database is entirely cached in RAM". A server's costs are its operator's to tune.
 */
const PGLITE_PLANNER_COSTS = 'SET random_page_cost = 1.0';

/**
 * The prepared reads (prepared.ts) run on one plan each. Left to choose, PostgreSQL kept planning
 * the reads under a visibility predicate afresh every time: for bound arrays it cannot estimate
 * (`releasable_to && $5`), the generic plan's cost looks higher than a custom one's, though its
 * shape is the same walk down the same index; and those reads were the ones whose planning cost
 * most. The plans test checks the generic plans. A server's plan cache is its operator's to tune.
 */
const PGLITE_GENERIC_PLANS = 'SET plan_cache_mode = force_generic_plan';

type PGliteClass = (typeof import('@electric-sql/pglite'))['PGlite'];

/**
 * Creating a PGlite cluster runs initdb in WebAssembly: seconds of CPU per silo. The first blank
 * cluster is dumped once to a template beside the OS temp files, and every later silo starts from a
 * copy of it (the same bytes initdb would write), which cuts a silo's first start several times.
 */
async function blankClusterTemplate(PGlite: PGliteClass): Promise<Blob | undefined> {
  // Keyed by the PGlite build, so an upgrade never starts from another version's cluster.
  const build = statSync(fileURLToPath(import.meta.resolve('@electric-sql/pglite'))).mtimeMs.toFixed(0);
  const path = join(tmpdir(), `sovgraph-pglite-${build}-blank.tar`);
  if (existsSync(path)) return new Blob([readFileSync(path)]);
  const blank = await PGlite.create();
  const dump = await blank.dumpDataDir('none');
  await blank.close();
  const partial = `${path}.${process.pid}.partial`;
  writeFileSync(partial, Buffer.from(await dump.arrayBuffer()));
  renameSync(partial, path);
  return dump;
}

/** Applies every `migrations/NNN_*.sql` not yet applied, in order, each in its own transaction. */
async function migrate(db: SiloDb): Promise<void> {
  await db.query('CREATE TABLE IF NOT EXISTS schema_migration (version integer PRIMARY KEY, name text NOT NULL, applied_at timestamptz NOT NULL DEFAULT now())');
  const applied = new Set((await db.query<{ version: number }>('SELECT version FROM schema_migration')).map((r) => r.version));
  const files = readdirSync(MIGRATIONS_DIR).filter((f) => /^\d+_.+\.sql$/.test(f)).sort();
  for (const file of files) {
    const version = Number.parseInt(file, 10);
    if (applied.has(version)) continue;
    const sql = readFileSync(join(MIGRATIONS_DIR, file), 'utf8');
    await db.transaction(async (tx) => {
      for (const statement of splitStatements(sql)) await tx.query(statement);
      await tx.query('INSERT INTO schema_migration (version, name) VALUES ($1, $2)', [version, file]);
    });
  }
}

/** Our migrations hold no semicolons inside strings or bodies, so a split on `;` is exact. */
function splitStatements(sql: string): string[] {
  return sql
    .split('\n')
    .filter((line) => !line.trimStart().startsWith('--'))
    .join('\n')
    .split(';')
    .map((s) => s.replace(/--[^\n]*$/gm, '').trim())
    .filter(Boolean);
}
