/**
 * STIX 2.1 markings as sovgraph reads and writes them.
 *
 * An object's marking has four components (policies' `Marking`): classification, TLP, releasable-to
 * and caveats. STIX carries them as `object_marking_refs` to marking-definition objects:
 * - TLP comes from TLP definitions: the TLP 2.0 ones (OASIS extension), the TLP 1.0 ones of the STIX 2.1
 *   spec, `definition_type: "tlp"` definitions (OpenCTI, older producers) and definitions named "TLP:…".
 * - classification, releasability and caveats come from sovgraph's own marking definitions, which carry
 *   the property extension `SOVGRAPH_MARKING_EXTENSION_ID` (documented on `SOVGRAPH_MARKING_EXTENSION`).
 * Several definitions combine as `combineMarkings` does (most restrictive), per component; a component
 * no definition states is taken from the nation's default marking.
 *
 * A second property extension, `SOVGRAPH_REF_OWNERS_EXTENSION_ID`, may sit on any object: it names the
 * nation that holds an object this one refers to but that is not held here (a German sighting of a
 * French indicator).
 */
import { createHash } from 'node:crypto';
import {
  CLASSIFICATIONS,
  classificationRank,
  combineMarkings,
  isNationCode,
  parseClassification,
  parseTlp,
  tlpRank,
  type Classification,
  type Marking,
  type Tlp,
} from '../../policies';

/** Any STIX object: a JSON object with at least a type and an id. */
export interface StixObject {
  type: string;
  id: string;
  [property: string]: unknown;
}

export interface Bundle {
  type: 'bundle';
  id: string;
  objects: StixObject[];
}

/** A STIX granular marking resolved to a full marking (already combined with its object's marking). */
export interface GranularMarking {
  /** STIX selectors, as in the bundle: `description`, `x_sovgraph_source`, `kill_chain_phases.[0]`. */
  selectors: string[];
  marking: Marking;
}

/** What one marking definition (or several, combined) says: each component is optional. */
export interface MarkingPart {
  classification?: Classification;
  tlp?: Tlp;
  releasableTo?: string[];
  caveats?: string[];
}

/** A marking that cannot be resolved: the import rejects the object and gives this message as reason. */
export class MarkingError extends Error {
  override name = 'MarkingError';
}

// ---------------------------------------------------------------------------------------------------
// Well-known TLP marking definitions

/** OASIS TLP 2.0 extension definition: TLP 2.0 marking definitions carry `tlp_2_0` under this key. */
export const TLP2_EXTENSION_ID = 'extension-definition--60a3c5c5-0d10-413e-aab3-9e08dde9e88d';

export const TLP2_MARKING_IDS: Readonly<Record<Tlp, string>> = {
  CLEAR: 'marking-definition--94868c89-83c2-464b-929b-a1a8aa3c8487',
  GREEN: 'marking-definition--bab4a63c-aed9-4cf5-a766-dfca5abac2bb',
  AMBER: 'marking-definition--55d920b0-5e8b-4f79-9ee9-91f868d9b421',
  AMBER_STRICT: 'marking-definition--939a9414-2ddd-4d32-a0cd-375ea402b003',
  RED: 'marking-definition--e828b379-4e03-4974-9ac4-e53a884c97c1',
};

/** TLP 1.0 definitions of the STIX 2.1 spec (§7.2.1.4), still common in real bundles. */
export const TLP1_MARKING_IDS = {
  WHITE: 'marking-definition--613f2e26-407d-48c7-9eca-b8e91df99dc9',
  GREEN: 'marking-definition--34098fce-860f-48ae-8e50-ebd3cc5e41da',
  AMBER: 'marking-definition--f88d31f6-486f-44da-b317-01333bde0b82',
  RED: 'marking-definition--5e57c739-391a-4eb3-b6be-7d15ca92d5ed',
} as const;
export type Tlp1Level = keyof typeof TLP1_MARKING_IDS;

const TLP1_TO_TLP2: Readonly<Record<Tlp1Level, Tlp>> = { WHITE: 'CLEAR', GREEN: 'GREEN', AMBER: 'AMBER', RED: 'RED' };

const WELL_KNOWN_TLP = new Map<string, Tlp>([
  ...Object.entries(TLP2_MARKING_IDS).map(([level, id]) => [id, level as Tlp] as const),
  ...Object.entries(TLP1_MARKING_IDS).map(([level, id]) => [id, TLP1_TO_TLP2[level as Tlp1Level]] as const),
]);

