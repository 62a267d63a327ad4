/**
 * Loads a STIX 2.1 bundle into one nation's silo.
 *
 * Every object is validated on its own: an invalid one is reported (index, id, type, reason) and the
 * rest still loads; nothing is dropped silently. Loading is idempotent: objects are upserted by STIX id
 * and only a newer `modified` replaces what is stored. Each stored object gets its marking resolved into
 * comparable columns (so visibility can be decided in SQL) and its references become `stix_link` rows
 * with global ids, which may point at objects held by other nations.
 *
 * The validation mirrors the OASIS STIX 2.1 JSON Schemas on the points that matter here, so that what is
 * accepted also exports as a schema-valid bundle.
 */
import type { SiloDb, SiloQueryable } from '../silo/db';
import { classificationRank, isClassification, isNationCode, isTlp, tlpRank, type Marking } from '../../policies';
import {
  MarkingError,
  describe,
  isPlainObject,
  markingDefinitionsFor,
  markingRefsFor,
  readMarkingDefinition,
  refOwnersOf,
  resolveGranularMarkings,
  resolveObjectMarking,
  sovgraphDefinitionObjects,
  wellKnownMarkingDefinition,
  wellKnownTlp,
  type GranularMarking,
  type MarkingPart,
  type StixObject,
} from './markings';

export interface ImportOptions {
  /** The silo's nation, ISO 3166 alpha-3: owner of every object imported, first part of global ids. */
  nation: string;
  /** Marking given to objects that arrive with no object_marking_refs, and that fills missing components. */
  defaultMarking: Marking;
  /** Rows per INSERT statement. */
  batchSize?: number;
}

export interface RejectedObject {
  /** Position in the bundle's `objects` array. */
  index: number;
  id: string | null;
  type: string | null;
  reason: string;
}

export interface TypeCounts {
  received: number;
  inserted: number;
  updated: number;
  unchanged: number;
  rejected: number;
}

export interface ImportReport {
  nation: string;
  /** Objects in the bundle. received = inserted + updated + unchanged + rejected.length. */
  received: number;
  inserted: number;
  updated: number;
  /** Already stored with the same or a newer `modified` (or superseded by a newer copy in the same bundle). */
  unchanged: number;
  rejected: RejectedObject[];
  /** Accepted objects that had no object_marking_refs and were given the default marking. */
  defaultMarked: number;
  /** Accepted objects of types the contract does not expose, kept for export: { type: count }. */
  keptUnexposed: Record<string, number>;
  byType: Record<string, TypeCounts>;
  /**
   * Definitions the import added although the bundle did not carry them (sovgraph's extension definitions
   * and their identity, the default marking's definitions, standard TLP definitions referred to by id), so
   * that an export is self-contained. Not counted in received/inserted.
   */
  definitionsAdded: number;
  durationMs: number;
}

/** The bundle as a whole is unusable (not a bundle, no objects list, bad options): nothing was imported. */
export class StixImportError extends Error {
  override name = 'StixImportError';
}

/** STIX types the contract exposes or uses to build what it exposes. */
export const EXPOSED_TYPES: ReadonlySet<string> = new Set(['indicator', 'sighting', 'incident', 'threat-actor', 'intrusion-set', 'attack-pattern', 'vulnerability', 'relationship']);
/** Definitions: stored for export and for resolving markings, neither exposed nor counted as kept. */
const DEFINITION_TYPES: ReadonlySet<string> = new Set(['marking-definition', 'extension-definition']);

/** Link kinds through which indicators and incidents get their ATT&CK techniques. */
const TECHNIQUE_LINK_KINDS = ['indicates', 'uses', 'related-to'];

/** created/modified/sort_time of objects that have no timestamps (cyber observables). */
const EPOCH = '1970-01-01T00:00:00.000Z';

export async function importBundle(db: SiloDb, bundle: unknown, options: ImportOptions): Promise<ImportReport> {
  const started = performance.now();
  checkOptions(options);
  const objects = readBundle(bundle);
  const report = emptyReport(options.nation, objects.length);
  const candidates = validateAll(objects, report);
  const support = supportObjects(candidates.map((c) => c.object), options.defaultMarking);
  await db.transaction(async (tx) => {
    const silo = await readSiloState(tx, candidates, support);
    const rows = planImport(candidates, support, silo, options, report);
    await upsertObjects(tx, rows, options.batchSize ?? 1000);
    const relinked = await replaceLinks(tx, rows);
    await fixTechniques(tx, rows, relinked);
  });
  report.rejected.sort((a, b) => a.index - b.index);
  report.durationMs = Math.round(performance.now() - started);
  return report;
}

// ---------------------------------------------------------------------------------------------------
// bundle and options

function checkOptions(options: ImportOptions): void {
  if (!isNationCode(options?.nation)) throw new StixImportError(`importBundle: options.nation ${describe(options?.nation)} is not an ISO 3166 alpha-3 nation code (e.g. FRA)`);
  const m = options.defaultMarking;
  const ok = isPlainObject(m) && isClassification(m.classification) && isTlp(m.tlp) && Array.isArray(m.releasableTo) && Array.isArray(m.caveats);
  if (!ok) throw new StixImportError(`importBundle: options.defaultMarking must be a full marking { classification, tlp, releasableTo, caveats }, got ${describe(m)}`);
}

function readBundle(bundle: unknown): unknown[] {
  if (!isPlainObject(bundle)) throw new StixImportError(`bundle: expected a JSON object with "type": "bundle", got ${describe(bundle)}`);
  if (bundle.type !== 'bundle') throw new StixImportError(`bundle: "type" must be "bundle", got ${describe(bundle.type)}`);
  if (bundle.id !== undefined && (typeof bundle.id !== 'string' || !IDENTIFIER.test(bundle.id) || !bundle.id.startsWith('bundle--'))) {
    throw new StixImportError(`bundle: "id" must be "bundle--<uuid>", got ${describe(bundle.id)}`);
  }
  if (!Array.isArray(bundle.objects)) throw new StixImportError(`bundle: "objects" must be a list of STIX objects, got ${describe(bundle.objects)}`);
  return bundle.objects;
}

function emptyReport(nation: string, received: number): ImportReport {
  return { nation, received, inserted: 0, updated: 0, unchanged: 0, rejected: [], defaultMarked: 0, keptUnexposed: {}, byType: {}, definitionsAdded: 0, durationMs: 0 };
}

function countType(report: ImportReport, type: string | null, outcome: keyof Omit<TypeCounts, 'received'> | 'received'): void {
  const key = type ?? '(no type)';
  const counts = (report.byType[key] ??= { received: 0, inserted: 0, updated: 0, unchanged: 0, rejected: 0 });
  counts[outcome]++;
}

