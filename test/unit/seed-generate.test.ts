/**
 * The demo's seed data: five nations' STIX bundles, the same every time, realistic enough to show every
 * marking feature and cross-nation reference the coalition has to handle.
 */
import { join } from 'node:path';
import { readFileSync } from 'node:fs';
import { afterEach, describe, expect, it, vi } from 'vitest';
import type { Marking } from '../../policies';
import { DEFAULT_SEED_SIZE, SEED_NATIONS, generateCoalitionBundles, generateNationBundle, seedId } from '../../subgraphs/seed/generate';
import {
  SOVGRAPH_REF_OWNERS_EXTENSION_ID,
  TLP1_MARKING_IDS,
  defaultMarkingFor,
  readMarkingDefinition,
  refOwnersOf,
  resolveGranularMarkings,
  resolveObjectMarking,
  type Bundle,
  type MarkingPart,
  type StixObject,
} from '../../subgraphs/stix';
import { PUBLIC_DATA } from '../helpers/public-data';

const KEV = join(PUBLIC_DATA, 'kev/known_exploited_vulnerabilities.json');

const coalition = generateCoalitionBundles({ size: DEFAULT_SEED_SIZE });

function markingsOf(bundle: Bundle, nation: string) {
  const parts = new Map<string, MarkingPart>();
  for (const o of bundle.objects) if (o.type === 'marking-definition') parts.set(o.id, readMarkingDefinition(o));
  const lookup = (id: string) => parts.get(id);
  return bundle.objects
    .filter((o) => !o.type.endsWith('-definition'))
    .map((o) => {
      const { marking, defaulted } = resolveObjectMarking(o, lookup, defaultMarkingFor(nation));
      return { object: o, marking, defaulted, granular: resolveGranularMarkings(o, lookup, marking) };
    });
}

afterEach(() => {
  vi.restoreAllMocks();
});

describe('the seed is deterministic', () => {
  it('the same options give byte-identical bundles, without Math.random or the clock', () => {
    vi.spyOn(Math, 'random').mockImplementation(() => {
      throw new Error('Math.random used');
    });
    vi.spyOn(Date, 'now').mockImplementation(() => {
      throw new Error('Date.now used');
    });
    const again = generateCoalitionBundles({ size: DEFAULT_SEED_SIZE });
    expect([...again.keys()]).toEqual([...SEED_NATIONS]);
    for (const nation of SEED_NATIONS) expect(JSON.stringify(again.get(nation))).toBe(JSON.stringify(coalition.get(nation)));
  });

  it('another seed gives other data; each nation has its own', () => {
    const other = generateNationBundle('FRA', { seed: 'another' });
    expect(JSON.stringify(other.objects)).not.toBe(JSON.stringify(coalition.get('FRA')!.objects));
    expect(coalition.get('FRA')!.id).not.toBe(coalition.get('DEU')!.id);
  });

  it('size is roughly the number of objects per nation', () => {
    for (const bundle of coalition.values()) expect(Math.abs(bundle.objects.length - DEFAULT_SEED_SIZE)).toBeLessThan(DEFAULT_SEED_SIZE * 0.1);
    const bigger = generateNationBundle('EST', { size: 5000 });
    expect(Math.abs(bigger.objects.length - 5000)).toBeLessThan(500);
    expect(new Set(bigger.objects.map((o) => o.id)).size).toBe(bigger.objects.length);
  });
});

describe('the seed looks like real threat intelligence', () => {
  const fra = coalition.get('FRA')!.objects;
  const byType = (type: string) => fra.filter((o) => o.type === type);

  it('indicators of IPv4, domain, URL and file-hash patterns, with a collecting source, confidence and kill chain', () => {
    const patterns = byType('indicator').map((i) => i.pattern as string);
    for (const kind of ['ipv4-addr:value', 'domain-name:value', 'url:value', "file:hashes.'SHA-256'"]) expect(patterns.some((p) => p.includes(kind))).toBe(true);
    for (const indicator of byType('indicator')) {
      expect(indicator).toMatchObject({ pattern_type: 'stix', x_sovgraph_source: { name: expect.stringMatching(/^FR-CERT sensor \d+$/), kind: expect.any(String) } });
      expect(indicator.confidence).toBeGreaterThanOrEqual(30);
      expect(Date.parse(indicator.valid_from as string)).toBeLessThan(Date.parse('2025-06-01T00:00:00.000Z'));
      expect(Date.parse(indicator.valid_from as string)).toBeGreaterThan(Date.parse('2025-02-28T00:00:00.000Z'));
    }
  });

  it('real ATT&CK techniques and CVEs from the KEV catalogue', () => {
    const techniques = byType('attack-pattern').map((a) => [(a.external_references as { external_id: string }[])[0]!.external_id, a.name]);
    expect(techniques).toEqual(expect.arrayContaining([['T1566', 'Phishing'], ['T1566.001', 'Spearphishing Attachment'], ['T1190', 'Exploit Public-Facing Application'], ['T1486', 'Data Encrypted for Impact']]));
    const kev = new Set((JSON.parse(readFileSync(KEV, 'utf8')).vulnerabilities as { cveID: string }[]).map((v) => v.cveID));
    const cves = byType('vulnerability').map((v) => (v.external_references as { source_name: string; external_id: string }[])[0]!);
    expect(cves.length).toBeGreaterThan(10);
    for (const cve of cves) expect(cve.source_name === 'cve' && kev.has(cve.external_id), cve.external_id).toBe(true);
  });

  it('incidents with severity, sector, first seen, a victim, techniques, indicators, a CVE and an attribution', () => {
    const incidents = byType('incident');
    expect(incidents.length).toBeGreaterThan(3);
    const rels = byType('relationship');
    for (const incident of incidents) {
      expect(incident).toMatchObject({ x_sovgraph_severity: expect.any(String), x_sovgraph_sector: expect.any(String), x_sovgraph_first_seen: expect.any(String) });
      const out = rels.filter((r) => r.source_ref === incident.id).map((r) => `${r.relationship_type}:${(r.target_ref as string).split('--')[0]}`);
      expect(out).toEqual(expect.arrayContaining(['targets:identity', 'uses:attack-pattern']));
      expect(out.some((o) => o.startsWith('attributed-to:'))).toBe(true);
      expect(rels.some((r) => r.target_ref === incident.id && r.relationship_type === 'indicates')).toBe(true);
    }
    expect(rels.some((r) => r.relationship_type === 'related-to' && (r.target_ref as string).startsWith('vulnerability--'))).toBe(true);
  });

  it('intrusion sets and threat actors with aliases, motivation and sophistication', () => {
    const actors = [...byType('intrusion-set'), ...byType('threat-actor')];
    expect(actors.map((a) => a.name)).toEqual(expect.arrayContaining(['APT28', 'APT29', 'Sandworm Team', 'Lazarus Group', 'Turla']));
    for (const actor of actors) expect(actor).toMatchObject({ aliases: expect.any(Array), primary_motivation: expect.any(String) });
    for (const actor of byType('threat-actor')) expect(actor.sophistication).toEqual(expect.any(String));
  });
});

