/**
 * Values derived from other objects (a sighting's places, an incident's victim and
 * vulnerabilities) are decided on the markings of the objects they show as well as their own
 * object's: each shown object's marking is folded into the field's granular marking, so the
 * baseline, every rule (one reading the TLP sees the combined TLP), the gateway (which gets the
 * field markings in `policyMarkings`) and the `extensions.marking` banner all see one marking.
 *
 * Only what the caller would be shown counts: the silo's SQL leaves out a place whose own marking
 * fails the baseline, so its marking neither restricts the field nor reaches the gateway.
 */
import { combineMarkings, type Marking, type ObjectFacts } from '../../policies';
import type { ObjectRow } from '../silo';
import { loadLinks, type NationLoaders } from './loaders';
import { markingOf } from './stix-fields';
import { DERIVED_SOURCES, type DerivedSource, type NationTypeName } from './stix-properties';

/** A marking outside the vocabulary on a shown object: the field is then as closed as a marking can be. */
const CLOSED: Marking = { classification: 'TOP_SECRET', tlp: 'RED', releasableTo: [], caveats: ['NOFORN'] };

/** Whether a field's value is taken from other objects, so its decision needs `derivedFacts`. */
export function isDerivedField(type: NationTypeName, field: string): boolean {
  return DERIVED_SOURCES[type]?.[field] !== undefined;
}

/** The objects a derived field of `row` shows (and those it reads part of its value through). */
export async function shownObjects(loaders: NationLoaders, row: ObjectRow, source: DerivedSource): Promise<ObjectRow[]> {
  const shown = await heldFarEnds(loaders, row, source.kinds, source.types);
  const { through } = source;
  if (!through) return shown;
  const further = await Promise.all(shown.filter(through.when).map((item) => heldFarEnds(loaders, item, through.kinds, through.types)));
  return [...shown, ...further.flat()];
}

async function heldFarEnds(loaders: NationLoaders, row: ObjectRow, kinds: readonly string[], types: readonly string[]): Promise<ObjectRow[]> {
  const linked = await loadLinks(loaders.linksFrom, row.id, kinds);
  return linked.flatMap(({ far }) => (far && types.includes(far.type) ? [far] : []));
}

/**
 * The facts of a row with its derived fields' markings folded in (memoised per row and request:
 * rows are loaded per request, and what a caller is shown depends on the caller).
 */
export function createDerivedFactsReader(facts: (row: ObjectRow, type: NationTypeName) => ObjectFacts, loaders: NationLoaders) {
  const memo = new WeakMap<ObjectRow, Promise<ObjectFacts>>();
  return (row: ObjectRow, type: NationTypeName): Promise<ObjectFacts> => {
    let derived = memo.get(row);
    if (!derived) memo.set(row, (derived = withDerivedMarkings(facts(row, type), loaders, row, type)));
    return derived;
  };
}

async function withDerivedMarkings(own: ObjectFacts, loaders: NationLoaders, row: ObjectRow, type: NationTypeName): Promise<ObjectFacts> {
  const sources = Object.entries(DERIVED_SOURCES[type] ?? {});
  if (!own.marking || sources.length === 0) return own;
  const fieldMarkings: Record<string, Marking> = { ...own.fieldMarkings };
  await Promise.all(
    sources.map(async ([field, source]) => {
      const shown = await shownObjects(loaders, row, source);
      if (shown.length === 0) return;
      const base = fieldMarkings[field] ? combineMarkings(own.marking!, fieldMarkings[field]!) : own.marking!;
      const combined = combineMarkings(base, ...shown.map(markingOrClosed));
      if (!sameMarking(combined, base)) fieldMarkings[field] = combined;
    }),
  );
  return { ...own, fieldMarkings };
}

function markingOrClosed(row: ObjectRow): Marking {
  try {
    return markingOf(row);
  } catch {
    return CLOSED;
  }
}

function sameMarking(a: Marking, b: Marking): boolean {
  const key = (m: Marking) => `${m.classification}/${m.tlp}/${[...m.releasableTo].sort().join(',')}/${[...m.caveats].sort().join(',')}`;
  return key(a) === key(b);
}