function reject(report: ImportReport, index: number, object: unknown, reason: string): void {
  const o = isPlainObject(object) ? object : {};
  const type = typeof o.type === 'string' ? o.type : null;
  report.rejected.push({ index, id: typeof o.id === 'string' ? o.id : null, type, reason });
  countType(report, type, 'rejected');
}

// ---------------------------------------------------------------------------------------------------
// validation

class Invalid extends Error {}

const IDENTIFIER = /^[a-z][a-z0-9-]+[a-z0-9]--[0-9a-fA-F]{8}-[0-9a-fA-F]{4}-[1-5][0-9a-fA-F]{3}-[89abAB][0-9a-fA-F]{3}-[0-9a-fA-F]{12}$/;

/** `<type>--<uuid>`, as import accepts it: every id a silo holds has this shape. */
export function isStixIdentifier(value: unknown): value is string {
  return typeof value === 'string' && IDENTIFIER.test(value);
}
// Equivalent to the schema's `^([a-z][a-z0-9]*)+(-[a-z0-9]+)*\-?$` without its catastrophic backtracking.
const TYPE_NAME = /^[a-z][a-z0-9]*(-[a-z0-9]+)*-?$/;
const PROPERTY_NAME = /^[a-z][a-z0-9_]{2,249}$/;
const TIMESTAMP = /^\d{4}-(0[1-9]|1[012])-(0[1-9]|[12]\d|3[01])T([01]\d|2[0-3]):[0-5]\d:([0-5]\d|60)(\.\d+)?Z$/;
const MILLIS = /T\d{2}:\d{2}:\d{2}\.\d{3,}Z$/;
const SELECTOR = /^([a-z0-9_-]{3,249}(\.(\[\d+\]|[a-z0-9_-]{1,250}))*|id)$/;
const EXTENSION_KEY = /^(extension-definition--[0-9a-fA-F]{8}-[0-9a-fA-F]{4}-[1-5][0-9a-fA-F]{3}-[89abAB][0-9a-fA-F]{3}-[0-9a-fA-F]{12}|[a-z][a-z0-9]*(-[a-z0-9]+)*-ext)$/;
const EXTENSION_TYPES = ['new-sdo', 'new-sco', 'new-sro', 'property-extension', 'toplevel-property-extension'];
const CVE = /^CVE-\d{4}-(0\d{3}|[1-9]\d{3,})$/;
const CAPEC = /^CAPEC-\d+$/;

const SCO_TYPES: ReadonlySet<string> = new Set([
  'artifact', 'autonomous-system', 'directory', 'domain-name', 'email-addr', 'email-message', 'file', 'ipv4-addr', 'ipv6-addr',
  'mac-addr', 'mutex', 'network-traffic', 'process', 'software', 'url', 'user-account', 'windows-registry-key', 'x509-certificate',
]);
/** Properties the OASIS core schema forbids on SDOs/SROs (they belong to other object kinds). */
const CORE_FORBIDDEN = ['severity', 'action', 'username', 'phone_numbers'];
/** Timestamp properties, wherever they appear at the top level. */
const TIMESTAMP_PROPERTIES = ['valid_from', 'valid_until', 'first_seen', 'last_seen', 'first_observed', 'last_observed', 'published', 'start_time', 'stop_time', 'x_sovgraph_first_seen'];
/** Reference properties that must name objects of given types. */
const SRO_FORBIDDEN_ENDS = /^(relationship|sighting|bundle|marking-definition|language-content)--/;

type ObjectKind = 'sdo' | 'sco' | 'marking-definition';

interface Candidate {
  index: number;
  object: StixObject;
  kind: ObjectKind;
  /** Added by the import itself (sovgraph definitions): not counted in the report's object counts. */
  support: boolean;
}

function validateAll(objects: unknown[], report: ImportReport): Candidate[] {
  const byId = new Map<string, Candidate>();
  objects.forEach((object, index) => {
    try {
      const candidate = { index, object: object as StixObject, kind: validateObject(object), support: false };
      countType(report, candidate.object.type, 'received');
      keepNewest(byId, candidate, report);
    } catch (error) {
      if (!(error instanceof Invalid)) throw error;
      countType(report, isPlainObject(object) && typeof object.type === 'string' ? object.type : null, 'received');
      reject(report, index, object, error.message);
    }
  });
  return [...byId.values()];
}

/** STIX allows several versions of one object in a bundle: the newest is imported, older ones are unchanged. */
function keepNewest(byId: Map<string, Candidate>, candidate: Candidate, report: ImportReport): void {
  const previous = byId.get(candidate.object.id);
  if (!previous) return void byId.set(candidate.object.id, candidate);
  const order = compareVersions(candidate.object, previous.object);
  if (order === 0 && canonicalJson(candidate.object) !== canonicalJson(previous.object)) {
    return reject(report, candidate.index, candidate.object, `same id and version as objects[${previous.index}] but different content`);
  }
  const [kept, dropped] = order > 0 ? [candidate, previous] : [previous, candidate];
  byId.set(kept.object.id, kept);
  report.unchanged++;
  countType(report, dropped.object.type, 'unchanged');
}

function validateObject(value: unknown): ObjectKind {
  if (!isPlainObject(value)) throw new Invalid(`expected a JSON object, got ${describe(value)}`);
  const type = value.type;
  if (typeof type !== 'string' || type.length < 3 || type.length > 250 || !TYPE_NAME.test(type)) {
    throw new Invalid(`type: ${describe(type)} is not a STIX type name (lower-case letters, digits and hyphens, 3 to 250 characters)`);
  }
  if (type === 'bundle') throw new Invalid('type: a bundle cannot be nested inside a bundle');
  const id = value.id;
  if (typeof id !== 'string' || !IDENTIFIER.test(id) || id.slice(0, id.indexOf('--')) !== type) {
    throw new Invalid(`id: ${describe(id)} must be "${type}--<uuid>" (RFC 4122 UUID)`);
  }
  const kind = kindOf(value as StixObject);
  checkPropertyNames(value);
  checkSpecVersion(value, kind);
  if (kind === 'sdo') checkVersioning(value);
  if (kind === 'marking-definition') checkMarkingDefinition(value);
  checkCommonProperties(value, kind);
  TYPE_RULES[type]?.(value);
  return kind;
}

/** Custom types without timestamps are custom observables; every other custom type is an SDO. */
function kindOf(o: StixObject): ObjectKind {
  if (o.type === 'marking-definition') return 'marking-definition';
  if (SCO_TYPES.has(o.type) || (!(o.type in TYPE_RULES) && o.created === undefined && o.modified === undefined)) return 'sco';
  return 'sdo';
}