/** The TLP level of a well-known TLP marking-definition id, whether or not its object is at hand. */
export function wellKnownTlp(markingId: string): Tlp | undefined {
  return WELL_KNOWN_TLP.get(markingId);
}

/** The standard TLP 2.0 marking-definition object for a level, exactly as OASIS publishes it. */
export function tlpMarkingDefinition(tlp: Tlp): StixObject {
  const label = tlp === 'AMBER_STRICT' ? 'amber+strict' : tlp.toLowerCase();
  return {
    type: 'marking-definition',
    spec_version: '2.1',
    id: TLP2_MARKING_IDS[tlp],
    created: '2022-10-01T00:00:00.000Z',
    name: `TLP:${label.toUpperCase()}`,
    extensions: { [TLP2_EXTENSION_ID]: { extension_type: 'property-extension', tlp_2_0: label } },
  };
}

/** The standard TLP 1.0 marking-definition object of the STIX 2.1 spec. */
export function tlp1MarkingDefinition(level: Tlp1Level): StixObject {
  return {
    type: 'marking-definition',
    spec_version: '2.1',
    id: TLP1_MARKING_IDS[level],
    created: '2017-01-20T00:00:00.000Z',
    definition_type: 'tlp',
    name: `TLP:${level}`,
    definition: { tlp: level.toLowerCase() },
  };
}

/** The standard definition object for a well-known TLP id (so an export is self-contained). */
export function wellKnownMarkingDefinition(markingId: string): StixObject | undefined {
  for (const [level, id] of Object.entries(TLP2_MARKING_IDS)) if (id === markingId) return tlpMarkingDefinition(level as Tlp);
  for (const [level, id] of Object.entries(TLP1_MARKING_IDS)) if (id === markingId) return tlp1MarkingDefinition(level as Tlp1Level);
  return undefined;
}

// ---------------------------------------------------------------------------------------------------
// sovgraph's own identity and extension definitions (fixed, so every silo and bundle agrees on them)

/** Creation time of sovgraph's fixed objects: they never change, so neither does this. */
export const SOVGRAPH_DEFINITIONS_CREATED = '2025-01-01T00:00:00.000Z';

export const SOVGRAPH_IDENTITY_ID = 'identity--5f1c2a3b-7d4e-4f6a-9b8c-0d1e2f3a4b5c';
export const SOVGRAPH_MARKING_EXTENSION_ID = 'extension-definition--3b0f6f1e-5c4a-4d8e-9a3b-2f1c7d6e8a90';
export const SOVGRAPH_REF_OWNERS_EXTENSION_ID = 'extension-definition--8e2d4c6a-1f3b-4a5c-8d7e-6b9a0c1d2e3f';

/** The publisher of sovgraph's extension definitions. Marked TLP:CLEAR: it is public. */
export const SOVGRAPH_IDENTITY: StixObject = {
  type: 'identity',
  spec_version: '2.1',
  id: SOVGRAPH_IDENTITY_ID,
  created: SOVGRAPH_DEFINITIONS_CREATED,
  modified: SOVGRAPH_DEFINITIONS_CREATED,
  name: 'sovgraph',
  identity_class: 'system',
  description: 'sovgraph, a federated GraphQL API over national cyber-defense data silos: publisher of the sovgraph STIX extensions.',
  object_marking_refs: [TLP2_MARKING_IDS.CLEAR],
};

/**
 * sovgraph-marking: a property extension of marking-definition objects.
 *
 * ```json
 * "extensions": {
 *   "extension-definition--3b0f6f1e-5c4a-4d8e-9a3b-2f1c7d6e8a90": {
 *     "extension_type": "property-extension",
 *     "classification": "SECRET",              // UNCLASSIFIED | RESTRICTED | CONFIDENTIAL | SECRET | TOP_SECRET
 *     "releasable_to": ["FRA", "DEU", "NATO"], // ISO 3166 alpha-3 nations and community names
 *     "caveats": ["NOFORN"]                    // handling caveats, e.g. NOFORN, ORCON
 *   }
 * }
 * ```
 * Each of the three properties is optional (STIX forbids empty lists: leave a list out instead). An
 * object marked by several definitions gets the highest classification, the intersection of the
 * releasability lists and the union of the caveats; a component no definition states comes from the
 * importing nation's default marking. TLP is not part of this extension: use a TLP definition beside it.
 * The extension is read on marking-definition objects only; anywhere else it is ignored, so it can
 * never mark an object by itself.
 */
