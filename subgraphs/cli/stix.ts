/**
 * STIX 2.1 in and out of one nation's silo.
 *
 *   npm run -s stix -- import --nation FRA [--data DIR] [--strict] [default-marking flags] bundle.json
 *   npm run -s stix -- export --nation FRA [--data DIR] [--out FILE]
 *
 * The silo is the PGlite data directory DIR (default .data/silos/<NATION>), or the PostgreSQL server in
 * DATABASE_URL when that is set. Import prints its report as JSON on stdout.
 */
import { closeSync, openSync, readFileSync, writeSync } from 'node:fs';
import { parseArgs } from 'node:util';
import { isNationCode, parseClassification, parseTlp, type Marking } from '../../policies';
import { openSilo, type SiloDb } from '../silo/db';
import { bundleJsonChunks, defaultMarkingFor, exportBundle, importBundle, StixImportError } from '../stix';

const USAGE = `usage:
  npm run -s stix -- import --nation <ISO3> [--data DIR] [--strict] [--default-classification LEVEL]
                           [--default-tlp LEVEL] [--default-releasable-to A,B] [--default-caveats X,Y] <bundle.json | ->
  npm run -s stix -- export --nation <ISO3> [--data DIR] [--out FILE]

  --data     the nation's PGlite data directory (default .data/silos/<NATION>); DATABASE_URL, when set, wins
  --strict   exit with status 1 when any object was rejected
  --default-*  the marking given to objects that arrive unmarked (default: RESTRICTED, AMBER, releasable to the nation only)`;

class UsageError extends Error {}

const OPTIONS = {
  nation: { type: 'string' },
  data: { type: 'string' },
  out: { type: 'string' },
  strict: { type: 'boolean', default: false },
  'default-classification': { type: 'string' },
  'default-tlp': { type: 'string' },
  'default-releasable-to': { type: 'string' },
  'default-caveats': { type: 'string' },
  help: { type: 'boolean', short: 'h', default: false },
} as const;

type Values = ReturnType<typeof parseArgs<{ options: typeof OPTIONS; allowPositionals: true }>>['values'];

async function main(argv: string[]): Promise<number> {
  const { values, positionals } = parseCommandLine(argv);
  if (values.help) return void console.log(USAGE), 0;
  const [command, ...files] = positionals;
  if (command !== 'import' && command !== 'export') throw new UsageError(command ? `unknown command "${command}"` : 'missing command (import or export)');
  const nation = values.nation;
  if (!isNationCode(nation)) throw new UsageError(nation ? `--nation "${nation}" is not an ISO 3166 alpha-3 code (e.g. FRA)` : '--nation is required');
  if (command === 'import') return runImport(nation, values, files);
  if (files.length) throw new UsageError(`export takes no file argument (use --out FILE), got ${files.join(' ')}`);
  return runExport(nation, values);
}

function parseCommandLine(argv: string[]) {
  try {
    return parseArgs({ args: argv, options: OPTIONS, allowPositionals: true, strict: true });
  } catch (error) {
    throw new UsageError((error as Error).message);
  }
}

async function runImport(nation: string, values: Values, files: string[]): Promise<number> {
  if (files.length !== 1) throw new UsageError(files.length ? `import takes one bundle file, got ${files.length}` : 'import needs a bundle file (or - for stdin)');
  const defaultMarking = readDefaultMarking(nation, values);
  const bundle = readJson(files[0]!);
  const report = await withSilo(nation, values.data, (db) => importBundle(db, bundle, { nation, defaultMarking }));
  console.log(JSON.stringify(report, null, 2));
  const rate = report.durationMs > 0 ? Math.round((report.received / report.durationMs) * 1000) : report.received;
  console.error(`${nation}: ${report.received} objects in ${report.durationMs} ms (${rate} objects/s): ${report.inserted} inserted, ${report.updated} updated, ${report.unchanged} unchanged, ${report.rejected.length} rejected`);
  return values.strict && report.rejected.length > 0 ? 1 : 0;
}

async function runExport(nation: string, values: Values): Promise<number> {
  const bundle = await withSilo(nation, values.data, (db) => exportBundle(db, { nation }));
  const fd = values.out ? openSync(values.out, 'w') : 1;
  try {
    for (const chunk of bundleJsonChunks(bundle)) writeSync(fd, chunk);
  } finally {
    if (values.out) closeSync(fd);
  }
  if (values.out) console.error(`${nation}: exported ${bundle.objects.length} objects to ${values.out}`);
  return 0;
}

function readDefaultMarking(nation: string, values: Values): Marking {
  const base = defaultMarkingFor(nation);
  const list = (text: string | undefined) => (text === undefined ? undefined : text.split(',').map((s) => s.trim().toUpperCase()).filter(Boolean));
  try {
    return {
      classification: values['default-classification'] ? parseClassification(values['default-classification'], '--default-classification') : base.classification,
      tlp: values['default-tlp'] ? parseTlp(values['default-tlp'], '--default-tlp') : base.tlp,
      releasableTo: list(values['default-releasable-to']) ?? base.releasableTo,
      caveats: list(values['default-caveats']) ?? base.caveats,
    };
  } catch (error) {
    throw new UsageError((error as Error).message);
  }
}

function readJson(file: string): unknown {
  let text: string;
  try {
    text = readFileSync(file === '-' ? 0 : file, 'utf8');
  } catch (error) {
    throw new UsageError(`cannot read ${file === '-' ? 'stdin' : file}: ${(error as Error).message}`);
  }
  try {
    return JSON.parse(text);
  } catch (error) {
    throw new StixImportError(`${file}: not valid JSON (${(error as Error).message})`);
  }
}

async function withSilo<T>(nation: string, dataDir: string | undefined, work: (db: SiloDb) => Promise<T>): Promise<T> {
  const databaseUrl = process.env.DATABASE_URL || undefined;
  const db = await openSilo({ nation, databaseUrl, dataDir: databaseUrl ? undefined : (dataDir ?? `.data/silos/${nation}`) });
  try {
    return await work(db);
  } finally {
    await db.close();
  }
}

main(process.argv.slice(2)).then(
  (code) => process.exit(code),
  (error: unknown) => {
    if (error instanceof UsageError) console.error(`stix: ${error.message}\n\n${USAGE}`);
    else if (error instanceof StixImportError) console.error(`stix: ${error.message}`);
    else console.error(`stix: ${error instanceof Error ? (error.stack ?? error.message) : String(error)}`);
    process.exit(error instanceof UsageError ? 2 : 1);
  },
);