function checkPropertyNames(o: Record<string, unknown>): void {
  for (const [name, value] of Object.entries(o)) {
    if (name !== 'id' && !PROPERTY_NAME.test(name)) {
      throw new Invalid(`property "${name}": STIX property names are 3 to 250 characters of a-z, 0-9 and _, starting with a letter`);
    }
    if (value === null) throw new Invalid(`${name}: null is not a STIX value (leave the property out instead)`);
    if (Array.isArray(value) && value.length === 0) throw new Invalid(`${name}: empty list (STIX forbids empty lists: leave the property out instead)`);
  }
}

function checkSpecVersion(o: Record<string, unknown>, kind: ObjectKind): void {
  if (kind === 'sco' && o.spec_version === undefined) return;
  if (o.spec_version === '2.1') return;
  if (o.spec_version === undefined) throw new Invalid('spec_version: missing (STIX 2.1 objects must say "spec_version": "2.1"; STIX 2.0 is not accepted)');
  throw new Invalid(`spec_version: ${describe(o.spec_version)} is not supported (only "2.1")`);
}

function checkVersioning(o: Record<string, unknown>): void {
  for (const name of ['created', 'modified']) {
    const value = o[name];
    if (value === undefined) throw new Invalid(`${name}: missing (required on every STIX 2.1 domain and relationship object)`);
    checkTimestamp(value, name);
    if (!MILLIS.test(value as string)) throw new Invalid(`${name}: ${describe(value)} must be precise to the millisecond (e.g. 2025-01-31T12:00:00.000Z)`);
  }
  if (compareTimestamps(o.modified as string, o.created as string) < 0) throw new Invalid(`modified: ${o.modified} is earlier than created ${o.created}`);
  for (const name of CORE_FORBIDDEN) {
    if (o[name] !== undefined) throw new Invalid(`${name}: not allowed on a STIX 2.1 domain or relationship object by the OASIS schema (use a custom property such as x_<producer>_${name})`);
  }
}

function checkMarkingDefinition(o: Record<string, unknown>): void {
  if (o.created === undefined) throw new Invalid('created: missing (required on marking definitions)');
  checkTimestamp(o.created, 'created');
  if (o.extensions === undefined && (o.definition_type === undefined || o.definition === undefined)) {
    throw new Invalid('a marking definition needs "definition_type" and "definition", or "extensions" (as TLP 2.0 and sovgraph markings have)');
  }
  if (o.definition_type !== undefined && typeof o.definition_type !== 'string') throw new Invalid(`definition_type: expected a string, got ${describe(o.definition_type)}`);
  if (o.definition !== undefined && !isPlainObject(o.definition)) throw new Invalid(`definition: expected an object, got ${describe(o.definition)}`);
  if (o.definition_type === 'statement' && typeof (o.definition as Record<string, unknown>).statement !== 'string') {
    throw new Invalid('definition.statement: a statement marking needs its statement text');
  }
}

function checkCommonProperties(o: Record<string, unknown>, kind: ObjectKind): void {
  for (const [name, value] of Object.entries(o)) {
    if (name.endsWith('_ref')) checkIdentifier(value, name);
    else if (name.endsWith('_refs')) checkIdentifierList(value, name);
  }
  for (const name of TIMESTAMP_PROPERTIES) if (o[name] !== undefined) checkTimestamp(o[name], name);
  if (o.object_marking_refs !== undefined) checkIdentifierList(o.object_marking_refs, 'object_marking_refs', 'marking-definition');
  if (o.granular_markings !== undefined) checkGranularMarkings(o.granular_markings);
  if (o.external_references !== undefined) checkExternalReferences(o.external_references);
  if (o.extensions !== undefined) checkExtensions(o.extensions);
  if (o.kill_chain_phases !== undefined) checkKillChainPhases(o.kill_chain_phases);
  if (o.labels !== undefined) checkStringList(o.labels, 'labels');
  if (o.revoked !== undefined && typeof o.revoked !== 'boolean') throw new Invalid(`revoked: expected true or false, got ${describe(o.revoked)}`);
  if (o.lang !== undefined && typeof o.lang !== 'string') throw new Invalid(`lang: expected a language tag, got ${describe(o.lang)}`);
  if (kind === 'sdo' && o.confidence !== undefined) checkInteger(o.confidence, 'confidence', 0, 100);
}

function checkTimestamp(value: unknown, where: string): void {
  if (typeof value !== 'string' || !TIMESTAMP.test(value) || !isRealDate(value)) {
    throw new Invalid(`${where}: ${describe(value)} is not an RFC 3339 UTC timestamp (e.g. 2025-01-31T12:00:00.000Z)`);
  }
}

/** The regex lets 2025-02-30 through; Date rolls it over instead of refusing it, so compare back. */
function isRealDate(value: string): boolean {
  const date = new Date(value.replace(/:60(\.\d+)?Z$/, ':59Z'));
  return !Number.isNaN(date.getTime()) && date.toISOString().slice(0, 10) === value.slice(0, 10) && date.getUTCFullYear() >= 1;
}

function checkIdentifier(value: unknown, where: string, type?: string): void {
  if (typeof value !== 'string' || !IDENTIFIER.test(value)) throw new Invalid(`${where}: ${describe(value)} is not a STIX identifier ("<type>--<uuid>")`);
  if (type && !value.startsWith(`${type}--`)) throw new Invalid(`${where}: ${describe(value)} must refer to a ${type}`);
}

function checkIdentifierList(value: unknown, where: string, type?: string): void {
  if (!Array.isArray(value)) throw new Invalid(`${where}: expected a list of STIX identifiers, got ${describe(value)}`);
  value.forEach((item, i) => checkIdentifier(item, `${where}[${i}]`, type));
}

function checkStringList(value: unknown, where: string): void {
  if (!Array.isArray(value) || value.some((v) => typeof v !== 'string')) throw new Invalid(`${where}: expected a list of strings, got ${describe(value)}`);
}

function checkString(o: Record<string, unknown>, name: string): void {
  if (typeof o[name] !== 'string') throw new Invalid(`${name}: ${o[name] === undefined ? 'missing (required)' : `expected a string, got ${describe(o[name])}`}`);
}

function checkInteger(value: unknown, where: string, min: number, max: number): void {
  if (typeof value !== 'number' || !Number.isInteger(value) || value < min || value > max) {
    throw new Invalid(`${where}: ${describe(value)} must be an integer from ${min} to ${max}`);
  }
}