export const SOVGRAPH_MARKING_EXTENSION: StixObject = {
  type: 'extension-definition',
  spec_version: '2.1',
  id: SOVGRAPH_MARKING_EXTENSION_ID,
  created: SOVGRAPH_DEFINITIONS_CREATED,
  modified: SOVGRAPH_DEFINITIONS_CREATED,
  created_by_ref: SOVGRAPH_IDENTITY_ID,
  name: 'sovgraph-marking',
  description:
    'National security markings on a marking-definition: classification, releasability (nations and communities) and handling caveats.',
  schema:
    'Property extension of marking-definition objects. Properties, each optional: classification (string, one of ' +
    `${CLASSIFICATIONS.join(', ')}); releasable_to (non-empty list of ISO 3166 alpha-3 nation codes and community names such as NATO, EU, FVEY); ` +
    'caveats (non-empty list of handling caveats such as NOFORN, ORCON). Several definitions on one object combine: highest classification, ' +
    'intersection of releasable_to, union of caveats. Components no definition states take the holder nation\'s default marking.',
  version: '1.0.0',
  extension_types: ['property-extension'],
  object_marking_refs: [TLP2_MARKING_IDS.CLEAR],
};

/**
 * sovgraph-ref-owners: a property extension any object may carry.
 *
 * ```json
 * "extensions": {
 *   "extension-definition--8e2d4c6a-1f3b-4a5c-8d7e-6b9a0c1d2e3f": {
 *     "extension_type": "property-extension",
 *     "ref_owners": { "indicator--<uuid>": "FRA" }
 *   }
 * }
 * ```
 * `ref_owners` maps the STIX id of an object this one refers to (sighting_of_ref, a relationship's
 * source_ref/target_ref, where_sighted_refs, …) to the nation that holds it. It is only consulted for
 * ids the importing silo does not hold itself.
 */
export const SOVGRAPH_REF_OWNERS_EXTENSION: StixObject = {
  type: 'extension-definition',
  spec_version: '2.1',
  id: SOVGRAPH_REF_OWNERS_EXTENSION_ID,
  created: SOVGRAPH_DEFINITIONS_CREATED,
  modified: SOVGRAPH_DEFINITIONS_CREATED,
  created_by_ref: SOVGRAPH_IDENTITY_ID,
  name: 'sovgraph-ref-owners',
  description: 'Which nation holds an object that this object refers to but that is held in another nation\'s silo.',
  schema:
    'Property extension of any STIX object. Property: ref_owners (object): each key is the STIX id of an object referred to by this ' +
    'object (sighting_of_ref, source_ref, target_ref, where_sighted_refs, observed_data_refs, created_by_ref), each value the ISO 3166 ' +
    'alpha-3 code of the nation that holds it. Consulted only for ids the importing silo does not hold.',
  version: '1.0.0',
  extension_types: ['property-extension'],
  object_marking_refs: [TLP2_MARKING_IDS.CLEAR],
};

/** sovgraph's fixed objects, in dependency order: every silo that imports holds them, for export. */
export function sovgraphDefinitionObjects(): StixObject[] {
  return [tlpMarkingDefinition('CLEAR'), SOVGRAPH_IDENTITY, SOVGRAPH_MARKING_EXTENSION, SOVGRAPH_REF_OWNERS_EXTENSION].map((o) => structuredClone(o));
}

// ---------------------------------------------------------------------------------------------------
// Deterministic ids

/** Namespace of sovgraph's name-based (v5) UUIDs. */
export const SOVGRAPH_UUID_NAMESPACE = 'c1b5a6d2-3e4f-5a6b-8c7d-9e0f1a2b3c4d';

/** RFC 4122 name-based UUID, version 5 (SHA-1): the same name always yields the same id. */
export function uuidv5(name: string, namespace: string = SOVGRAPH_UUID_NAMESPACE): string {
  const ns = Buffer.from(namespace.replace(/-/g, ''), 'hex');
  if (ns.length !== 16) throw new Error(`uuidv5: namespace "${namespace}" is not a UUID`);
  const hash = createHash('sha1').update(ns).update(name, 'utf8').digest();
  hash[6] = (hash[6]! & 0x0f) | 0x50;
  hash[8] = (hash[8]! & 0x3f) | 0x80;
  const hex = hash.subarray(0, 16).toString('hex');
  return `${hex.slice(0, 8)}-${hex.slice(8, 12)}-${hex.slice(12, 16)}-${hex.slice(16, 20)}-${hex.slice(20, 32)}`;
}

