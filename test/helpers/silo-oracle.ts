/**
 * The leak test's oracle: what a silo really holds, read straight from its tables, and the facts the
 * policy engine decides on, rebuilt from those raw rows in the test's own code (not the kit's facts
 * reader). Open the silos only while no subgraph holds them (a PGlite data dir has one user at a time).
 */
import {
  checkBaseline,
  CLASSIFICATIONS,
  classificationRank,
  combineMarkings,
  TLP_LEVELS,
  type Marking,
  type ObjectFacts,
  type Principal,
} from '../../policies';
import { openSilo, type ObjectRow } from '../../subgraphs/silo';
import { FIELD_SOURCES, propertiesShownBy, STIX_TYPES_OF, type NationTypeName } from '../../subgraphs/kit/stix-properties';

/** A `stix_object` row exactly as the silo stores it. */
export type RawRow = ObjectRow;

export interface RawLink {
  /** The silo the link is stored in. */
  silo: string;
  source_id: string;
  kind: string;
  target_id: string;
  via: string | null;
}

export interface SiloSnapshot {
  /** Every row of every silo, by global id. */
  rows: Map<string, RawRow>;
  /** Links stored in each silo, by the global id at either end. */
  linksByEnd: Map<string, RawLink[]>;
  rowCount: number;
  linkCount: number;
}

/** Reads every `stix_object` and `stix_link` row of each nation's silo, then closes it. */
export async function readSilos(nations: readonly string[], dataDirOf: (nation: string) => string): Promise<SiloSnapshot> {
  const rows = new Map<string, RawRow>();
  const linksByEnd = new Map<string, RawLink[]>();
  let linkCount = 0;
  // Each silo is its own embedded database: open them side by side.
  const read = await Promise.all(
    nations.map(async (nation) => {
      const db = await openSilo({ nation, dataDir: dataDirOf(nation) });
      try {
        const objects = await db.query<Omit<RawRow, 'created' | 'modified'> & { created: unknown; modified: unknown }>(
          'SELECT id, stix_id, type, nation, created, modified, classification, tlp, releasable_to, caveats, granular, technique_ids, doc FROM stix_object',
        );
        const links = await db.query<Omit<RawLink, 'silo'>>('SELECT source_id, kind, target_id, via FROM stix_link');
        return { nation, objects, links };
      } finally {
        await db.close();
      }
    }),
  );
  for (const { nation, objects, links } of read) {
    for (const o of objects) rows.set(o.id, { ...o, created: isoOf(o.created), modified: isoOf(o.modified) });
    for (const l of links) {
      const link = { silo: nation, ...l };
      for (const end of new Set([l.source_id, l.target_id])) linksByEnd.set(end, [...(linksByEnd.get(end) ?? []), link]);
    }
    linkCount += links.length;
  }
  return { rows, linksByEnd, rowCount: rows.size, linkCount };
}

function isoOf(value: unknown): string {
  return new Date(value as string | Date).toISOString();
}

const CONTRACT_TYPE_OF: Record<string, NationTypeName> = Object.fromEntries(
  (Object.entries(STIX_TYPES_OF) as Array<[NationTypeName, readonly string[]]>).flatMap(([contract, stix]) => stix.map((s) => [s, contract])),
);

/** The contract type a stored STIX type is served as; undefined for places, victims, catalogue… */
export function contractTypeOf(stixType: string): NationTypeName | undefined {
  return CONTRACT_TYPE_OF[stixType];
}

/** The object marking from the rank columns; undefined (denied everything) when a rank is out of the vocabulary. */
export function rowMarking(row: RawRow): Marking | undefined {
  const classification = CLASSIFICATIONS[row.classification];
  const tlp = TLP_LEVELS[row.tlp];
  if (classification === undefined || tlp === undefined || !Array.isArray(row.releasable_to) || !Array.isArray(row.caveats)) return undefined;
  return { classification, tlp, releasableTo: [...row.releasable_to], caveats: [...row.caveats] };
}