function checkGranularMarkings(value: unknown): void {
  if (!Array.isArray(value)) throw new Invalid(`granular_markings: expected a list, got ${describe(value)}`);
  value.forEach((entry, i) => {
    const at = `granular_markings[${i}]`;
    if (!isPlainObject(entry)) throw new Invalid(`${at}: expected an object { selectors, marking_ref }, got ${describe(entry)}`);
    if (!Array.isArray(entry.selectors) || entry.selectors.length === 0) throw new Invalid(`${at}.selectors: expected a non-empty list of selectors`);
    for (const selector of entry.selectors) {
      if (typeof selector !== 'string' || !SELECTOR.test(selector)) {
        throw new Invalid(`${at}.selectors: ${describe(selector)} is not a STIX selector (e.g. "description", "kill_chain_phases.[0].phase_name")`);
      }
    }
    checkIdentifier(entry.marking_ref, `${at}.marking_ref`, 'marking-definition');
  });
}

function checkExternalReferences(value: unknown): void {
  if (!Array.isArray(value)) throw new Invalid(`external_references: expected a list, got ${describe(value)}`);
  value.forEach((ref, i) => {
    const at = `external_references[${i}]`;
    if (!isPlainObject(ref) || typeof ref.source_name !== 'string') throw new Invalid(`${at}: expected an object with a source_name, got ${describe(ref)}`);
    const id = ref.external_id;
    if (id !== undefined && typeof id !== 'string') throw new Invalid(`${at}.external_id: expected a string, got ${describe(id)}`);
    if (ref.source_name === 'cve' && !(typeof id === 'string' && CVE.test(id))) throw new Invalid(`${at}: source_name "cve" needs an external_id like CVE-2021-44228, got ${describe(id)}`);
    if (ref.source_name === 'capec' && !(typeof id === 'string' && CAPEC.test(id))) throw new Invalid(`${at}: source_name "capec" needs an external_id like CAPEC-163, got ${describe(id)}`);
    if (ref.source_name !== 'cve' && ref.source_name !== 'capec') {
      if (typeof id === 'string' && (CVE.test(id) || CAPEC.test(id))) throw new Invalid(`${at}: external_id "${id}" needs source_name "${id.startsWith('CVE') ? 'cve' : 'capec'}"`);
      if (id === undefined && ref.description === undefined && ref.url === undefined) throw new Invalid(`${at}: needs an external_id, a description or a url`);
    }
    if (ref.url !== undefined && !isUrl(ref.url)) throw new Invalid(`${at}.url: ${describe(ref.url)} is not an absolute URL`);
  });
}

function isUrl(value: unknown): boolean {
  if (typeof value !== 'string') return false;
  try {
    return Boolean(new URL(value).protocol);
  } catch {
    return false;
  }
}

function checkExtensions(value: unknown): void {
  if (!isPlainObject(value) || Object.keys(value).length === 0) throw new Invalid(`extensions: expected a non-empty object keyed by extension, got ${describe(value)}`);
  try {
    refOwnersOf({ type: '', id: '', extensions: value });
  } catch (error) {
    throw new Invalid((error as Error).message);
  }
  for (const [key, ext] of Object.entries(value)) {
    if (!EXTENSION_KEY.test(key)) throw new Invalid(`extensions: key "${key}" is neither "extension-definition--<uuid>" nor a predefined "<name>-ext"`);
    if (!isPlainObject(ext) || Object.keys(ext).length === 0) throw new Invalid(`extensions.${key}: expected a non-empty object, got ${describe(ext)}`);
    if (key.startsWith('extension-definition--') && !EXTENSION_TYPES.includes(ext.extension_type as string)) {
      throw new Invalid(`extensions.${key}.extension_type: ${describe(ext.extension_type)} is not one of ${EXTENSION_TYPES.join(', ')}`);
    }
  }
}

function checkKillChainPhases(value: unknown): void {
  if (!Array.isArray(value)) throw new Invalid(`kill_chain_phases: expected a list, got ${describe(value)}`);
  value.forEach((phase, i) => {
    if (!isPlainObject(phase) || typeof phase.kill_chain_name !== 'string' || typeof phase.phase_name !== 'string') {
      throw new Invalid(`kill_chain_phases[${i}]: expected { kill_chain_name, phase_name } strings, got ${describe(phase)}`);
    }
  });
}

function checkNotAfter(o: Record<string, unknown>, earlier: string, later: string, strict: boolean): void {
  if (o[earlier] === undefined || o[later] === undefined) return;
  const order = compareTimestamps(o[later] as string, o[earlier] as string);
  if (order < 0 || (strict && order === 0)) throw new Invalid(`${later}: ${o[later]} must be ${strict ? 'later than' : 'no earlier than'} ${earlier} ${o[earlier]}`);
}

const named = (o: Record<string, unknown>) => checkString(o, 'name');
const withObjectRefs = (o: Record<string, unknown>) => {
  if (o.object_refs === undefined) throw new Invalid('object_refs: missing (required)');
};