// ---------------------------------------------------------------------------------------------------
// Building sovgraph marking definitions

const RELEASE_TARGET = /^[A-Z][A-Z0-9_]{1,31}$/;
const CAVEAT = /^[A-Z][A-Z0-9_-]{1,31}$/;

/** Sorted, de-duplicated: list order carries no meaning, and the id must not depend on it. */
function normaliseList(values: readonly string[]): string[] {
  return [...new Set(values)].sort();
}

/**
 * The sovgraph marking-definition for the non-TLP components of a part. Its id is a v5 UUID of the
 * content, so the same marking always yields the same definition (and the same id in every silo).
 */
export function sovgraphMarkingDefinition(part: Omit<MarkingPart, 'tlp'>): StixObject {
  const ext: Record<string, unknown> = { extension_type: 'property-extension' };
  const label: string[] = [];
  if (part.classification) {
    ext.classification = part.classification;
    label.push(part.classification);
  }
  if (part.releasableTo?.length) {
    ext.releasable_to = normaliseList(part.releasableTo);
    label.push(`REL TO ${(ext.releasable_to as string[]).join(', ')}`);
  }
  if (part.caveats?.length) {
    ext.caveats = normaliseList(part.caveats);
    label.push(...(ext.caveats as string[]));
  }
  if (label.length === 0) throw new Error('sovgraphMarkingDefinition: the marking states no classification, releasability or caveat');
  const key = `classification=${ext.classification ?? ''};releasable_to=${(ext.releasable_to as string[] | undefined)?.join(',') ?? ''};caveats=${(ext.caveats as string[] | undefined)?.join(',') ?? ''}`;
  return {
    type: 'marking-definition',
    spec_version: '2.1',
    id: `marking-definition--${uuidv5(`sovgraph-marking:${key}`)}`,
    created: SOVGRAPH_DEFINITIONS_CREATED,
    created_by_ref: SOVGRAPH_IDENTITY_ID,
    name: `SOVGRAPH:${label.join(' // ')}`,
    extensions: { [SOVGRAPH_MARKING_EXTENSION_ID]: ext },
  };
}

/** The marking definitions that express a full marking: its TLP 2.0 definition and its sovgraph one. */
export function markingDefinitionsFor(marking: Marking): [StixObject, StixObject] {
  return [tlpMarkingDefinition(marking.tlp), sovgraphMarkingDefinition(marking)];
}

/** `object_marking_refs` for a full marking. */
export function markingRefsFor(marking: Marking): string[] {
  return markingDefinitionsFor(marking).map((d) => d.id);
}

/** A nation's default marking for objects that arrive unmarked: RESTRICTED, TLP:AMBER, for its own eyes. */
export function defaultMarkingFor(nation: string): Marking {
  if (!isNationCode(nation)) throw new Error(`defaultMarkingFor: "${nation}" is not an ISO 3166 alpha-3 nation code`);
  return { classification: 'RESTRICTED', tlp: 'AMBER', releasableTo: [nation], caveats: [] };
}

// ---------------------------------------------------------------------------------------------------
// Reading marking definitions

/** What a marking-definition object says, or a MarkingError naming what is wrong with it. */
export function readMarkingDefinition(def: StixObject): MarkingPart {
  const part: MarkingPart = {};
  const tlps = tlpSignals(def);
  if (tlps.length) part.tlp = tlps.reduce((a, b) => (tlpRank(b) > tlpRank(a) ? b : a));
  const ext = extensionOf(def, SOVGRAPH_MARKING_EXTENSION_ID);
  if (ext) Object.assign(part, readSovgraphMarking(ext, def.id));
  return part;
}

/**
 * Every TLP level a definition claims, by its id, TLP 2.0 extension, `definition_type: "tlp"` or name.
 * The caller takes the most restrictive, so a definition that contradicts itself cannot under-mark.
 */
