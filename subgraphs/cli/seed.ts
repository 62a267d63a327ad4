/**
 * Writes the deterministic seed bundles, one file per nation: DIR/<NATION>.json.
 *
 *   npm run -s seed -- --out DIR [--size N] [--nations USA,GBR,FRA,DEU,EST] [--seed TEXT]
 *
 * Load them with `npm run -s stix -- import --nation FRA DIR/FRA.json`. Nations are generated one at a
 * time and written piece by piece, so --size 100000 stays within memory.
 */
import { closeSync, mkdirSync, openSync, writeSync } from 'node:fs';
import { join } from 'node:path';
import { parseArgs } from 'node:util';
import { isNationCode } from '../../policies';
import { DEFAULT_SEED_SIZE, SEED_NATIONS, generateNationBundle } from '../seed/generate';
import { bundleJsonChunks } from '../stix';

const USAGE = `usage: npm run -s seed -- --out DIR [--size N] [--nations ${SEED_NATIONS.join(',')}] [--seed TEXT]

  --size     roughly the number of STIX objects per nation (default ${DEFAULT_SEED_SIZE}; 100000 works)
  --nations  ISO 3166 alpha-3 codes, comma-separated (default ${SEED_NATIONS.join(',')})
  --seed     PRNG seed: the same seed, size and nations give identical files (default "sovgraph")`;

class UsageError extends Error {}

function parse(argv: string[]) {
  let parsed;
  try {
    parsed = parseArgs({
      args: argv,
      options: { out: { type: 'string' }, size: { type: 'string' }, nations: { type: 'string' }, seed: { type: 'string' }, help: { type: 'boolean', short: 'h' } },
      strict: true,
    });
  } catch (error) {
    throw new UsageError((error as Error).message);
  }
  const { values } = parsed;
  if (values.help) return null;
  if (!values.out) throw new UsageError('--out DIR is required');
  const size = values.size === undefined ? DEFAULT_SEED_SIZE : Number(values.size);
  if (!Number.isInteger(size) || size < 1) throw new UsageError(`--size must be a positive integer, got "${values.size}"`);
  const nations = values.nations ? values.nations.split(',').map((n) => n.trim().toUpperCase()).filter(Boolean) : [...SEED_NATIONS];
  const bad = nations.filter((n) => !isNationCode(n));
  if (bad.length || nations.length === 0) throw new UsageError(`--nations must list ISO 3166 alpha-3 codes, got "${values.nations}"`);
  return { out: values.out, size, nations, seed: values.seed };
}

function main(argv: string[]): number {
  const options = parse(argv);
  if (!options) return void console.log(USAGE), 0;
  mkdirSync(options.out, { recursive: true });
  for (const nation of options.nations) {
    const bundle = generateNationBundle(nation, options);
    const file = join(options.out, `${nation}.json`);
    const fd = openSync(file, 'w');
    try {
      for (const chunk of bundleJsonChunks(bundle)) writeSync(fd, chunk);
    } finally {
      closeSync(fd);
    }
    console.log(`${file}\t${bundle.objects.length} objects`);
  }
  return 0;
}

try {
  process.exitCode = main(process.argv.slice(2));
} catch (error) {
  if (error instanceof UsageError) console.error(`seed: ${error.message}\n\n${USAGE}`);
  else console.error(`seed: ${error instanceof Error ? (error.stack ?? error.message) : String(error)}`);
  process.exitCode = error instanceof UsageError ? 2 : 1;
}