/** Required and type-specific properties, per STIX 2.1 type. */
const TYPE_RULES: Record<string, (o: Record<string, unknown>) => void> = {
  indicator(o) {
    checkString(o, 'pattern');
    checkString(o, 'pattern_type');
    if (o.valid_from === undefined) throw new Invalid('valid_from: missing (required on indicators)');
    checkNotAfter(o, 'valid_from', 'valid_until', true);
    if (o.indicator_types !== undefined) checkStringList(o.indicator_types, 'indicator_types');
  },
  sighting(o) {
    if (o.sighting_of_ref === undefined) throw new Invalid('sighting_of_ref: missing (required on sightings)');
    if (SRO_FORBIDDEN_ENDS.test(o.sighting_of_ref as string)) throw new Invalid(`sighting_of_ref: ${o.sighting_of_ref} cannot be sighted (only SDOs can)`);
    if (o.where_sighted_refs !== undefined) {
      (o.where_sighted_refs as string[]).forEach((ref, i) => {
        if (!/^(identity|location)--/.test(ref)) throw new Invalid(`where_sighted_refs[${i}]: ${ref} must refer to an identity or a location`);
      });
    }
    if (o.observed_data_refs !== undefined) checkIdentifierList(o.observed_data_refs, 'observed_data_refs', 'observed-data');
    if (o.count !== undefined) checkInteger(o.count, 'count', 0, 999_999_999);
    if (o.summary !== undefined && typeof o.summary !== 'boolean') throw new Invalid(`summary: expected true or false, got ${describe(o.summary)}`);
    checkNotAfter(o, 'first_seen', 'last_seen', false);
  },
  relationship(o) {
    checkString(o, 'relationship_type');
    if (!/^[a-z0-9-]+$/.test(o.relationship_type as string)) throw new Invalid(`relationship_type: ${describe(o.relationship_type)} must be lower-case letters, digits and hyphens`);
    for (const end of ['source_ref', 'target_ref']) {
      if (o[end] === undefined) throw new Invalid(`${end}: missing (required on relationships)`);
      if (SRO_FORBIDDEN_ENDS.test(o[end] as string)) throw new Invalid(`${end}: ${o[end]} cannot be the end of a relationship`);
    }
    checkNotAfter(o, 'start_time', 'stop_time', true);
  },
  'attack-pattern': named,
  campaign: named,
  'course-of-action': named,
  identity: named,
  incident: named,
  infrastructure: named,
  'intrusion-set': (o) => {
    named(o);
    if (o.aliases !== undefined) checkStringList(o.aliases, 'aliases');
  },
  'threat-actor': (o) => {
    named(o);
    if (o.aliases !== undefined) checkStringList(o.aliases, 'aliases');
  },
  tool: named,
  vulnerability: named,
  malware(o) {
    if (typeof o.is_family !== 'boolean') throw new Invalid(`is_family: ${o.is_family === undefined ? 'missing (required on malware)' : `expected true or false, got ${describe(o.is_family)}`}`);
    if (o.is_family && o.name === undefined) throw new Invalid('name: missing (required on a malware family)');
  },
  report(o) {
    named(o);
    if (o.published === undefined) throw new Invalid('published: missing (required on reports)');
    withObjectRefs(o);
  },
  grouping(o) {
    checkString(o, 'context');
    withObjectRefs(o);
  },
  note(o) {
    checkString(o, 'content');
    withObjectRefs(o);
  },
  opinion(o) {
    checkString(o, 'opinion');
    withObjectRefs(o);
  },
  'observed-data'(o) {
    for (const name of ['first_observed', 'last_observed']) if (o[name] === undefined) throw new Invalid(`${name}: missing (required on observed-data)`);
    checkInteger(o.number_observed, 'number_observed', 1, 999_999_999);
    if (o.object_refs === undefined && o.objects === undefined) throw new Invalid('object_refs: missing (observed-data needs object_refs)');
  },
  location(o) {
    const hasPoint = o.latitude !== undefined && o.longitude !== undefined;
    if (o.region === undefined && o.country === undefined && !hasPoint) throw new Invalid('a location needs a region, a country, or a latitude and longitude');
    if ((o.latitude === undefined) !== (o.longitude === undefined)) throw new Invalid('latitude and longitude go together');
    if (o.precision !== undefined && !hasPoint) throw new Invalid('precision needs a latitude and longitude');
  },
  'malware-analysis'(o) {
    checkString(o, 'product');
    if (o.result === undefined && o.analysis_sco_refs === undefined) throw new Invalid('malware-analysis needs a result or analysis_sco_refs');
  },
  'language-content'(o) {
    if (o.object_ref === undefined) throw new Invalid('object_ref: missing (required on language-content)');
    if (!isPlainObject(o.contents)) throw new Invalid(`contents: expected an object, got ${describe(o.contents)}`);
  },
  'extension-definition'(o) {
    for (const name of ['name', 'schema', 'version']) checkString(o, name);
    if (o.created_by_ref === undefined) throw new Invalid('created_by_ref: missing (required on extension definitions)');
    const types = o.extension_types;
    if (!Array.isArray(types) || types.some((t) => !EXTENSION_TYPES.includes(t as string))) {
      throw new Invalid(`extension_types: expected a list of ${EXTENSION_TYPES.join(', ')}, got ${describe(types)}`);
    }
    if (o.extension_properties !== undefined && !types.includes('toplevel-property-extension')) {
      throw new Invalid('extension_properties: only a toplevel-property-extension may list extension properties');
    }
  },
};

// ---------------------------------------------------------------------------------------------------
// timestamps and versions

/** Fixed-width form: every STIX timestamp is UTC, so comparing these strings compares the instants. */
function normaliseTimestamp(value: string): string {
  const [seconds, fraction = ''] = value.slice(0, -1).split('.');
  return `${seconds}.${fraction.padEnd(9, '0').slice(0, 9)}`;
}

function compareTimestamps(a: string, b: string): number {
  const x = normaliseTimestamp(a);
  const y = normaliseTimestamp(b);
  return x < y ? -1 : x > y ? 1 : 0;
}

/** >0 when `a` is a newer version than `b`. Objects without `modified` have one version only. */
function compareVersions(a: StixObject, b: StixObject): number {
  if (typeof a.modified !== 'string' || typeof b.modified !== 'string') return 0;
  return compareTimestamps(a.modified, b.modified);
}

/** JSON with sorted keys: jsonb reorders keys, so equality of documents must not depend on order. */
export function canonicalJson(value: unknown): string {
  if (Array.isArray(value)) return `[${value.map(canonicalJson).join(',')}]`;
  if (isPlainObject(value)) {
    return `{${Object.keys(value)
      .sort()
      .map((k) => `${JSON.stringify(k)}:${canonicalJson(value[k])}`)
      .join(',')}}`;
  }
  return JSON.stringify(value);
}

// ---------------------------------------------------------------------------------------------------
// what the silo already holds

interface Stored {
  /** `modified` of the stored version; null for objects without versions (marking definitions, SCOs). */
  modified: string | null;
  /** The stored document, fetched only for objects without versions (they are compared by content). */
  doc: StixObject | null;
}

interface SiloState {
  /** Stored objects among the bundle's ids. */
  stored: Map<string, Stored>;
  /** Ids referred to by the bundle (not in it) that the silo holds: these are this nation's. */
  held: Set<string>;
  /** Marking definitions referred to by the bundle (not in it) that the silo holds. */
  markingDefinitions: Map<string, StixObject>;
  /** ATT&CK ids of attack patterns referred to by the bundle (not in it) that the silo holds. */
  techniques: Map<string, string[]>;
}

const LOOKUP_BATCH = 5000;