function tlpSignals(def: StixObject): Tlp[] {
  const levels: Tlp[] = [];
  const known = wellKnownTlp(def.id);
  if (known) levels.push(known);
  const tlp2 = extensionOf(def, TLP2_EXTENSION_ID)?.tlp_2_0;
  if (tlp2 !== undefined) levels.push(readTlpLabel(tlp2, `${def.id}: extensions.${TLP2_EXTENSION_ID}.tlp_2_0`));
  if (typeof def.definition_type === 'string' && def.definition_type.toLowerCase() === 'tlp') {
    levels.push(readTlpLabel(tlpOfDefinition(def.definition), `${def.id}: definition.tlp`));
  }
  const byName = typeof def.name === 'string' ? /^TLP:\s*(CLEAR|WHITE|GREEN|AMBER\+STRICT|AMBER|RED)$/i.exec(def.name.trim()) : null;
  if (byName) levels.push(readTlpLabel(byName[1], `${def.id}: name`));
  return levels;
}

/** `definition.tlp`, or OpenCTI's `definition.TLP` ("TLP:AMBER+STRICT"). */
function tlpOfDefinition(definition: unknown): unknown {
  if (!isPlainObject(definition)) return undefined;
  const key = Object.keys(definition).find((k) => k.toLowerCase() === 'tlp');
  return key === undefined ? undefined : definition[key];
}

function readTlpLabel(value: unknown, where: string): Tlp {
  if (typeof value !== 'string') throw new MarkingError(`${where}: expected a TLP level as a string, got ${describe(value)}`);
  const bare = value.trim().replace(/^TLP:\s*/i, '');
  const level = bare.toUpperCase() === 'WHITE' ? 'CLEAR' : bare;
  try {
    return parseTlp(level, where);
  } catch (error) {
    throw new MarkingError((error as Error).message);
  }
}

function readSovgraphMarking(ext: Record<string, unknown>, where: string): MarkingPart {
  const at = `${where}: sovgraph-marking extension`;
  const part: MarkingPart = {};
  if (ext.classification !== undefined) {
    if (typeof ext.classification !== 'string') throw new MarkingError(`${at}: classification must be a string, got ${describe(ext.classification)}`);
    try {
      part.classification = parseClassification(ext.classification, `${at}: classification`);
    } catch (error) {
      throw new MarkingError((error as Error).message);
    }
  }
  if (ext.releasable_to !== undefined) part.releasableTo = readCodeList(ext.releasable_to, RELEASE_TARGET, `${at}: releasable_to`, 'nation codes or community names');
  if (ext.caveats !== undefined) part.caveats = readCodeList(ext.caveats, CAVEAT, `${at}: caveats`, 'caveats');
  return part;
}

function readCodeList(value: unknown, shape: RegExp, where: string, what: string): string[] {
  if (!Array.isArray(value) || value.length === 0) throw new MarkingError(`${where}: expected a non-empty list of ${what}, got ${describe(value)}`);
  for (const item of value) {
    if (typeof item !== 'string' || !shape.test(item)) throw new MarkingError(`${where}: ${describe(item)} is not one of the ${what} (upper-case, e.g. FRA, NATO, NOFORN)`);
  }
  return normaliseList(value as string[]);
}

// ---------------------------------------------------------------------------------------------------
// Resolving an object's markings

/** Looks up what a marking-definition id says; undefined when the id is unknown. */
export type MarkingLookup = (markingId: string) => MarkingPart | undefined;

/** Combines parts component by component, most restrictive; components no part states stay absent. */
export function combineParts(parts: readonly MarkingPart[]): MarkingPart {
  const out: MarkingPart = {};
  for (const p of parts) {
    if (p.classification && (!out.classification || classificationRank(p.classification) > classificationRank(out.classification))) out.classification = p.classification;
    if (p.tlp && (!out.tlp || tlpRank(p.tlp) > tlpRank(out.tlp))) out.tlp = p.tlp;
    if (p.releasableTo) out.releasableTo = out.releasableTo ? out.releasableTo.filter((r) => p.releasableTo!.includes(r)) : [...p.releasableTo];
    if (p.caveats) out.caveats = normaliseList([...(out.caveats ?? []), ...p.caveats]);
  }
  return out;
}

/** A full marking: the part's components, the others from `base`. */
export function fillMarking(part: MarkingPart, base: Marking): Marking {
  return {
    classification: part.classification ?? base.classification,
    tlp: part.tlp ?? base.tlp,
    releasableTo: normaliseList(part.releasableTo ?? base.releasableTo),
    caveats: normaliseList(part.caveats ?? base.caveats),
  };
}

