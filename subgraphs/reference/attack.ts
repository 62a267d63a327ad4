/**
 * Loads ATT&CK techniques from a STIX 2.1 bundle in the format MITRE publishes (enterprise-attack.json
 * of mitre-attack/attack-stix-data) into an in-memory catalogue keyed by technique id (T1566, T1566.001).
 *
 * What counts, as ATT&CK itself defines it: `attack-pattern` objects; the technique id is the
 * `external_id` of the external reference whose `source_name` is `mitre-attack`; tactics are the
 * `phase_name`s of the kill chain phases on an ATT&CK kill chain. Revoked and deprecated techniques
 * are skipped (ATT&CK keeps them in the bundle for history) and counted. A file that is not a bundle
 * is refused with an error naming the file; a bad technique is rejected on its own, reported with
 * the file, its position and its STIX id, and the rest loads.
 */
import { fileURLToPath } from 'node:url';
import { describe, isRecord, readJsonFile } from './values';

/** The small technique set shipped with sovgraph (real ids, names and tactics; deterministic STIX ids). */
export const BUILT_IN_ATTACK_BUNDLE = fileURLToPath(new URL('./data/attack-techniques.json', import.meta.url));

/** Enterprise ATT&CK uses `mitre-attack`; the mobile and ICS matrices have their own kill chains. */
const ATTACK_KILL_CHAINS: ReadonlySet<string> = new Set(['mitre-attack', 'mitre-mobile-attack', 'mitre-ics-attack']);
const TECHNIQUE_ID = /^T\d{4}(\.\d{3})?$/;

export interface AttackTechnique {
  /** ATT&CK technique id, e.g. T1566 or T1566.001. */
  id: string;
  stixId: string;
  name: string;
  description: string | null;
  /** Tactic short names in the bundle's order, e.g. ["initial-access"]. */
  tactics: string[];
  isSubtechnique: boolean;
  /** For a sub-technique, its parent's id (T1566 for T1566.001); it may be absent from the catalogue. */
  parentId: string | null;
  url: string | null;
  modified: string | null;
}

export interface AttackRejection {
  /** Position in the bundle's `objects` array. */
  index: number;
  stixId?: string;
  reason: string;
}

export interface AttackCatalogue {
  source: string;
  techniques: ReadonlyMap<string, AttackTechnique>;
  rejected: AttackRejection[];
  /** Objects deliberately not loaded, by why. */
  skipped: { revoked: number; deprecated: number; superseded: number; otherObjects: number };
}

export class AttackBundleError extends Error {
  override readonly name = 'AttackBundleError';
}

/** Reads and parses an ATT&CK STIX bundle file (the built-in one when no path is given). */
export function loadAttackBundle(path: string = BUILT_IN_ATTACK_BUNDLE): AttackCatalogue {
  return parseAttackBundle(readJsonFile(path, 'ATT&CK STIX bundle', (message) => new AttackBundleError(message)), path);
}

/** Parses an already-read bundle; `source` names it in every message. */
export function parseAttackBundle(json: unknown, source: string): AttackCatalogue {
  if (!isRecord(json) || json.type !== 'bundle') {
    throw new AttackBundleError(`${source}: not a STIX bundle (expected an object with "type": "bundle", got ${describe(isRecord(json) ? json.type : json)})`);
  }
  if (!Array.isArray(json.objects)) throw new AttackBundleError(`${source}: the bundle's "objects" must be an array, got ${describe(json.objects)}`);
  const catalogue: AttackCatalogue = { source, techniques: new Map(), rejected: [], skipped: { revoked: 0, deprecated: 0, superseded: 0, otherObjects: 0 } };
  json.objects.forEach((object, index) => addObject(catalogue, object, index));
  return catalogue;
}

/** One line per rejected object, for logs and CLI output. */
export function formatAttackRejection(source: string, r: AttackRejection): string {
  return `${source}: objects[${r.index}]${r.stixId ? ` (${r.stixId})` : ''}: ${r.reason}`;
}