async function readSiloState(tx: SiloQueryable, candidates: Candidate[], support: StixObject[]): Promise<SiloState> {
  const ids = candidates.map((c) => c.object.id);
  const inBundle = new Set(ids);
  const referred = new Set<string>();
  for (const { object } of candidates) for (const ref of referencesOf(object)) if (!inBundle.has(ref)) referred.add(ref);
  for (const object of support) if (!inBundle.has(object.id)) referred.add(object.id);
  const stored = new Map<string, Stored>();
  for (const batch of chunks(ids, LOOKUP_BATCH)) {
    const rows = await tx.query<{ stix_id: string; modified: string | null; doc: StixObject | null }>(
      `SELECT stix_id, doc->>'modified' AS modified, CASE WHEN doc ? 'modified' THEN NULL ELSE doc END AS doc FROM stix_object WHERE stix_id = ANY($1::text[])`,
      [batch],
    );
    for (const row of rows) stored.set(row.stix_id, { modified: row.modified, doc: row.doc });
  }
  const held = new Set<string>();
  const markingDefinitions = new Map<string, StixObject>();
  const techniques = new Map<string, string[]>();
  for (const batch of chunks([...referred], LOOKUP_BATCH)) {
    const rows = await tx.query<{ stix_id: string; doc: StixObject | null }>(
      `SELECT stix_id, CASE WHEN type IN ('marking-definition', 'attack-pattern') THEN doc END AS doc FROM stix_object WHERE stix_id = ANY($1::text[])`,
      [batch],
    );
    for (const row of rows) {
      held.add(row.stix_id);
      if (row.doc?.type === 'marking-definition') markingDefinitions.set(row.stix_id, row.doc);
      if (row.doc?.type === 'attack-pattern') techniques.set(row.stix_id, attackIdsOf(row.doc));
    }
  }
  return { stored, held, markingDefinitions, techniques };
}

/** Every STIX id an object refers to that matters for markings or links. */
function referencesOf(object: StixObject): string[] {
  const refs: string[] = [];
  const add = (value: unknown) => {
    if (typeof value === 'string') refs.push(value);
    else if (Array.isArray(value)) for (const v of value) if (typeof v === 'string') refs.push(v);
  };
  add(object.object_marking_refs);
  if (Array.isArray(object.granular_markings)) for (const g of object.granular_markings) add((g as Record<string, unknown>).marking_ref);
  for (const link of LINK_PROPERTIES) add(object[link.property]);
  if (object.type === 'relationship') {
    add(object.source_ref);
    add(object.target_ref);
  }
  return refs;
}

function* chunks<T>(items: readonly T[], size: number): Generator<T[]> {
  for (let i = 0; i < items.length; i += size) yield items.slice(i, i + size);
}

// ---------------------------------------------------------------------------------------------------
// planning: markings, documents, links, and what to write

interface Link {
  source: string;
  kind: string;
  target: string;
  via: string | null;
}

interface Row {
  gid: string;
  object: StixObject;
  action: 'insert' | 'update';
  created: string;
  modified: string;
  sortTime: string;
  marking: Marking;
  granular: GranularMarking[];
  links: Link[];
  /** ATT&CK ids, as far as this bundle tells (fixTechniques completes them from the silo). */
  techniqueIds: string[];
}

/** Embedded references that become links, and the link kind each becomes. */
const LINK_PROPERTIES: readonly { property: string; kind: string }[] = [
  { property: 'sighting_of_ref', kind: 'sighting-of' },
  { property: 'where_sighted_refs', kind: 'where-sighted' },
  { property: 'observed_data_refs', kind: 'observed-data' },
  { property: 'created_by_ref', kind: 'created-by' },
];

function planImport(candidates: Candidate[], supportCandidates: StixObject[], silo: SiloState, options: ImportOptions, report: ImportReport): Row[] {
  const lookup = buildMarkingLookup(candidates, silo, report);
  const accepted = candidates.filter((c) => !lookup.rejectedDefinitions.has(c.object.id));
  const inBundle = new Set(candidates.map((c) => c.object.id));
  const support = supportCandidates.filter((o) => !inBundle.has(o.id) && !silo.held.has(o.id));
  for (const object of support) lookup.add(object);
  const owner = ownerResolver(candidates, silo, options.nation);
  const defaultRefs = markingRefsFor(options.defaultMarking);
  const rows: Row[] = [];
  const all = [...accepted, ...support.map((object, i): Candidate => ({ index: -1 - i, object, kind: kindOf(object), support: true }))];
  for (const candidate of all) {
    const row = planObject(candidate, silo, lookup, owner, defaultRefs, options, report);
    if (row) rows.push(row);
  }
  assignTechniques(rows, accepted, silo, options.nation);
  return rows;
}

/**
 * The objects an import adds when the silo lacks them: sovgraph's definitions, the default marking's
 * definitions, and the standard object of every well-known TLP marking referred to by id only.
 */
function supportObjects(objects: readonly StixObject[], defaultMarking: Marking): StixObject[] {
  const out = new Map<string, StixObject>();
  for (const o of sovgraphDefinitionObjects()) out.set(o.id, o);
  for (const o of markingDefinitionsFor(defaultMarking)) out.set(o.id, o);
  for (const object of objects) {
    for (const ref of referencesOf(object)) {
      const standard = wellKnownTlp(ref) ? wellKnownMarkingDefinition(ref) : undefined;
      if (standard) out.set(standard.id, standard);
    }
  }
  return [...out.values()];
}

interface Lookup {
  get(id: string): MarkingPart | undefined;
  add(definition: StixObject): void;
  rejectedDefinitions: Map<string, string>;
}

/** Marking definitions from the bundle (a bad one is rejected), the silo, and the well-known TLP ids. */
function buildMarkingLookup(candidates: Candidate[], silo: SiloState, report: ImportReport): Lookup {
  const parts = new Map<string, MarkingPart>();
  const rejectedDefinitions = new Map<string, string>();
  for (const [id, doc] of silo.markingDefinitions) parts.set(id, readMarkingDefinition(doc));
  for (const c of candidates) {
    if (c.kind !== 'marking-definition') continue;
    try {
      checkImmutable(c.object, silo.stored.get(c.object.id));
      parts.set(c.object.id, readMarkingDefinition(c.object));
    } catch (error) {
      if (!(error instanceof MarkingError)) throw error;
      rejectedDefinitions.set(c.object.id, error.message);
      reject(report, c.index, c.object, error.message);
    }
  }
  return {
    get: (id) => (rejectedDefinitions.has(id) ? undefined : (parts.get(id) ?? (wellKnownTlp(id) ? { tlp: wellKnownTlp(id) } : undefined))),
    add: (definition) => {
      if (definition.type === 'marking-definition') parts.set(definition.id, readMarkingDefinition(definition));
    },
    rejectedDefinitions,
  };
}

/**
 * A stored marking definition keeps its meaning: a bundle that redefines it is refused (with every
 * object marked by it), since accepting it would silently re-mark objects stored earlier.
 */
function checkImmutable(definition: StixObject, stored: Stored | undefined): void {
  if (stored?.doc && canonicalJson(stored.doc) !== canonicalJson(definition)) {
    throw new MarkingError('this marking definition is already stored with different content (marking definitions are immutable)');
  }
}

type OwnerResolver = (stixId: string, object: StixObject) => string;

/**
 * Who holds a referenced object: this nation if the bundle carries it or the silo holds it, else the
 * nation the referring object's ref_owners names, else (no better knowledge) this nation.
 */
