/**
 * A nation's audit log from the command line: check its hash chain, or read its latest records.
 *
 *   npm run -s audit -- verify --nation FRA [--data DIR]
 *   npm run -s audit -- tail --nation FRA [--data DIR] [--limit 20] [--json]
 *
 * The silo is the PGlite data directory DIR (default .data/silos/<NATION>), or the PostgreSQL server in
 * DATABASE_URL when that is set.
 */
import { existsSync } from 'node:fs';
import { join } from 'node:path';
import { parseArgs } from 'node:util';
// markings alone: the whole policy layer (zod, yaml, the engine) would add half a second to every run.
import { isNationCode } from '../../policies/markings';
import { recentAuditRecords, summarizeAuditRecord, verifyAuditChain } from '../audit';
import { openSilo, type SiloDb } from '../silo/db';

const USAGE = `usage:
  npm run -s audit -- verify --nation <ISO3> [--data DIR]
  npm run -s audit -- tail --nation <ISO3> [--data DIR] [--limit N] [--json]

  verify    recompute the nation's audit hash chain from its first record: exit 0 when intact,
            1 at the first broken record (edited, missing or out of place)
  tail      print the latest records, oldest first (--limit, default 20), or as one JSON array (--json)
  --data    the nation's PGlite data directory (default .data/silos/<NATION>); DATABASE_URL, when set, wins.
            PGlite lets one process at a time open a data directory: stop the nation first.

exit status: 0 done (chain intact), 1 chain broken, 2 usage error, 3 the silo could not be read`;

class UsageError extends Error {}

const OPTIONS = {
  nation: { type: 'string' },
  data: { type: 'string' },
  limit: { type: 'string' },
  json: { type: 'boolean', default: false },
  help: { type: 'boolean', short: 'h', default: false },
} as const;

type Values = ReturnType<typeof parseArgs<{ options: typeof OPTIONS; allowPositionals: true }>>['values'];

async function main(argv: string[]): Promise<number> {
  const { values, positionals } = parseCommandLine(argv);
  if (values.help) return void console.log(USAGE), 0;
  const [command, ...extra] = positionals;
  if (command !== 'verify' && command !== 'tail') throw new UsageError(command ? `unknown command "${command}"` : 'missing command (verify or tail)');
  if (extra.length) throw new UsageError(`${command} takes no arguments besides options, got ${extra.join(' ')}`);
  const nation = values.nation?.toUpperCase();
  if (!isNationCode(nation)) throw new UsageError(values.nation ? `--nation "${values.nation}" is not an ISO 3166 alpha-3 code (e.g. FRA)` : '--nation is required');
  if (command === 'verify') {
    if (values.limit !== undefined || values.json) throw new UsageError('--limit and --json are for tail');
    return runVerify(nation, values);
  }
  return runTail(nation, values, parseLimit(values.limit));
}

function parseCommandLine(argv: string[]) {
  try {
    return parseArgs({ args: argv, options: OPTIONS, allowPositionals: true, strict: true });
  } catch (error) {
    throw new UsageError((error as Error).message);
  }
}

function parseLimit(text: string | undefined): number {
  if (text === undefined) return 20;
  const limit = Number(text);
  if (!/^\d+$/.test(text) || limit < 1) throw new UsageError(`--limit must be a whole number of records, 1 or more (got "${text}")`);
  return limit;
}

async function runVerify(nation: string, values: Values): Promise<number> {
  const verdict = await withSilo(nation, values.data, verifyAuditChain);
  if (verdict.ok) {
    console.log(`${nation} audit chain intact: ${verdict.records} records, head ${verdict.head ?? 'none (empty log)'}`);
    return 0;
  }
  console.log(`${nation} audit chain BROKEN at record ${verdict.firstBroken.seq}: ${verdict.firstBroken.reason} (${verdict.records} records before it are intact)`);
  return 1;
}

async function runTail(nation: string, values: Values, limit: number): Promise<number> {
  const newestFirst = await withSilo(nation, values.data, (db) => recentAuditRecords(db, limit));
  const records = newestFirst.reverse();
  if (values.json) console.log(JSON.stringify(records, null, 2));
  else if (records.length === 0) console.error(`${nation}: the audit log is empty`);
  else for (const record of records) console.log(summarizeAuditRecord(record));
  return 0;
}

class SiloUnreadable extends Error {}

async function withSilo<T>(nation: string, dataDir: string | undefined, work: (db: SiloDb) => Promise<T>): Promise<T> {
  const databaseUrl = process.env.DATABASE_URL || undefined;
  const dir = dataDir ?? `.data/silos/${nation}`;
  // Opening a missing directory would create an empty silo, and "intact: 0 records" would hide the typo.
  if (!databaseUrl && !existsSync(join(dir, 'PG_VERSION'))) throw new UsageError(`no PGlite silo in ${dir}${dataDir ? '' : ' (the default: name the directory with --data)'}`);
  let db: SiloDb;
  try {
    db = await openSilo({ nation, databaseUrl, dataDir: databaseUrl ? undefined : dir });
  } catch (error) {
    throw new SiloUnreadable(`cannot open ${nation}'s silo (${databaseUrl ? 'DATABASE_URL' : dir}): ${(error as Error).message}`);
  }
  try {
    return await work(db);
  } catch (error) {
    throw new SiloUnreadable(`cannot read ${nation}'s audit log: ${(error as Error).message}`);
  } finally {
    await db.close();
  }
}

main(process.argv.slice(2)).then(
  (code) => process.exit(code),
  (error: unknown) => {
    if (error instanceof UsageError) console.error(`audit: ${error.message}\n\n${USAGE}`);
    else if (error instanceof SiloUnreadable) console.error(`audit: ${error.message}`);
    else console.error(`audit: ${error instanceof Error ? (error.stack ?? error.message) : String(error)}`);
    process.exit(error instanceof UsageError ? 2 : 3);
  },
);
