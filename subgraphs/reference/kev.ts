/**
 * Loads CISA's Known Exploited Vulnerabilities catalogue (the JSON CISA publishes, checked as its
 * published JSON Schema describes it, plus real calendar dates and unique CVE ids) into an in-memory
 * map keyed by CVE id.
 *
 * A file that is not a KEV catalogue at all is refused with an error naming the file. Inside a good
 * file, each bad entry is rejected on its own and reported with its index and reason; the rest loads.
 * Nothing is dropped silently.
 */
import { fileURLToPath } from 'node:url';
import { describe, isRecord, readJsonFile } from './values';

/** The small catalogue shipped with sovgraph: real entries copied from CISA's catalogue. */
export const BUILT_IN_KEV_CATALOGUE = fileURLToPath(new URL('./data/kev-catalogue.json', import.meta.url));

export interface KevEntry {
  cve: string;
  vendor: string;
  product: string;
  name: string;
  description: string;
  /** YYYY-MM-DD. */
  dateAdded: string;
  /** YYYY-MM-DD. */
  dueDate: string;
  requiredAction: string;
  /** true for CISA's 'Known'; false for 'Unknown' (CISA has no confirmation); null when absent. */
  knownRansomwareCampaignUse: boolean | null;
  cwes: string[];
  notes: string | null;
}

export interface KevRejection {
  /** Position in the file's `vulnerabilities` array. */
  index: number;
  /** The entry's cveID when it had a readable one. */
  cveID?: string;
  reason: string;
}

export interface KevCatalogue {
  /** Where it was read from (a path, or what the caller named it). */
  source: string;
  catalogVersion: string;
  dateReleased: string;
  entries: ReadonlyMap<string, KevEntry>;
  rejected: KevRejection[];
  /** Problems with the catalogue as a whole that did not stop it loading (e.g. `count` disagrees). */
  warnings: string[];
}

export class KevCatalogueError extends Error {
  override readonly name = 'KevCatalogueError';
}

const CVE_ID = /^CVE-[0-9]{4}-[0-9]{4,19}$/;
const CWE_ID = /^CWE-[0-9]+$/;
const DATE = /^(\d{4})-(\d{2})-(\d{2})$/;
const REQUIRED_TEXT = ['vendorProject', 'product', 'vulnerabilityName', 'shortDescription', 'requiredAction'] as const;

/** Reads and parses a KEV catalogue file (the built-in one when no path is given). */
export function loadKevCatalogue(path: string = BUILT_IN_KEV_CATALOGUE): KevCatalogue {
  return parseKevCatalogue(readJsonFile(path, 'KEV catalogue', (message) => new KevCatalogueError(message)), path);
}

/** Parses an already-read KEV catalogue; `source` names it in every message. */
export function parseKevCatalogue(json: unknown, source: string): KevCatalogue {
  if (!isRecord(json)) throw new KevCatalogueError(`${source}: a KEV catalogue is a JSON object, got ${describe(json)}`);
  const { catalogVersion, dateReleased, count, vulnerabilities } = json;
  if (!Array.isArray(vulnerabilities)) throw new KevCatalogueError(`${source}: field "vulnerabilities" must be an array, got ${describe(vulnerabilities)}`);
  if (typeof catalogVersion !== 'string') throw new KevCatalogueError(`${source}: field "catalogVersion" must be a string, got ${describe(catalogVersion)}`);
  if (typeof dateReleased !== 'string') throw new KevCatalogueError(`${source}: field "dateReleased" must be a string, got ${describe(dateReleased)}`);

  const entries = new Map<string, KevEntry>();
  const firstIndex = new Map<string, number>();
  const rejected: KevRejection[] = [];
  vulnerabilities.forEach((raw, index) => {
    const result = parseEntry(raw);
    if (typeof result === 'string') return void rejected.push(rejection(index, raw, result));
    const earlier = firstIndex.get(result.cve);
    if (earlier !== undefined) return void rejected.push({ index, cveID: result.cve, reason: `duplicate of entry ${earlier}` });
    firstIndex.set(result.cve, index);
    entries.set(result.cve, result);
  });
  const warnings = count === vulnerabilities.length ? [] : [`field "count" is ${describe(count)} but "vulnerabilities" has ${vulnerabilities.length} entries`];
  return { source, catalogVersion, dateReleased, entries, rejected, warnings };
}

/** One line per rejected entry, for logs and CLI output. */
export function formatKevRejection(source: string, r: KevRejection): string {
  return `${source}: vulnerabilities[${r.index}]${r.cveID ? ` (${r.cveID})` : ''}: ${r.reason}`;
}

/** The entry, or the reason it is refused. */
function parseEntry(raw: unknown): KevEntry | string {
  if (!isRecord(raw)) return `an entry must be an object, got ${describe(raw)}`;
  if (typeof raw.cveID !== 'string' || !CVE_ID.test(raw.cveID)) return `"cveID" must look like CVE-2021-44228, got ${describe(raw.cveID)}`;
  for (const field of REQUIRED_TEXT) {
    if (typeof raw[field] !== 'string') return `"${field}" must be a string, got ${describe(raw[field])}`;
  }
  for (const field of ['dateAdded', 'dueDate'] as const) {
    if (!isCalendarDate(raw[field])) return `"${field}" must be a date YYYY-MM-DD, got ${describe(raw[field])}`;
  }
  const ransomware = ransomwareUse(raw.knownRansomwareCampaignUse);
  if (ransomware === undefined) return `"knownRansomwareCampaignUse" must be "Known" or "Unknown", got ${describe(raw.knownRansomwareCampaignUse)}`;
  const cwes = raw.cwes ?? [];
  if (!Array.isArray(cwes) || !cwes.every((c) => typeof c === 'string' && CWE_ID.test(c))) return `"cwes" must be a list like ["CWE-20"], got ${describe(raw.cwes)}`;
  if (raw.notes !== undefined && typeof raw.notes !== 'string') return `"notes" must be a string, got ${describe(raw.notes)}`;
  return {
    cve: raw.cveID,
    vendor: raw.vendorProject as string,
    product: raw.product as string,
    name: raw.vulnerabilityName as string,
    description: raw.shortDescription as string,
    dateAdded: raw.dateAdded as string,
    dueDate: raw.dueDate as string,
    requiredAction: raw.requiredAction as string,
    knownRansomwareCampaignUse: ransomware,
    cwes: cwes as string[],
    notes: (raw.notes as string | undefined) || null,
  };
}

/** undefined for a value CISA does not use: the field is optional in the schema, so absent is null. */
function ransomwareUse(value: unknown): boolean | null | undefined {
  if (value === undefined || value === null) return null;
  if (value === 'Known') return true;
  if (value === 'Unknown') return false;
  return undefined;
}

/** The schema says `format: date`: the pattern alone would let 2023-02-30 through. */
function isCalendarDate(value: unknown): boolean {
  if (typeof value !== 'string') return false;
  const match = DATE.exec(value);
  if (!match) return false;
  const [year, month, day] = [Number(match[1]), Number(match[2]), Number(match[3])];
  const date = new Date(Date.UTC(year, month - 1, day));
  return date.getUTCFullYear() === year && date.getUTCMonth() === month - 1 && date.getUTCDate() === day;
}

function rejection(index: number, raw: unknown, reason: string): KevRejection {
  const cveID = isRecord(raw) && typeof raw.cveID === 'string' ? raw.cveID : undefined;
  return cveID ? { index, cveID, reason } : { index, reason };
}