/**
 * Each field's marking from the row's STIX granular markings: a selector's first segment names a
 * STIX property, which marks every contract field read from it; every granular marking is combined
 * with the object's (it can only restrict) and with the others on the same field.
 */
export function rowFieldMarkings(row: RawRow, type: NationTypeName, objectMarking: Marking): Record<string, Marking> {
  const marked: Record<string, Marking> = {};
  const granular = Array.isArray(row.granular) ? (row.granular as Array<{ selectors?: unknown; marking?: Marking }>) : [];
  for (const entry of granular) {
    if (!Array.isArray(entry.selectors) || !entry.marking) continue;
    for (const selector of entry.selectors as string[]) {
      const property = String(selector).split('.')[0];
      for (const [field, source] of Object.entries(FIELD_SOURCES[type])) {
        if (!propertiesShownBy(source).includes(property!) || field === 'id' || field === 'stixId') continue;
        marked[field] = combineMarkings(marked[field] ?? objectMarking, entry.marking);
      }
    }
  }
  return marked;
}

/** The facts the engine decides a row's fields on, from the raw row alone. */
export function rowFacts(row: RawRow): ObjectFacts & { type: NationTypeName } {
  const type = contractTypeOf(row.type);
  if (!type) throw new Error(`${row.id}: ${row.type} is not a nation-owned contract type`);
  const marking = rowMarking(row);
  const values: Record<string, unknown> = {};
  for (const [field, source] of Object.entries(FIELD_SOURCES[type])) if (source.direct) values[field] = row.doc[source.property];
  return { type, owner: row.nation, marking, fieldMarkings: marking ? rowFieldMarkings(row, type, marking) : {}, values };
}

/** The field's marking as the engine applies it: the object's, restricted by the field's granular marking. */
export function effectiveMarking(facts: ObjectFacts, field: string): Marking | undefined {
  if (!facts.marking) return undefined;
  const granular = facts.fieldMarkings?.[field];
  return granular ? combineMarkings(facts.marking, granular) : facts.marking;
}

/** The communities a token's claims leave once the coalition's own membership list confirms them. */
export function confirmedCommunities(nation: string, claimed: readonly string[], communities: Readonly<Record<string, readonly string[]>>): string[] {
  return claimed.filter((c) => communities[c]?.includes(nation)).sort();
}

/** The marking baseline alone, for objects no rule speaks of (places, victims, vulnerabilities). */
export function baselineAllows(principal: Principal, row: RawRow, communities: Readonly<Record<string, readonly string[]>>): boolean {
  const marking = rowMarking(row);
  return marking !== undefined && checkBaseline(principal, row.nation, marking, communities as Record<string, readonly string[]>).passed;
}

/** Is `a` at least as restrictive as `b`? (classification, TLP, releasability, caveats) */
export function atLeastAsRestrictive(a: Marking, b: Marking): boolean {
  return (
    classificationRank(a.classification) >= classificationRank(b.classification) &&
    TLP_LEVELS.indexOf(a.tlp) >= TLP_LEVELS.indexOf(b.tlp) &&
    a.releasableTo.every((r) => b.releasableTo.includes(r)) &&
    b.caveats.every((c) => a.caveats.includes(c))
  );
}

/** The first equality value of a STIX pattern (`[ipv4-addr:value = '198.51.100.7']` → the address). */
export function patternObservable(pattern: unknown): string | null {
  if (typeof pattern !== 'string') return null;
  const match = /(?<![!<>=])=\s*'((?:[^'\\]|\\.)*)'/.exec(pattern);
  return match ? match[1]!.replace(/\\(.)/g, '$1') : null;
}

/**
 * The value a field would show an all-seeing caller, from the raw row; undefined for fields whose
 * value is other objects (references, places, victims), which the test checks against links.
 */