describe('the seed exercises every marking feature', () => {
  const all = SEED_NATIONS.flatMap((nation) => markingsOf(coalition.get(nation)!, nation));
  const markings: Marking[] = all.map((m) => m.marking);

  it('every classification and every TLP level', () => {
    expect(new Set(markings.map((m) => m.classification))).toEqual(new Set(['UNCLASSIFIED', 'RESTRICTED', 'CONFIDENTIAL', 'SECRET', 'TOP_SECRET']));
    expect(new Set(markings.map((m) => m.tlp))).toEqual(new Set(['CLEAR', 'GREEN', 'AMBER', 'AMBER_STRICT', 'RED']));
  });

  it('releasability to nations and to communities, and the NOFORN and ORCON caveats', () => {
    const targets = new Set(markings.flatMap((m) => m.releasableTo));
    for (const t of [...SEED_NATIONS, 'NATO', 'EU', 'FVEY']) expect(targets).toContain(t);
    const caveats = new Set(markings.flatMap((m) => m.caveats));
    expect(caveats).toEqual(new Set(['NOFORN', 'ORCON']));
  });

  it('objects without markings, objects with a TLP definition only, TLP 1.0 definitions, and several sovgraph definitions at once', () => {
    expect(all.filter((m) => m.defaulted).length).toBeGreaterThan(0);
    const refs = all.map((m) => (m.object.object_marking_refs as string[] | undefined) ?? []);
    expect(refs.some((r) => r.length === 1)).toBe(true);
    expect(refs.some((r) => r.some((id) => (Object.values(TLP1_MARKING_IDS) as string[]).includes(id)))).toBe(true);
    expect(refs.some((r) => r.length >= 3)).toBe(true);
  });

  it('granular markings on description, x_sovgraph_source and where_sighted_refs, each more restrictive than its object', () => {
    const granular = all.flatMap((m) => m.granular.map((g) => ({ ...g, object: m.marking })));
    const selectors = new Set(granular.flatMap((g) => g.selectors));
    expect(selectors).toEqual(new Set(['description', 'x_sovgraph_source', 'where_sighted_refs']));
    const stricter = granular.filter((g) => g.marking.classification !== g.object.classification || g.marking.tlp !== g.object.tlp || g.marking.caveats.length > g.object.caveats.length);
    expect(stricter.length).toBeGreaterThan(granular.length / 2);
  });
});

describe('the seed refers across nations', () => {
  it('a German sighting of a French indicator names it, and says France holds it', () => {
    const deu = coalition.get('DEU')!.objects;
    const fraIds = new Set(coalition.get('FRA')!.objects.map((o) => o.id));
    const sightings = deu.filter((o) => o.type === 'sighting' && fraIds.has(o.sighting_of_ref as string));
    expect(sightings.length).toBeGreaterThan(0);
    for (const s of sightings) expect(refOwnersOf(s)).toEqual({ [s.sighting_of_ref as string]: 'FRA' });
  });

  it('every foreign reference exists in the bundle of the nation ref_owners names', () => {
    const ids = new Map<string, Set<string>>(SEED_NATIONS.map((n) => [n, new Set(coalition.get(n)!.objects.map((o) => o.id))]));
    let foreign = 0;
    for (const nation of SEED_NATIONS) {
      for (const object of coalition.get(nation)!.objects as StixObject[]) {
        if (!(object.extensions as Record<string, unknown> | undefined)?.[SOVGRAPH_REF_OWNERS_EXTENSION_ID]) continue;
        for (const [ref, owner] of Object.entries(refOwnersOf(object))) {
          foreign++;
          expect(owner).not.toBe(nation);
          expect(ids.get(owner)!.has(ref), `${nation} ${object.id} → ${owner} ${ref}`).toBe(true);
          expect(ids.get(nation)!.has(ref)).toBe(false);
        }
      }
    }
    expect(foreign).toBeGreaterThan(10);
  });

  it('seedId is what other nations compute for an object', () => {
    expect(coalition.get('FRA')!.objects.some((o) => o.id === seedId('indicator', 'FRA', 0))).toBe(true);
  });
});
