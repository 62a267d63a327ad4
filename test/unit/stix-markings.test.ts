/**
 * How sovgraph reads STIX markings: TLP in its three dialects, our own marking definitions, several
 * definitions on one object, the nation's default for what nobody said, and granular markings that can
 * only make a field more restrictive.
 */
import { describe, expect, it } from 'vitest';
import { combineMarkings, type Marking } from '../../policies';
import { fieldMarkingsOf } from '../../subgraphs/kit/stix-properties';
import {
  MarkingError,
  SOVGRAPH_MARKING_EXTENSION_ID,
  TLP1_MARKING_IDS,
  TLP2_MARKING_IDS,
  defaultMarkingFor,
  markingDefinitionsFor,
  readMarkingDefinition,
  refOwnersOf,
  resolveGranularMarkings,
  resolveObjectMarking,
  sovgraphMarkingDefinition,
  tlpMarkingDefinition,
  uuidv5,
  type MarkingLookup,
  type StixObject,
} from '../../subgraphs/stix';

const FRA_DEFAULT: Marking = defaultMarkingFor('FRA');

function lookupOf(...definitions: StixObject[]): MarkingLookup {
  const parts = new Map(definitions.map((d) => [d.id, readMarkingDefinition(d)]));
  return (id) => parts.get(id) ?? (id in reverseTlp ? { tlp: reverseTlp[id] } : undefined);
}
const reverseTlp = Object.fromEntries(Object.entries(TLP2_MARKING_IDS).map(([level, id]) => [id, level])) as Record<string, Marking['tlp']>;

const indicator = (extra: Record<string, unknown>): StixObject => ({ type: 'indicator', id: 'indicator--8e2e2d2b-17d4-4cbf-938f-98ee46b3cd3f', description: 'x', ...extra });

describe('TLP, whichever way a producer writes it', () => {
  it('reads the TLP 2.0 definitions by id and by their extension', () => {
    expect(readMarkingDefinition(tlpMarkingDefinition('AMBER_STRICT'))).toEqual({ tlp: 'AMBER_STRICT' });
    expect(readMarkingDefinition(tlpMarkingDefinition('CLEAR'))).toEqual({ tlp: 'CLEAR' });
  });

  it('maps the STIX 2.1 spec TLP 1.0 ids to TLP 2.0 levels (WHITE is CLEAR)', () => {
    const def = (id: string) => ({ type: 'marking-definition', id });
    expect(readMarkingDefinition(def(TLP1_MARKING_IDS.WHITE))).toEqual({ tlp: 'CLEAR' });
    expect(readMarkingDefinition(def(TLP1_MARKING_IDS.GREEN))).toEqual({ tlp: 'GREEN' });
    expect(readMarkingDefinition(def(TLP1_MARKING_IDS.AMBER))).toEqual({ tlp: 'AMBER' });
    expect(readMarkingDefinition(def(TLP1_MARKING_IDS.RED))).toEqual({ tlp: 'RED' });
  });

  it('understands an OpenCTI-style definition with its own id (definition_type TLP, definition.TLP)', () => {
    const openCti = { type: 'marking-definition', id: 'marking-definition--826578e1-40ad-459f-bc73-ede076f81f37', definition_type: 'TLP', definition: { TLP: 'TLP:AMBER+STRICT' }, name: 'TLP:AMBER+STRICT' };
    expect(readMarkingDefinition(openCti)).toEqual({ tlp: 'AMBER_STRICT' });
  });

  it('recognises a TLP 2.0 definition by name alone', () => {
    expect(readMarkingDefinition({ type: 'marking-definition', id: 'marking-definition--0d6b1a3c-4a0e-4c47-9a3e-8a9f2f0e7d11', name: 'TLP:RED', definition_type: 'statement', definition: { statement: 'TLP:RED' } })).toEqual({ tlp: 'RED' });
  });

  it('takes the most restrictive level when a definition contradicts itself', () => {
    const forged = { type: 'marking-definition', id: TLP2_MARKING_IDS.RED, name: 'TLP:CLEAR', definition_type: 'tlp', definition: { tlp: 'white' } };
    expect(readMarkingDefinition(forged)).toEqual({ tlp: 'RED' });
  });

  it('refuses a TLP level it does not know, naming the definition', () => {
    const bad = { type: 'marking-definition', id: 'marking-definition--3e1f0c52-8a4b-4d7e-9f21-6c0b5a4d3e2f', definition_type: 'tlp', definition: { tlp: 'purple' } };
    expect(() => readMarkingDefinition(bad)).toThrow(/marking-definition--3e1f0c52.*unknown TLP level "purple"/);
  });
});

