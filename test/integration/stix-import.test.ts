/**
 * A nation operator loads STIX 2.1 bundles into their silo: what is valid loads, what is not is
 * reported object by object, loading twice changes nothing, and references become links that know
 * which nation holds their far end.
 */
import { join } from 'node:path';
import { readFileSync } from 'node:fs';
import { afterAll, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import { classificationRank, tlpRank } from '../../policies';
import { openSilo, type SiloDb } from '../../subgraphs/silo/db';
import {
  SOVGRAPH_REF_OWNERS_EXTENSION_ID,
  StixImportError,
  TLP1_MARKING_IDS,
  TLP2_MARKING_IDS,
  defaultMarkingFor,
  importBundle,
  markingRefsFor,
  sovgraphMarkingDefinition,
  tlpMarkingDefinition,
  type StixObject,
} from '../../subgraphs/stix';
import { PUBLIC_DATA } from '../helpers/public-data';

const APT1 = join(PUBLIC_DATA, 'stix-apt1-bundle.json');

const FRA = { nation: 'FRA', defaultMarking: defaultMarkingFor('FRA') };
const DEU = { nation: 'DEU', defaultMarking: defaultMarkingFor('DEU') };

const T0 = '2025-05-01T08:00:00.000Z';
const secretRelFraDeu = sovgraphMarkingDefinition({ classification: 'SECRET', releasableTo: ['FRA', 'DEU'] });

function uuid(n: number): string {
  return `00000000-0000-4000-8000-${String(n).padStart(12, '0')}`;
}

function stix(type: string, n: number, extra: Record<string, unknown> = {}): StixObject {
  return { type, spec_version: '2.1', id: `${type}--${uuid(n)}`, created: T0, modified: T0, ...extra };
}

const phishing = stix('attack-pattern', 1, { name: 'Phishing', external_references: [{ source_name: 'mitre-attack', external_id: 'T1566' }] });
const c2 = stix('indicator', 2, {
  name: 'C2 server 203.0.113.7',
  pattern: "[ipv4-addr:value = '203.0.113.7']",
  pattern_type: 'stix',
  valid_from: '2025-04-30T00:00:00.000Z',
  object_marking_refs: [TLP2_MARKING_IDS.AMBER, secretRelFraDeu.id],
});
const indicates = stix('relationship', 3, { relationship_type: 'indicates', source_ref: c2.id, target_ref: phishing.id, object_marking_refs: [TLP2_MARKING_IDS.AMBER] });

function bundle(...objects: unknown[]) {
  return { type: 'bundle', id: `bundle--${uuid(999)}`, objects };
}

// One in-memory silo for the file (starting PGlite takes seconds), emptied before each story.
let db: SiloDb;
beforeAll(async () => {
  db = await openSilo({ nation: 'FRA' });
});
beforeEach(async () => {
  await db.query('DELETE FROM stix_link');
  await db.query('DELETE FROM stix_object');
});
afterAll(async () => {
  await db.close();
});

async function row(stixId: string) {
  const rows = await db.query<Record<string, unknown>>('SELECT * FROM stix_object WHERE stix_id = $1', [stixId]);
  return rows[0];
}

describe('a French operator imports a bundle', () => {
  it('with two broken objects, and is told which and why while the rest loads', async () => {
    const noPattern = stix('indicator', 10, { pattern_type: 'stix', valid_from: T0 });
    const badRef = stix('sighting', 11, { sighting_of_ref: 'indicator--not-a-uuid' });
    const report = await importBundle(db, bundle(tlpMarkingDefinition('AMBER'), secretRelFraDeu, phishing, noPattern, c2, badRef, indicates), FRA);

    expect(report.rejected).toEqual([
      { index: 3, id: noPattern.id, type: 'indicator', reason: 'pattern: missing (required)' },
      { index: 5, id: badRef.id, type: 'sighting', reason: 'sighting_of_ref: "indicator--not-a-uuid" is not a STIX identifier ("<type>--<uuid>")' },
    ]);
    expect(report).toMatchObject({ received: 7, inserted: 5, updated: 0, unchanged: 0 });
    expect(report.byType.indicator).toEqual({ received: 2, inserted: 1, updated: 0, unchanged: 0, rejected: 1 });
    expect(await row(noPattern.id)).toBeUndefined();
    expect(await row(c2.id)).toMatchObject({ id: `FRA:${c2.id}`, nation: 'FRA', type: 'indicator' });
  });

  it('and every kind of invalid object is reported with its reason, none silently dropped', async () => {
    const cases: [unknown, RegExp][] = [
      ['just a string', /expected a JSON object/],
      [{ ...stix('indicator', 20), type: 'Indicator' }, /type: "Indicator" is not a STIX type name/],
      [{ ...stix('indicator', 21), id: 'malware--00000000-0000-4000-8000-000000000021' }, /id: .* must be "indicator--<uuid>"/],
      [{ ...stix('vulnerability', 22, { name: 'x' }), spec_version: undefined }, /spec_version: missing/],
      [stix('vulnerability', 23, { name: 'x', spec_version: '2.0' }), /spec_version: "2.0" is not supported/],
      [stix('vulnerability', 24, { name: 'x', created: 'yesterday' }), /created: "yesterday" is not an RFC 3339 UTC timestamp/],
      [stix('vulnerability', 25, { name: 'x', created: '2025-02-30T00:00:00.000Z' }), /created: "2025-02-30T00:00:00.000Z" is not an RFC 3339/],
      [stix('vulnerability', 26, { name: 'x', modified: '2024-01-01T00:00:00.000Z' }), /modified: .* is earlier than created/],
      [stix('vulnerability', 27), /name: missing \(required\)/],
      [stix('indicator', 28, { pattern: 'x', pattern_type: 'stix' }), /valid_from: missing/],
      [stix('indicator', 29, { pattern: 'x', pattern_type: 'stix', valid_from: T0, valid_until: '2025-01-01T00:00:00.000Z' }), /valid_until: .* must be later than valid_from/],
      [stix('relationship', 30, { relationship_type: 'uses', source_ref: c2.id }), /target_ref: missing/],
      [stix('relationship', 31, { relationship_type: 'uses', source_ref: c2.id, target_ref: secretRelFraDeu.id }), /target_ref: .* cannot be the end of a relationship/],
      [stix('sighting', 32, { sighting_of_ref: c2.id, where_sighted_refs: [phishing.id] }), /where_sighted_refs\[0\]: .* must refer to an identity or a location/],
      [stix('sighting', 33, { sighting_of_ref: c2.id, count: -1 }), /count: -1 must be an integer from 0 to 999999999/],
      [stix('incident', 34, { name: 'x', severity: 'high' }), /severity: not allowed .*use a custom property/],
      [stix('incident', 35, { name: 'x', labels: [] }), /labels: empty list/],
      [stix('incident', 36, { name: 'x', description: null }), /description: null is not a STIX value/],
      [stix('incident', 37, { name: 'x', 'Bad-Name': 1 }), /property "Bad-Name": STIX property names/],
      [stix('incident', 38, { name: 'x', object_marking_refs: [`marking-definition--${uuid(404)}`] }), /object_marking_refs\[0\]: .*neither a known TLP marking nor a marking-definition/],
      [stix('incident', 39, { name: 'x', granular_markings: [{ selectors: ['Description!'], marking_ref: TLP2_MARKING_IDS.RED }] }), /granular_markings\[0\].selectors: "Description!" is not a STIX selector/],
      [stix('vulnerability', 40, { name: 'x', external_references: [{ source_name: 'cve', external_id: 'CVE-21-1' }] }), /external_references\[0\]: source_name "cve" needs an external_id like CVE-/],
      [stix('vulnerability', 41, { name: 'x', extensions: { 'my-extension': { a: 1 } } }), /extensions: key "my-extension" is neither/],
      [stix('vulnerability', 42, { name: 'x', extensions: { [SOVGRAPH_REF_OWNERS_EXTENSION_ID]: { extension_type: 'property-extension', ref_owners: { [c2.id]: 'fr' } } } }), /ref_owners\[.*\]: "fr" is not an ISO 3166 alpha-3/],
      [{ type: 'marking-definition', spec_version: '2.1', id: `marking-definition--${uuid(43)}`, created: T0 }, /needs "definition_type" and "definition", or "extensions"/],
      [{ type: 'bundle', id: `bundle--${uuid(44)}` }, /a bundle cannot be nested/],
    ];
    const report = await importBundle(db, bundle(...cases.map(([object]) => object), phishing), FRA);
    expect(report.rejected).toHaveLength(cases.length);
    report.rejected.forEach((rejected, i) => {
      expect(rejected.index).toBe(i);
      expect(rejected.reason).toMatch(cases[i]![1]);
    });
    expect(report.inserted).toBe(1);
    expect(report.received).toBe(report.inserted + report.updated + report.unchanged + report.rejected.length);
  });

  it('that is not a bundle at all, and is told so before anything is written', async () => {
    await expect(importBundle(db, [c2], FRA)).rejects.toThrow(/bundle: expected a JSON object with "type": "bundle"/);
    await expect(importBundle(db, { type: 'bundle', objects: {} }, FRA)).rejects.toThrow(StixImportError);
    await expect(importBundle(db, { type: 'bundle', objects: 'x' }, FRA)).rejects.toThrow(/"objects" must be a list of STIX objects/);
    await expect(importBundle(db, bundle(c2), { ...FRA, nation: 'France' })).rejects.toThrow(/options.nation "France" is not an ISO 3166 alpha-3/);
    expect(await db.query('SELECT 1 FROM stix_object')).toEqual([]);
  });
});

describe('importing is idempotent', () => {
  it('the same bundle twice: everything unchanged the second time, nothing rewritten', async () => {
    const objects = [tlpMarkingDefinition('AMBER'), secretRelFraDeu, phishing, c2, indicates];
    const first = await importBundle(db, bundle(...objects), FRA);
    expect(first).toMatchObject({ received: 5, inserted: 5, rejected: [] });
    const before = await db.query('SELECT * FROM stix_object ORDER BY id');
    const second = await importBundle(db, bundle(...objects), FRA);
    expect(second).toMatchObject({ received: 5, inserted: 0, updated: 0, unchanged: 5, rejected: [], definitionsAdded: 0 });
    expect(await db.query('SELECT * FROM stix_object ORDER BY id')).toEqual(before);
  });

  it('a newer modified replaces the stored version; an older or equal one does not', async () => {
    await importBundle(db, bundle(tlpMarkingDefinition('AMBER'), secretRelFraDeu, c2), FRA);
    const newer = { ...c2, modified: '2025-05-02T08:00:00.000Z', confidence: 90 };
    expect(await importBundle(db, bundle(newer), FRA)).toMatchObject({ updated: 1, unchanged: 0 });
    const older = { ...c2, modified: '2025-05-01T09:00:00.000Z', confidence: 10 };
    expect(await importBundle(db, bundle(older, newer), FRA)).toMatchObject({ updated: 0, unchanged: 2 });
    const stored = await row(c2.id);
    expect((stored!.doc as StixObject).confidence).toBe(90);
  });

  it('two versions in one bundle: the newest wins, the other counts as unchanged', async () => {
    const v2 = { ...c2, modified: '2025-05-03T00:00:00.000Z', name: 'v2' };
    const report = await importBundle(db, bundle(tlpMarkingDefinition('AMBER'), secretRelFraDeu, v2, c2), FRA);
    expect(report).toMatchObject({ inserted: 3, unchanged: 1 });
    expect(((await row(c2.id))!.doc as StixObject).name).toBe('v2');
  });

  it('a stored marking definition cannot be redefined, and whatever it marks in that bundle is refused with it', async () => {
    await importBundle(db, bundle(tlpMarkingDefinition('AMBER'), secretRelFraDeu, c2), FRA);
    const loosened = { ...secretRelFraDeu, extensions: sovgraphMarkingDefinition({ classification: 'UNCLASSIFIED' }).extensions };
    const victim = stix('indicator', 50, { ...c2, id: `indicator--${uuid(50)}` });
    const report = await importBundle(db, bundle(loosened, victim), FRA);
    expect(report.rejected.map((r) => r.id)).toEqual([secretRelFraDeu.id, victim.id]);
    expect(report.rejected[0]!.reason).toMatch(/already stored with different content \(marking definitions are immutable\)/);
    expect(report.rejected[1]!.reason).toMatch(new RegExp(`marked with ${secretRelFraDeu.id}, which was rejected`));
  });
});

describe('markings become comparable columns', () => {
  it('object markings, granular markings and the default for unmarked objects', async () => {
    const unmarked = stix('indicator', 60, { pattern: "[domain-name:value = 'x.example']", pattern_type: 'stix', valid_from: T0 });
    const noforn = sovgraphMarkingDefinition({ classification: 'TOP_SECRET', caveats: ['NOFORN'] });
    const granular = { ...c2, granular_markings: [{ selectors: ['name'], marking_ref: noforn.id }, { selectors: ['pattern'], marking_ref: TLP2_MARKING_IDS.RED }] };
    const tlp1 = stix('indicator', 61, { pattern: 'x', pattern_type: 'stix', valid_from: T0, object_marking_refs: [TLP1_MARKING_IDS.WHITE] });
    const report = await importBundle(db, bundle(tlpMarkingDefinition('AMBER'), secretRelFraDeu, noforn, granular, unmarked, tlp1), FRA);
    expect(report).toMatchObject({ rejected: [], defaultMarked: 1 });

    expect(await row(c2.id)).toMatchObject({ classification: classificationRank('SECRET'), tlp: tlpRank('AMBER'), releasable_to: ['DEU', 'FRA'], caveats: [] });
    expect((await row(c2.id))!.granular).toEqual([
      { selectors: ['name'], marking: { classification: 'TOP_SECRET', tlp: 'AMBER', releasableTo: ['DEU', 'FRA'], caveats: ['NOFORN'] } },
      { selectors: ['pattern'], marking: { classification: 'SECRET', tlp: 'RED', releasableTo: ['DEU', 'FRA'], caveats: [] } },
    ]);
    const defaulted = await row(unmarked.id);
    expect(defaulted).toMatchObject({ classification: classificationRank('RESTRICTED'), tlp: tlpRank('AMBER'), releasable_to: ['FRA'], caveats: [] });
    // The default is written into the document, so an export says what the silo applied.
    expect((defaulted!.doc as StixObject).object_marking_refs).toEqual(markingRefsFor(defaultMarkingFor('FRA')));
    // TLP:WHITE (1.0) is CLEAR; classification and releasability come from the default.
    expect(await row(tlp1.id)).toMatchObject({ classification: classificationRank('RESTRICTED'), tlp: tlpRank('CLEAR'), releasable_to: ['FRA'] });
    // The definitions the export needs are in the silo, whether or not the bundle carried them.
    const definitions = await db.query<{ stix_id: string }>("SELECT stix_id FROM stix_object WHERE type = 'marking-definition'");
    expect(definitions.map((d) => d.stix_id)).toEqual(expect.arrayContaining([...markingRefsFor(defaultMarkingFor('FRA')), TLP1_MARKING_IDS.WHITE, TLP2_MARKING_IDS.RED]));
  });
});

describe('references become links', () => {
  it('a relationship, sighting refs and created_by_ref, with the technique of the attack pattern an indicator indicates', async () => {
    const cert = stix('identity', 70, { name: 'CERT-FR', identity_class: 'organization' });
    const sensor = stix('identity', 71, { name: 'FR-CERT sensor 12', identity_class: 'system' });
    const sighting = stix('sighting', 72, { sighting_of_ref: c2.id, where_sighted_refs: [sensor.id], created_by_ref: cert.id, count: 3 });
    await importBundle(db, bundle(tlpMarkingDefinition('AMBER'), secretRelFraDeu, phishing, c2, indicates, cert, sensor, sighting), FRA);
    // (sovgraph's own definitions, added for export, have created-by links too: left out here)
    const links = await db.query("SELECT source_id, kind, target_id, via FROM stix_link WHERE source_id NOT LIKE '%-definition--%' ORDER BY kind, source_id");
    expect(links).toEqual([
      { source_id: `FRA:${sighting.id}`, kind: 'created-by', target_id: `FRA:${cert.id}`, via: null },
      { source_id: `FRA:${c2.id}`, kind: 'indicates', target_id: `FRA:${phishing.id}`, via: `FRA:${indicates.id}` },
      { source_id: `FRA:${sighting.id}`, kind: 'sighting-of', target_id: `FRA:${c2.id}`, via: null },
      { source_id: `FRA:${sighting.id}`, kind: 'where-sighted', target_id: `FRA:${sensor.id}`, via: null },
    ]);
    expect((await row(c2.id))!.technique_ids).toEqual(['T1566']);
  });

  it('a German sighting of a French indicator points at the French silo, as its ref_owners says', async () => {
    const deu = await openSilo({ nation: 'DEU' });
    try {
      const sighting = stix('sighting', 80, { sighting_of_ref: c2.id, extensions: { [SOVGRAPH_REF_OWNERS_EXTENSION_ID]: { extension_type: 'property-extension', ref_owners: { [c2.id]: 'FRA' } } } });
      const local = stix('sighting', 81, { sighting_of_ref: `indicator--${uuid(82)}` });
      expect(await importBundle(deu, bundle(sighting, local), DEU)).toMatchObject({ inserted: 2, rejected: [] });
      const links = await deu.query<{ source_id: string; target_id: string }>("SELECT source_id, target_id FROM stix_link WHERE kind = 'sighting-of' ORDER BY source_id");
      expect(links).toEqual([
        { source_id: `DEU:${sighting.id}`, target_id: `FRA:${c2.id}` },
        // No ref_owners entry: the far end is assumed to be German.
        { source_id: `DEU:${local.id}`, target_id: `DEU:indicator--${uuid(82)}` },
      ]);
    } finally {
      await deu.close();
    }
  });

  it('techniques follow later imports: an attack pattern that arrives after the relationship still counts', async () => {
    await importBundle(db, bundle(tlpMarkingDefinition('AMBER'), secretRelFraDeu, c2, indicates), FRA);
    expect((await row(c2.id))!.technique_ids).toEqual([]);
    await importBundle(db, bundle(phishing), FRA);
    expect((await row(c2.id))!.technique_ids).toEqual(['T1566']);
    const retargeted = { ...indicates, modified: '2025-05-09T00:00:00.000Z', target_ref: `attack-pattern--${uuid(90)}` };
    await importBundle(db, bundle(retargeted), FRA);
    expect((await row(c2.id))!.technique_ids).toEqual([]);
  });

  it('list order times: validFrom for indicators, lastSeen for sightings, first seen for incidents', async () => {
    const sighting = stix('sighting', 91, { sighting_of_ref: c2.id, first_seen: '2025-04-01T00:00:00.000Z', last_seen: '2025-04-03T00:00:00.000Z' });
    const incident = stix('incident', 92, { name: 'x', x_sovgraph_first_seen: '2025-03-01T00:00:00.000Z' });
    await importBundle(db, bundle(tlpMarkingDefinition('AMBER'), secretRelFraDeu, c2, sighting, incident), FRA);
    const times = await db.query<{ type: string; sort_time: Date }>('SELECT type, sort_time FROM stix_object WHERE type IN ($1, $2, $3) ORDER BY type', ['indicator', 'sighting', 'incident']);
    expect(times.map((t) => [t.type, t.sort_time.toISOString()])).toEqual([
      ['incident', '2025-03-01T00:00:00.000Z'],
      ['indicator', '2025-04-30T00:00:00.000Z'],
      ['sighting', '2025-04-03T00:00:00.000Z'],
    ]);
  });
});

describe('a real bundle written elsewhere', () => {
  it('the OASIS APT1 report imports cleanly: 76 objects, none rejected, all given the default marking', async () => {
    const apt1 = JSON.parse(readFileSync(APT1, 'utf8'));
    const report = await importBundle(db, apt1, FRA);
    expect(report).toMatchObject({ received: 76, inserted: 76, rejected: [], defaultMarked: 76 });
    expect(report.keptUnexposed).toEqual({ identity: 4, malware: 6, tool: 10, report: 1 });
    const counts = await db.query<{ n: number }>("SELECT count(*)::int AS n FROM stix_object WHERE classification = $1 AND tlp = $2 AND releasable_to = '{FRA}' AND type <> 'marking-definition' AND type <> 'extension-definition' AND stix_id NOT LIKE 'identity--5f1c2a3b%'", [classificationRank('RESTRICTED'), tlpRank('AMBER')]);
    expect(counts[0]!.n).toBe(76);
  });
});