function ownerResolver(candidates: Candidate[], silo: SiloState, nation: string): OwnerResolver {
  const local = new Set(candidates.map((c) => c.object.id));
  return (stixId, object) => (local.has(stixId) || silo.held.has(stixId) || silo.stored.has(stixId) ? nation : (refOwnersOf(object)[stixId] ?? nation));
}

function planObject(candidate: Candidate, silo: SiloState, lookup: Lookup, owner: OwnerResolver, defaultRefs: string[], options: ImportOptions, report: ImportReport): Row | null {
  const { object, index, support } = candidate;
  try {
    const { doc, defaulted } = withDefaultMarking(candidate, defaultRefs);
    const action = decideAction(doc, silo.stored.get(object.id));
    const row = action === 'unchanged' ? null : buildRow(doc, action, lookup, owner, options);
    if (support) report.definitionsAdded += row ? 1 : 0;
    else recordAccepted(report, object.type, action, defaulted);
    return row;
  } catch (error) {
    if (support || !(error instanceof Invalid || error instanceof MarkingError)) throw error;
    reject(report, index, object, explainRejectedRefs(object, lookup) ?? error.message);
    return null;
  }
}

function recordAccepted(report: ImportReport, type: string, action: 'insert' | 'update' | 'unchanged', defaulted: boolean): void {
  const outcome = action === 'insert' ? 'inserted' : action === 'update' ? 'updated' : 'unchanged';
  report[outcome]++;
  countType(report, type, outcome);
  if (defaulted) report.defaultMarked++;
  if (!EXPOSED_TYPES.has(type) && !DEFINITION_TYPES.has(type)) report.keptUnexposed[type] = (report.keptUnexposed[type] ?? 0) + 1;
}

/** A reason naming the rejected marking definition an object depends on, if that is why it fails. */
function explainRejectedRefs(object: StixObject, lookup: Lookup): string | undefined {
  for (const ref of referencesOf(object)) {
    const why = lookup.rejectedDefinitions.get(ref);
    if (why) return `marked with ${ref}, which was rejected (${why})`;
  }
  return undefined;
}

/**
 * An object without object_marking_refs gets the default marking's definitions in its document, so the
 * export says what the silo applied. Definitions themselves are never marked this way (TLP 1.0
 * definitions may not carry extra properties, and a definition's own marking is not what it defines).
 */
function withDefaultMarking(candidate: Candidate, defaultRefs: string[]): { doc: StixObject; defaulted: boolean } {
  const { object } = candidate;
  if (object.object_marking_refs !== undefined || DEFINITION_TYPES.has(object.type)) return { doc: object, defaulted: false };
  return { doc: { ...object, object_marking_refs: [...defaultRefs] }, defaulted: true };
}

function decideAction(doc: StixObject, stored: Stored | undefined): 'insert' | 'update' | 'unchanged' {
  if (!stored) return 'insert';
  if (typeof doc.modified === 'string' && stored.modified !== null) return compareTimestamps(doc.modified, stored.modified) > 0 ? 'update' : 'unchanged';
  if (stored.doc && canonicalJson(stored.doc) === canonicalJson(doc)) return 'unchanged';
  // Changing what a stored marking definition means would silently re-mark every object that uses it.
  if (doc.type === 'marking-definition') throw new Invalid('this marking definition is already stored with different content (marking definitions are immutable)');
  return 'update';
}

function buildRow(doc: StixObject, action: 'insert' | 'update', lookup: Lookup, owner: OwnerResolver, options: ImportOptions): Row {
  const isDefinition = DEFINITION_TYPES.has(doc.type);
  const { marking } = isDefinition && doc.object_marking_refs === undefined
    ? { marking: { ...options.defaultMarking } }
    : resolveObjectMarking(doc, (id) => lookup.get(id), options.defaultMarking);
  const created = typeof doc.created === 'string' ? doc.created : EPOCH;
  const modified = typeof doc.modified === 'string' ? doc.modified : created;
  return {
    gid: globalId(options.nation, doc.id),
    object: doc,
    action,
    created,
    modified,
    sortTime: sortTimeOf(doc, created),
    marking,
    granular: resolveGranularMarkings(doc, (id) => lookup.get(id), marking),
    links: linksOf(doc, owner),
    techniqueIds: [],
  };
}

export function globalId(nation: string, stixId: string): string {
  return `${nation}:${stixId}`;
}

/** The time each list is ordered by (see the contract's ObjectFilter). */
function sortTimeOf(o: StixObject, created: string): string {
  const pick = (...names: string[]) => names.map((n) => o[n]).find((v): v is string => typeof v === 'string') ?? created;
  switch (o.type) {
    case 'indicator':
      return pick('valid_from');
    case 'sighting':
      return pick('last_seen', 'first_seen');
    case 'incident':
      return [o.x_sovgraph_first_seen, o.first_seen, extensionFirstSeen(o)].find((v): v is string => typeof v === 'string') ?? created;
    case 'threat-actor':
    case 'intrusion-set':
      return pick('first_seen');
    default:
      return created;
  }
}

/** An incident's first_seen inside a property extension (e.g. the OASIS incident core extension). */
function extensionFirstSeen(o: StixObject): string | undefined {
  if (!isPlainObject(o.extensions)) return undefined;
  for (const ext of Object.values(o.extensions)) {
    const value = isPlainObject(ext) ? ext.first_seen : undefined;
    if (typeof value === 'string' && TIMESTAMP.test(value) && isRealDate(value)) return value;
  }
  return undefined;
}

function linksOf(o: StixObject, owner: OwnerResolver): Link[] {
  const gid = (ref: string) => globalId(owner(ref, o), ref);
  const self = gid(o.id);
  const links: Link[] = [];
  if (o.type === 'relationship') {
    links.push({ source: gid(o.source_ref as string), kind: o.relationship_type as string, target: gid(o.target_ref as string), via: self });
  }
  for (const { property, kind } of LINK_PROPERTIES) {
    const value = o[property];
    for (const ref of Array.isArray(value) ? value : value === undefined ? [] : [value]) links.push({ source: self, kind, target: gid(ref as string), via: null });
  }
  return links;
}

// ---------------------------------------------------------------------------------------------------
// writing

const OBJECT_COLUMNS = ['id', 'stix_id', 'type', 'nation', 'created', 'modified', 'sort_time', 'classification', 'tlp', 'releasable_to', 'caveats', 'granular', 'technique_ids', 'doc'];

