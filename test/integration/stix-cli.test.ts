/**
 * A nation operator drives STIX from the command line, as the README shows: write the seed bundles,
 * import one into the nation's silo directory, import a bad one, export the silo again.
 */
import { execFile } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { afterAll, describe, expect, it } from 'vitest';

const ROOT = fileURLToPath(new URL('../../', import.meta.url));
const work = mkdtempSync(join(tmpdir(), 'sovgraph-stix-cli-'));

interface Run {
  code: number;
  stdout: string;
  stderr: string;
}

function cli(script: 'stix' | 'seed', args: string[]): Promise<Run> {
  const env = { ...process.env };
  delete env.DATABASE_URL;
  return new Promise((resolve) => {
    execFile(process.execPath, ['--import', 'tsx', join(ROOT, `subgraphs/cli/${script}.ts`), ...args], { cwd: ROOT, env, maxBuffer: 64 * 1024 * 1024 }, (error, stdout, stderr) => {
      resolve({ code: error ? (typeof error.code === 'number' ? error.code : 1) : 0, stdout, stderr });
    });
  });
}

afterAll(() => {
  rmSync(work, { recursive: true, force: true });
});

describe('stix and seed on the command line', () => {
  const bundles = join(work, 'bundles');
  const silo = join(work, 'silos', 'FRA');

  it('seed writes one bundle per nation', async () => {
    const run = await cli('seed', ['--out', bundles, '--size', '150', '--nations', 'FRA,DEU']);
    expect(run.code, run.stderr).toBe(0);
    expect(run.stdout).toMatch(/FRA\.json\t\d+ objects\n.*DEU\.json\t\d+ objects/s);
    expect(JSON.parse(readFileSync(join(bundles, 'FRA.json'), 'utf8')).type).toBe('bundle');
  });

  it('import --strict loads the French bundle and prints the report as JSON', async () => {
    const run = await cli('stix', ['import', '--nation', 'FRA', '--data', silo, '--strict', join(bundles, 'FRA.json')]);
    expect(run.code, run.stderr).toBe(0);
    const report = JSON.parse(run.stdout);
    expect(report).toMatchObject({ nation: 'FRA', rejected: [], updated: 0 });
    expect(report.inserted).toBe(report.received);
    expect(run.stderr).toMatch(/objects\/s/);
  });

  it('a bundle with a broken object: reported on stdout; exit 1 only with --strict', async () => {
    const broken = join(work, 'broken.json');
    const bad = { type: 'indicator', spec_version: '2.1', id: 'indicator--1b1c1d1e-2f2a-4b3c-8d4e-5f6a7b8c9d0e', created: '2025-05-01T00:00:00.000Z', modified: '2025-05-01T00:00:00.000Z', pattern_type: 'stix', valid_from: '2025-05-01T00:00:00.000Z' };
    writeFileSync(broken, JSON.stringify({ type: 'bundle', id: 'bundle--1b1c1d1e-2f2a-4b3c-8d4e-5f6a7b8c9d0f', objects: [bad] }));
    const strict = await cli('stix', ['import', '--nation', 'FRA', '--data', silo, '--strict', broken]);
    expect(strict.code).toBe(1);
    expect(JSON.parse(strict.stdout).rejected).toEqual([{ index: 0, id: bad.id, type: 'indicator', reason: 'pattern: missing (required)' }]);
    const lenient = await cli('stix', ['import', '--nation', 'FRA', '--data', silo, broken]);
    expect(lenient.code).toBe(0);
  });

  it('export --out writes the silo back as a bundle', async () => {
    const out = join(work, 'FRA-export.json');
    const run = await cli('stix', ['export', '--nation', 'FRA', '--data', silo, '--out', out]);
    expect(run.code, run.stderr).toBe(0);
    const exported = JSON.parse(readFileSync(out, 'utf8'));
    const original = JSON.parse(readFileSync(join(bundles, 'FRA.json'), 'utf8'));
    expect(exported.type).toBe('bundle');
    const ids = new Set(exported.objects.map((o: { id: string }) => o.id));
    for (const o of original.objects) expect(ids).toContain(o.id);
  });

  it('usage errors say what is wrong', async () => {
    const noNation = await cli('stix', ['import', 'x.json']);
    expect(noNation.code).toBe(2);
    expect(noNation.stderr).toMatch(/--nation is required/);
    const badCommand = await cli('stix', ['load', '--nation', 'FRA']);
    expect(badCommand.stderr).toMatch(/unknown command "load"/);
    const notJson = join(work, 'not.json');
    writeFileSync(notJson, '{ nope');
    const parse = await cli('stix', ['import', '--nation', 'FRA', '--data', silo, notJson]);
    expect(parse.code).toBe(1);
    expect(parse.stderr).toMatch(/not\.json: not valid JSON/);
    const seed = await cli('seed', ['--size', '10']);
    expect(seed.code).toBe(2);
    expect(seed.stderr).toMatch(/--out DIR is required/);
  });
});
