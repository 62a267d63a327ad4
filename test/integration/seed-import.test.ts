/**
 * The demo's five nations load their seed bundles through the ordinary import: nothing is rejected,
 * every cross-nation link points at an object its owner's silo really holds, and the import rate is
 * logged (set SOVGRAPH_SEED_BENCH_SIZE=100000 to measure a full-size silo).
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { CLASSIFICATIONS, TLP_LEVELS, classificationRank, tlpRank } from '../../policies';
import { openSilo, type SiloDb } from '../../subgraphs/silo/db';
import { SEED_NATIONS, generateCoalitionBundles, generateNationBundle } from '../../subgraphs/seed/generate';
import { defaultMarkingFor, importBundle, type ImportReport } from '../../subgraphs/stix';

const silos = new Map<string, SiloDb>();
const reports = new Map<string, ImportReport>();

beforeAll(async () => {
  const bundles = generateCoalitionBundles();
  for (const nation of SEED_NATIONS) {
    const db = await openSilo({ nation });
    silos.set(nation, db);
    reports.set(nation, await importBundle(db, bundles.get(nation)!, { nation, defaultMarking: defaultMarkingFor(nation) }));
  }
});
afterAll(async () => {
  await Promise.all([...silos.values()].map((db) => db.close()));
});

describe('five nations load the seed', () => {
  it('with zero rejections, and a few objects given their nation\'s default marking', () => {
    for (const [nation, report] of reports) {
      expect(report.rejected, nation).toEqual([]);
      expect(report.inserted).toBe(report.received);
      expect(report.defaultMarked).toBeGreaterThan(0);
      expect(report.keptUnexposed).toMatchObject({ identity: expect.any(Number), location: expect.any(Number) });
    }
  });

  it('holding every classification and TLP level between them', async () => {
    const seen = { classification: new Set<number>(), tlp: new Set<number>() };
    for (const db of silos.values()) {
      for (const r of await db.query<{ classification: number; tlp: number }>('SELECT DISTINCT classification, tlp FROM stix_object')) {
        seen.classification.add(r.classification);
        seen.tlp.add(r.tlp);
      }
    }
    expect(seen.classification).toEqual(new Set(CLASSIFICATIONS.map(classificationRank)));
    expect(seen.tlp).toEqual(new Set(TLP_LEVELS.map(tlpRank)));
  });

  it('indicators and incidents know their ATT&CK techniques', async () => {
    for (const db of silos.values()) {
      const rows = await db.query<{ type: string; without: number }>("SELECT type, count(*) FILTER (WHERE technique_ids = '{}')::int AS without FROM stix_object WHERE type IN ('indicator', 'incident') GROUP BY type");
      expect(rows.map((r) => r.without)).toEqual([0, 0]);
    }
  });

  it('every link to another nation points at an object that nation\'s silo holds', async () => {
    let foreign = 0;
    for (const [nation, db] of silos) {
      const links = await db.query<{ target_id: string }>('SELECT target_id FROM stix_link WHERE target_id NOT LIKE $1', [`${nation}:%`]);
      for (const { target_id } of links) {
        foreign++;
        const owner = target_id.slice(0, 3);
        const held = await silos.get(owner)!.query('SELECT 1 FROM stix_object WHERE id = $1', [target_id]);
        expect(held, `${nation} → ${target_id}`).toHaveLength(1);
      }
    }
    expect(foreign).toBeGreaterThan(10);
  });
});

describe('import rate', () => {
  it('logs objects per second for a bigger silo', async () => {
    const size = Number(process.env.SOVGRAPH_SEED_BENCH_SIZE ?? 3000);
    const bundle = generateNationBundle('FRA', { size });
    const db = await openSilo({ nation: 'FRA' });
    try {
      const report = await importBundle(db, bundle, { nation: 'FRA', defaultMarking: defaultMarkingFor('FRA') });
      expect(report.rejected).toEqual([]);
      const rate = Math.round((report.received / report.durationMs) * 1000);
      console.log(`stix import: ${report.received} objects in ${report.durationMs} ms = ${rate} objects/s (in-memory PGlite)`);
      const again = await importBundle(db, bundle, { nation: 'FRA', defaultMarking: defaultMarkingFor('FRA') });
      expect(again.unchanged).toBe(report.received);
      console.log(`stix re-import (all unchanged): ${again.durationMs} ms`);
    } finally {
      await db.close();
    }
  }, 900_000);
});