describe('sovgraph marking definitions', () => {
  it('carry classification, releasability and caveats in the sovgraph-marking extension', () => {
    const def = sovgraphMarkingDefinition({ classification: 'SECRET', releasableTo: ['NATO', 'FRA', 'DEU'], caveats: ['NOFORN'] });
    expect(def.extensions).toEqual({
      [SOVGRAPH_MARKING_EXTENSION_ID]: { extension_type: 'property-extension', classification: 'SECRET', releasable_to: ['DEU', 'FRA', 'NATO'], caveats: ['NOFORN'] },
    });
    expect(readMarkingDefinition(def)).toEqual({ classification: 'SECRET', releasableTo: ['DEU', 'FRA', 'NATO'], caveats: ['NOFORN'] });
  });

  it('get the same id for the same marking, whatever the list order, and a different id otherwise', () => {
    const a = sovgraphMarkingDefinition({ classification: 'SECRET', releasableTo: ['FRA', 'DEU'] });
    const b = sovgraphMarkingDefinition({ classification: 'SECRET', releasableTo: ['DEU', 'FRA', 'FRA'] });
    const c = sovgraphMarkingDefinition({ classification: 'SECRET', releasableTo: ['DEU'] });
    expect(a.id).toBe(b.id);
    expect(a.id).not.toBe(c.id);
    expect(a.id).toMatch(/^marking-definition--[0-9a-f]{8}-[0-9a-f]{4}-5[0-9a-f]{3}-[89ab][0-9a-f]{3}-[0-9a-f]{12}$/);
  });

  it('reject a classification or releasability they cannot mean', () => {
    const def = (ext: Record<string, unknown>) => ({ type: 'marking-definition', id: 'marking-definition--7c7c1b8e-0b5e-4a52-8a3e-2f9d1c0e4b6a', extensions: { [SOVGRAPH_MARKING_EXTENSION_ID]: { extension_type: 'property-extension', ...ext } } });
    expect(() => readMarkingDefinition(def({ classification: 'COSMIC' }))).toThrow(/classification.*unknown classification "COSMIC"/);
    expect(() => readMarkingDefinition(def({ releasable_to: [] }))).toThrow(/releasable_to: expected a non-empty list/);
    expect(() => readMarkingDefinition(def({ releasable_to: ['fra'] }))).toThrow(/"fra" is not one of the nation codes/);
  });

  it('uuidv5 matches the RFC 4122 test vector (DNS namespace, "www.example.com")', () => {
    expect(uuidv5('www.example.com', '6ba7b810-9dad-11d1-80b4-00c04fd430c8')).toBe('2ed6657d-e927-568b-95e1-2665a8aea6a2');
  });
});