async function upsertObjects(tx: SiloQueryable, rows: Row[], batchSize: number): Promise<void> {
  const updates = OBJECT_COLUMNS.filter((c) => c !== 'id').map((c) => `${c} = EXCLUDED.${c}`).join(', ');
  for (const batch of chunks(rows, batchSize)) {
    const params: unknown[] = [];
    const tuples = batch.map((row) => {
      const values = objectValues(row);
      const placeholders = values.map((_, i) => `$${params.length + i + 1}`);
      params.push(...values);
      return `(${placeholders.join(', ')})`;
    });
    await tx.query(`INSERT INTO stix_object (${OBJECT_COLUMNS.join(', ')}) VALUES ${tuples.join(', ')} ON CONFLICT (id) DO UPDATE SET ${updates}`, params);
  }
}

function objectValues(row: Row): unknown[] {
  const { object, marking } = row;
  return [
    row.gid,
    object.id,
    object.type,
    row.gid.slice(0, row.gid.indexOf(':')),
    row.created,
    row.modified,
    row.sortTime,
    classificationRank(marking.classification),
    tlpRank(marking.tlp),
    marking.releasableTo,
    marking.caveats,
    JSON.stringify(row.granular),
    row.techniqueIds,
    JSON.stringify(object),
  ];
}

const LINK_BATCH = 5000;

/**
 * An updated object's links are replaced: its own references, and the link its relationship made.
 * Returns the sources whose technique-bearing links changed.
 */
async function replaceLinks(tx: SiloQueryable, rows: Row[]): Promise<Set<string>> {
  const changed = new Set<string>();
  const updated = rows.filter((r) => r.action === 'update').map((r) => r.gid);
  for (const batch of chunks(updated, LOOKUP_BATCH)) {
    const deleted = await tx.query<{ source_id: string; kind: string }>(
      'DELETE FROM stix_link WHERE (via IS NULL AND source_id = ANY($1::text[])) OR via = ANY($1::text[]) RETURNING source_id, kind',
      [batch],
    );
    for (const d of deleted) if (TECHNIQUE_LINK_KINDS.includes(d.kind)) changed.add(d.source_id);
  }
  // In key order, B-tree inserts touch neighbouring pages (measurably less work on a large silo).
  const links = rows.flatMap((r) => r.links).sort(compareLinks);
  for (const link of links) if (TECHNIQUE_LINK_KINDS.includes(link.kind)) changed.add(link.source);
  for (const batch of chunks(links, LINK_BATCH)) {
    // Two relationships can state the same link: the first one stays its `via`.
    await tx.query(
      'INSERT INTO stix_link (source_id, kind, target_id, via) SELECT * FROM unnest($1::text[], $2::text[], $3::text[], $4::text[]) ON CONFLICT DO NOTHING',
      [batch.map((l) => l.source), batch.map((l) => l.kind), batch.map((l) => l.target), batch.map((l) => l.via)],
    );
  }
  return changed;
}

function compareLinks(a: Link, b: Link): number {
  return a.source < b.source ? -1 : a.source > b.source ? 1 : a.kind < b.kind ? -1 : a.kind > b.kind ? 1 : a.target < b.target ? -1 : a.target > b.target ? 1 : 0;
}

// ---------------------------------------------------------------------------------------------------
// ATT&CK techniques of indicators and incidents

const TECHNIQUE_HOLDERS: ReadonlySet<string> = new Set(['indicator', 'incident']);

/** The `mitre-attack` external ids of an attack pattern (T1566, T1566.001, …). */
function attackIdsOf(doc: StixObject): string[] {
  const refs = Array.isArray(doc.external_references) ? doc.external_references : [];
  return refs.filter((r) => isPlainObject(r) && r.source_name === 'mitre-attack' && typeof r.external_id === 'string').map((r) => (r as { external_id: string }).external_id);
}

/**
 * Techniques from what the bundle itself says, computed before writing: on a first import this is
 * the whole answer, and writing each row once (not again in an UPDATE) halves the cost of big imports.
 */
function assignTechniques(rows: Row[], accepted: Candidate[], silo: SiloState, nation: string): void {
  const byTarget = new Map<string, string[]>();
  for (const [stixId, ids] of silo.techniques) byTarget.set(globalId(nation, stixId), ids);
  for (const c of accepted) if (c.object.type === 'attack-pattern') byTarget.set(globalId(nation, c.object.id), attackIdsOf(c.object));
  const bySource = new Map<string, Set<string>>();
  for (const link of rows.flatMap((r) => r.links)) {
    const ids = TECHNIQUE_LINK_KINDS.includes(link.kind) ? byTarget.get(link.target) : undefined;
    if (!ids?.length) continue;
    const set = bySource.get(link.source) ?? new Set<string>();
    for (const id of ids) set.add(id);
    bySource.set(link.source, set);
  }
  for (const row of rows) if (TECHNIQUE_HOLDERS.has(row.object.type)) row.techniqueIds = [...(bySource.get(row.gid) ?? [])].sort();
}

/**
 * Recomputes technique_ids in SQL where this import may have changed them and the bundle alone cannot
 * tell: links stored by earlier imports, attack patterns updated now, relationships replaced. Only rows
 * whose value differs are written.
 */
async function fixTechniques(tx: SiloQueryable, rows: Row[], relinked: Set<string>): Promise<void> {
  const affected = new Set(relinked);
  for (const row of rows) if (TECHNIQUE_HOLDERS.has(row.object.type)) affected.add(row.gid);
  const patterns = rows.filter((r) => r.object.type === 'attack-pattern').map((r) => r.gid);
  if (affected.size === 0 && patterns.length === 0) return;
  await tx.query(
    `WITH affected AS (
       SELECT unnest($1::text[]) AS id
       UNION SELECT source_id FROM stix_link WHERE target_id = ANY($2::text[]) AND kind = ANY($3::text[])
     ), computed AS (
       SELECT s.id, COALESCE((
         SELECT array_agg(DISTINCT r->>'external_id' ORDER BY r->>'external_id')
         FROM stix_link l
         JOIN stix_object ap ON ap.id = l.target_id AND ap.type = 'attack-pattern'
         CROSS JOIN LATERAL jsonb_array_elements(COALESCE(ap.doc->'external_references', '[]'::jsonb)) AS r
         WHERE l.source_id = s.id AND l.kind = ANY($3::text[]) AND r->>'source_name' = 'mitre-attack' AND r ? 'external_id'
       ), '{}') AS ids
       FROM stix_object s JOIN affected a ON a.id = s.id
       WHERE s.type IN ('indicator', 'incident')
     )
     UPDATE stix_object AS o SET technique_ids = c.ids FROM computed c WHERE o.id = c.id AND o.technique_ids IS DISTINCT FROM c.ids`,
    [[...affected], patterns, TECHNIQUE_LINK_KINDS],
  );
}