function lookupOrThrow(lookup: MarkingLookup, markingId: unknown, where: string): MarkingPart {
  const part = typeof markingId === 'string' ? lookup(markingId) : undefined;
  if (!part) throw new MarkingError(`${where}: ${describe(markingId)} is neither a known TLP marking nor a marking-definition in the bundle or the silo`);
  return part;
}

export interface ResolvedMarking {
  marking: Marking;
  /** True when the object had no object_marking_refs and got the default marking whole. */
  defaulted: boolean;
}

/**
 * The effective object marking: its object_marking_refs combined, the missing components from the
 * default. An unknown marking reference throws: guessing could under-mark the object.
 */
export function resolveObjectMarking(object: StixObject, lookup: MarkingLookup, defaultMarking: Marking): ResolvedMarking {
  const refs = object.object_marking_refs;
  if (refs === undefined || (Array.isArray(refs) && refs.length === 0)) return { marking: fillMarking({}, defaultMarking), defaulted: true };
  if (!Array.isArray(refs)) throw new MarkingError(`object_marking_refs: expected a list of marking-definition ids, got ${describe(refs)}`);
  const parts = refs.map((ref, i) => lookupOrThrow(lookup, ref, `object_marking_refs[${i}]`));
  return { marking: fillMarking(combineParts(parts), defaultMarking), defaulted: false };
}

/**
 * The object's granular markings, each as a full marking. A granular marking can only restrict its
 * field further: its components are combined with the object marking, never substituted for it.
 * Language-only granular markings (`lang`, no `marking_ref`) carry no restriction and are skipped.
 */
export function resolveGranularMarkings(object: StixObject, lookup: MarkingLookup, objectMarking: Marking): GranularMarking[] {
  const entries = object.granular_markings;
  if (entries === undefined) return [];
  if (!Array.isArray(entries)) throw new MarkingError(`granular_markings: expected a list, got ${describe(entries)}`);
  const out: GranularMarking[] = [];
  entries.forEach((entry, i) => {
    if (!isPlainObject(entry) || entry.marking_ref === undefined) return;
    const part = lookupOrThrow(lookup, entry.marking_ref, `granular_markings[${i}].marking_ref`);
    const marking = combineMarkings(objectMarking, fillMarking(part, objectMarking));
    out.push({ selectors: [...(entry.selectors as string[])], marking: { ...marking, releasableTo: normaliseList(marking.releasableTo) } });
  });
  return out;
}

// ---------------------------------------------------------------------------------------------------
// ref_owners

/** The ref_owners map of an object's sovgraph-ref-owners extension ({} when it has none). */
export function refOwnersOf(object: StixObject): Record<string, string> {
  const ext = extensionOf(object, SOVGRAPH_REF_OWNERS_EXTENSION_ID);
  if (!ext) return {};
  const owners = ext.ref_owners;
  if (!isPlainObject(owners)) throw new MarkingError(`extensions.${SOVGRAPH_REF_OWNERS_EXTENSION_ID}.ref_owners: expected an object { "<stix id>": "<nation>" }, got ${describe(owners)}`);
  for (const [ref, nation] of Object.entries(owners)) {
    if (!isNationCode(nation)) throw new MarkingError(`extensions.${SOVGRAPH_REF_OWNERS_EXTENSION_ID}.ref_owners["${ref}"]: ${describe(nation)} is not an ISO 3166 alpha-3 nation code`);
  }
  return owners as Record<string, string>;
}

/** The extensions entry that records who holds foreign referenced objects. */
export function refOwnersExtension(owners: Record<string, string>): Record<string, unknown> {
  return { [SOVGRAPH_REF_OWNERS_EXTENSION_ID]: { extension_type: 'property-extension', ref_owners: { ...owners } } };
}

// ---------------------------------------------------------------------------------------------------
// small helpers

export function isPlainObject(value: unknown): value is Record<string, unknown> {
  return typeof value === 'object' && value !== null && !Array.isArray(value);
}

function extensionOf(object: StixObject, extensionId: string): Record<string, unknown> | undefined {
  const extensions = object.extensions;
  if (!isPlainObject(extensions)) return undefined;
  const ext = extensions[extensionId];
  return isPlainObject(ext) ? ext : undefined;
}

/** A short rendering of a value for error messages. */
export function describe(value: unknown): string {
  if (value === undefined) return 'nothing';
  const text = JSON.stringify(value);
  return text.length > 80 ? `${text.slice(0, 77)}...` : text;
}