describe('an object\'s effective marking', () => {
  const secretRelFraDeu = sovgraphMarkingDefinition({ classification: 'SECRET', releasableTo: ['FRA', 'DEU', 'NATO'] });
  const relFraOnly = sovgraphMarkingDefinition({ releasableTo: ['FRA', 'NATO'], caveats: ['ORCON'] });
  const lookup = lookupOf(secretRelFraDeu, relFraOnly, tlpMarkingDefinition('GREEN'));

  it('is the default marking, whole, when the object carries none', () => {
    expect(resolveObjectMarking(indicator({}), lookup, FRA_DEFAULT)).toEqual({ marking: FRA_DEFAULT, defaulted: true });
  });

  it('combines several definitions most-restrictively: highest level, intersected releasability, united caveats', () => {
    const marked = indicator({ object_marking_refs: [TLP2_MARKING_IDS.GREEN, TLP2_MARKING_IDS.AMBER, secretRelFraDeu.id, relFraOnly.id] });
    expect(resolveObjectMarking(marked, lookup, FRA_DEFAULT)).toEqual({
      marking: { classification: 'SECRET', tlp: 'AMBER', releasableTo: ['FRA', 'NATO'], caveats: ['ORCON'] },
      defaulted: false,
    });
  });

  it('fills what no definition says from the nation default (a TLP-only object is RESTRICTED, FRA eyes only)', () => {
    const marked = indicator({ object_marking_refs: [TLP2_MARKING_IDS.CLEAR] });
    expect(resolveObjectMarking(marked, lookup, FRA_DEFAULT).marking).toEqual({ classification: 'RESTRICTED', tlp: 'CLEAR', releasableTo: ['FRA'], caveats: [] });
  });

  it('refuses an unknown marking reference rather than guess (it could be more restrictive than any guess)', () => {
    const marked = indicator({ object_marking_refs: ['marking-definition--00000000-0000-4000-8000-000000000000'] });
    expect(() => resolveObjectMarking(marked, lookup, FRA_DEFAULT)).toThrow(MarkingError);
    expect(() => resolveObjectMarking(marked, lookup, FRA_DEFAULT)).toThrow(/object_marking_refs\[0\].*marking-definition--00000000/);
  });

  it('gives a granular marking only the power to restrict its field further than the object', () => {
    const objectMarking: Marking = { classification: 'SECRET', tlp: 'AMBER', releasableTo: ['DEU', 'FRA', 'NATO'], caveats: [] };
    const [tlpDef, unclassified] = markingDefinitionsFor({ classification: 'UNCLASSIFIED', tlp: 'CLEAR', releasableTo: ['FRA', 'NATO', 'USA'], caveats: ['NOFORN'] });
    const granularLookup = lookupOf(tlpDef!, unclassified!);
    const marked = indicator({ granular_markings: [{ selectors: ['description'], marking_ref: unclassified!.id }, { selectors: ['x_sovgraph_source'], marking_ref: TLP2_MARKING_IDS.CLEAR }] });
    expect(resolveGranularMarkings(marked, granularLookup, objectMarking)).toEqual([
      // UNCLASSIFIED and USA cannot loosen the object's SECRET or widen its list; NOFORN is added.
      { selectors: ['description'], marking: { classification: 'SECRET', tlp: 'AMBER', releasableTo: ['FRA', 'NATO'], caveats: ['NOFORN'] } },
      { selectors: ['x_sovgraph_source'], marking: objectMarking },
    ]);
  });
});

describe('ref_owners', () => {
  it('says which nation holds a referenced object, and refuses a malformed nation code', () => {
    const ext = (owners: unknown) => indicator({ extensions: { 'extension-definition--8e2d4c6a-1f3b-4a5c-8d7e-6b9a0c1d2e3f': { extension_type: 'property-extension', ref_owners: owners } } });
    expect(refOwnersOf(ext({ 'indicator--2f1e0d9c-8b7a-4c6d-9e5f-4a3b2c1d0e9f': 'FRA' }))).toEqual({ 'indicator--2f1e0d9c-8b7a-4c6d-9e5f-4a3b2c1d0e9f': 'FRA' });
    expect(() => refOwnersOf(ext({ 'indicator--2f1e0d9c-8b7a-4c6d-9e5f-4a3b2c1d0e9f': 'France' }))).toThrow(/"France" is not an ISO 3166 alpha-3/);
  });
});

describe('a granular marking marks every contract field that shows its property', () => {
  const FRANCE_SECRET: Marking = { classification: 'SECRET', tlp: 'AMBER', releasableTo: ['FRA'], caveats: [] };
  const marked = (selector: string) => Object.keys(fieldMarkingsOf('Indicator', [{ selectors: [selector], marking: FRANCE_SECRET }], combineMarkings)).sort();

  it('policyMarkings shows both markings: marking either of them marks it too, so it never says what the field it repeats withholds', () => {
    expect(marked('granular_markings')).toEqual(['fieldMarkings', 'policyMarkings']);
    expect(marked('object_marking_refs')).toEqual(['marking', 'policyMarkings']);
  });

  it('a property shown by one field marks that field alone', () => {
    expect(marked('x_sovgraph_source')).toEqual(['source']);
    expect(marked('kill_chain_phases.[0].phase_name')).toEqual(['killChainPhases']);
  });
});