export function rawFieldValue(row: RawRow, type: NationTypeName, field: string): { value: unknown } | undefined {
  const doc = row.doc;
  const source = FIELD_SOURCES[type][field];
  if (source?.direct) return { value: doc[source.property] ?? null };
  switch (field) {
    case 'id':
      return { value: row.id };
    case 'stixId':
      return { value: row.stix_id };
    case 'nation':
      return { value: row.nation };
    case 'created':
      return { value: row.created };
    case 'modified':
      return { value: row.modified };
    case 'marking':
      return { value: rowMarking(row) ?? null };
    case 'observable':
      return type === 'Indicator' ? { value: patternObservable(doc.pattern) } : undefined;
    case 'killChainPhases': {
      if (type !== 'Indicator') return undefined;
      const phases = doc.kill_chain_phases;
      return {
        value: Array.isArray(phases)
          ? phases.map((p: Record<string, unknown>) => ({ killChainName: p.kill_chain_name, phaseName: p.phase_name }))
          : null,
      };
    }
    case 'source': {
      if (type !== 'Indicator') return undefined;
      const s = doc.x_sovgraph_source as Record<string, unknown> | undefined;
      return { value: s && typeof s === 'object' ? { name: s.name ?? null, kind: s.kind ?? null } : null };
    }
    case 'techniques':
      return type === 'Indicator' || type === 'Incident' ? { value: row.technique_ids.map((id) => ({ id })) } : undefined;
    default:
      return undefined;
  }
}

/**
 * Values taken from other objects, as the oracle reads them: the kinds of stored link each follows
 * from its object, the types it shows, and (for an identity that does not say its country) the
 * location it is located at, whose country it shows.
 */
const DERIVED: Partial<Record<NationTypeName, Record<string, { kinds: string[]; types: string[]; countryThroughLocation?: true }>>> = {
  Sighting: { whereSighted: { kinds: ['where-sighted'], types: ['identity', 'location'], countryThroughLocation: true } },
  Incident: { victim: { kinds: ['targets'], types: ['identity'] }, vulnerabilities: { kinds: ['related-to', 'targets'], types: ['vulnerability'] } },
};

/**
 * The facts with each derived field's marking: the object's (and the field's granular marking)
 * combined with the marking of every object the field shows the principal — those that pass the
 * baseline on their own marking — kept only where that is more restrictive.
 */
export function withDerivedMarkings(
  facts: ObjectFacts & { type: NationTypeName },
  row: RawRow,
  principal: Principal,
  communities: Readonly<Record<string, readonly string[]>>,
  linkedRows: (row: RawRow, kinds: readonly string[], types: readonly string[]) => RawRow[],
): ObjectFacts & { type: NationTypeName } {
  const derived = DERIVED[facts.type];
  if (!derived || !facts.marking) return facts;
  const fieldMarkings: Record<string, Marking> = { ...facts.fieldMarkings };
  for (const [field, source] of Object.entries(derived)) {
    const shown = linkedRows(row, source.kinds, source.types).filter((r) => baselineAllows(principal, r, communities));
    if (source.countryThroughLocation) {
      for (const place of [...shown]) {
        if (place.type === 'identity' && typeof place.doc.x_sovgraph_country !== 'string') shown.push(...linkedRows(place, ['located-at'], ['location']).filter((r) => baselineAllows(principal, r, communities)));
      }
    }
    if (!shown.length) continue;
    const base = effectiveMarking(facts, field)!;
    const combined = combineMarkings(base, ...shown.map((r) => rowMarking(r) ?? CLOSED));
    if (!(atLeastAsRestrictive(base, combined) && atLeastAsRestrictive(combined, base))) fieldMarkings[field] = combined;
  }
  return { ...facts, fieldMarkings };
}

const CLOSED: Marking = { classification: 'TOP_SECRET', tlp: 'RED', releasableTo: [], caveats: ['NOFORN'] };
