/**
 * Writes one nation's silo as a STIX 2.1 bundle: every stored document, marking and extension
 * definitions included, so the bundle is self-contained and imports back into the same rows.
 */
import { randomUUID } from 'node:crypto';
import type { SiloQueryable } from '../silo/db';
import { isNationCode } from '../../policies';
import type { Bundle, StixObject } from './markings';

export interface ExportOptions {
  /** The silo's nation: only objects it owns are exported (a silo holds no others). */
  nation: string;
}

/** Definitions first, so a reader that streams the bundle knows every marking before it meets it. */
const ORDER = `CASE type WHEN 'extension-definition' THEN 0 WHEN 'marking-definition' THEN 1 WHEN 'identity' THEN 2 ELSE 3 END, stix_id`;

export async function exportBundle(db: SiloQueryable, options: ExportOptions): Promise<Bundle> {
  if (!isNationCode(options?.nation)) throw new Error(`exportBundle: options.nation ${JSON.stringify(options?.nation)} is not an ISO 3166 alpha-3 nation code (e.g. FRA)`);
  const rows = await db.query<{ doc: StixObject }>(`SELECT doc FROM stix_object WHERE nation = $1 ORDER BY ${ORDER}`, [options.nation]);
  return { type: 'bundle', id: `bundle--${randomUUID()}`, objects: rows.map((r) => orderProperties(r.doc)) };
}

const LEADING = ['type', 'spec_version', 'id', 'created_by_ref', 'created', 'modified'];

/** jsonb stores keys in its own order; put the identifying properties first again, for human readers. */
function orderProperties(doc: StixObject): StixObject {
  const out: Record<string, unknown> = {};
  for (const key of LEADING) if (key in doc) out[key] = doc[key];
  for (const key of Object.keys(doc).sort()) if (!(key in out)) out[key] = doc[key];
  return out as StixObject;
}

/**
 * The bundle as JSON text, one object per line, produced piece by piece: a 100,000-object silo is
 * written without building one giant string.
 */
export function* bundleJsonChunks(bundle: Bundle): Generator<string> {
  yield `{"type":"bundle","id":${JSON.stringify(bundle.id)},"objects":[\n`;
  for (let i = 0; i < bundle.objects.length; i++) yield `${JSON.stringify(bundle.objects[i])}${i + 1 < bundle.objects.length ? ',' : ''}\n`;
  yield ']}\n';
}