function addObject(catalogue: AttackCatalogue, object: unknown, index: number): void {
  if (!isRecord(object)) return void catalogue.rejected.push({ index, reason: `a STIX object must be a JSON object, got ${describe(object)}` });
  if (object.type !== 'attack-pattern') return void catalogue.skipped.otherObjects++;
  // Checked before anything else: ATT&CK strips revoked objects down, so they need not be well formed.
  if (object.revoked === true) return void catalogue.skipped.revoked++;
  if (object.x_mitre_deprecated === true) return void catalogue.skipped.deprecated++;
  const result = techniqueOf(object);
  if (typeof result === 'string') {
    const stixId = typeof object.id === 'string' ? object.id : undefined;
    return void catalogue.rejected.push(stixId ? { index, stixId, reason: result } : { index, reason: result });
  }
  keepNewest(catalogue, result);
}

/** STIX lets a bundle carry several versions of one object: the newest `modified` wins. */
function keepNewest(catalogue: AttackCatalogue, technique: AttackTechnique): void {
  const techniques = catalogue.techniques as Map<string, AttackTechnique>;
  const existing = techniques.get(technique.id);
  if (existing) {
    catalogue.skipped.superseded++;
    if (timeOf(existing.modified) >= timeOf(technique.modified)) return;
  }
  techniques.set(technique.id, technique);
}

/** The technique, or the reason the object is refused. */
function techniqueOf(object: Record<string, unknown>): AttackTechnique | string {
  const { id: stixId, name, description, modified } = object;
  if (typeof stixId !== 'string' || !stixId.startsWith('attack-pattern--')) return `"id" must be "attack-pattern--<uuid>", got ${describe(stixId)}`;
  if (typeof name !== 'string' || !name.trim()) return `"name" must be a non-empty string, got ${describe(name)}`;
  if (description !== undefined && typeof description !== 'string') return `"description" must be a string, got ${describe(description)}`;
  const reference = attackReferenceOf(object.external_references);
  if (typeof reference === 'string') return reference;
  const tactics = tacticsOf(object.kill_chain_phases);
  if (typeof tactics === 'string') return tactics;
  const isSubtechnique = reference.id.includes('.');
  const flag = object.x_mitre_is_subtechnique;
  if (flag !== undefined && flag !== isSubtechnique) return `"x_mitre_is_subtechnique" is ${describe(flag)} but the technique id is ${reference.id}`;
  return {
    id: reference.id,
    stixId,
    name,
    description: description || null,
    tactics,
    isSubtechnique,
    parentId: isSubtechnique ? reference.id.slice(0, reference.id.indexOf('.')) : null,
    url: reference.url,
    modified: typeof modified === 'string' ? modified : null,
  };
}

function attackReferenceOf(references: unknown): { id: string; url: string | null } | string {
  if (!Array.isArray(references)) return `"external_references" must be a list, got ${describe(references)}`;
  const reference = references.find((r) => isRecord(r) && r.source_name === 'mitre-attack');
  if (!isRecord(reference)) return 'no external reference with "source_name": "mitre-attack" (where ATT&CK keeps the technique id)';
  const id = reference.external_id;
  if (typeof id !== 'string' || !TECHNIQUE_ID.test(id)) return `the "mitre-attack" external reference needs an "external_id" like T1566 or T1566.001, got ${describe(id)}`;
  return { id, url: typeof reference.url === 'string' ? reference.url : null };
}

function tacticsOf(phases: unknown): string[] | string {
  if (phases === undefined) return [];
  if (!Array.isArray(phases)) return `"kill_chain_phases" must be a list, got ${describe(phases)}`;
  const tactics: string[] = [];
  for (const phase of phases) {
    if (!isRecord(phase) || typeof phase.kill_chain_name !== 'string' || typeof phase.phase_name !== 'string') {
      return `each kill chain phase needs string "kill_chain_name" and "phase_name", got ${describe(phase)}`;
    }
    if (ATTACK_KILL_CHAINS.has(phase.kill_chain_name) && !tactics.includes(phase.phase_name)) tactics.push(phase.phase_name);
  }
  return tactics;
}

function timeOf(timestamp: string | null): number {
  const time = timestamp ? Date.parse(timestamp) : NaN;
  return Number.isNaN(time) ? -Infinity : time;
}
