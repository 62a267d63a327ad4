/**
 * How a nation subgraph applies the policy engine to its silo: which rows a caller may know exist
 * (compiled to SQL), and the facts the engine decides a row's fields on.
 */
import { combineMarkings, fieldsReadBy, type Marking, type ObjectCondition, type ObjectFacts, type PolicyEngine, type Principal } from '../../policies';
import { conditionSql, type FieldReleased, type ObjectRow, type Visibility } from '../silo';
import { markingOf } from './stix-fields';
import { directPropertyOf, FIELD_SOURCES, fieldMarkingsOf, NATION_TYPE_OF_STIX_TYPE, propertiesShownBy, STIX_TYPES_OF, type NationTypeName } from './stix-properties';

export const NATION_TYPES = Object.keys(STIX_TYPES_OF) as NationTypeName[];

/**
 * The rows of this silo a principal may know exist: for each contract type, the engine's condition
 * for its `id`; for the other objects a silo holds (places, victims, vulnerabilities: shown only as
 * values of a decided field), the marking baseline on their own marking.
 */
export function visibilityFor(engine: PolicyEngine, principal: Principal, nation: string): Visibility {
  const baseline = engine.baselineWhen(principal, nation);
  // Usually no rule says who may see which type: every type's condition is the marking baseline,
  // and a statement over several types needs that one condition, not a CASE (a type test per
  // branch, and every branch's values bound and parsed again per statement).
  const everyTypeIsBaseline = () => isBaselineForEveryType(engine, principal, nation, baseline);
  return (alias, bind, stixTypes) => {
    const typeSql = (type: NationTypeName) => conditionSql(engine.visibleWhen(principal, nation, type), alias, bind, PROPERTY_OF[type]);
    const listed = NATION_TYPES.filter((type) => !stixTypes || STIX_TYPES_OF[type].some((t) => stixTypes.includes(t)));
    const onlyNationTypes = stixTypes?.every((t) => NATION_TYPE_OF_STIX_TYPE[t]) ?? false;
    // A page of one type needs no CASE: its one condition is all the planner should see.
    if (onlyNationTypes && listed.length === 1) return typeSql(listed[0]!);
    if (!onlyNationTypes && everyTypeIsBaseline()) return conditionSql(baseline, alias, bind, NO_PROPERTIES);
    const branches = listed.map((type) => `WHEN ${alias}.type = ANY(${bind(STIX_TYPES_OF[type])}::text[]) THEN ${typeSql(type)}`);
    const others = onlyNationTypes ? 'FALSE' : conditionSql(baseline, alias, bind, NO_PROPERTIES);
    return `(CASE ${branches.join(' ')} ELSE ${others} END)`;
  };
}

/**
 * When a field a filter names is released to the principal as it is stored, per listed type: the
 * engine's condition for that field, and no granular marking on a property the field shows (such
 * a row is left out of the filter's matches: the safe side, as the granular marking is not compiled).
 */
export function releasedFor(engine: PolicyEngine, principal: Principal, nation: string): FieldReleased {
  return (alias, bind, stixTypes, field) => {
    const listed = NATION_TYPES.filter((type) => STIX_TYPES_OF[type].some((t) => stixTypes.includes(t)));
    const branches = listed.map((type) => {
      const released = conditionSql(engine.releasedWhen(principal, nation, type, field), alias, bind, PROPERTY_OF[type]);
      const source = FIELD_SOURCES[type][field];
      const unmarked = source
        ? `NOT EXISTS (SELECT 1 FROM jsonb_array_elements(${alias}.granular) g, jsonb_array_elements_text(g->'selectors') s(selector) WHERE split_part(s.selector, '.', 1) = ANY(${bind(propertiesShownBy(source))}::text[]))`
        : 'TRUE';
      const typed = listed.length > 1 ? `${alias}.type = ANY(${bind(STIX_TYPES_OF[type])}::text[]) AND ` : '';
      return `(${typed}${released} AND ${unmarked})`;
    });
    return branches.length ? `(${branches.join(' OR ')})` : 'FALSE';
  };
}

/**
 * The engine hands out one condition object per principal class and owner (and type), so whether
 * every type's condition is the baseline is worked out once per baseline object, not per request.
 */
const baselineForEveryType = new WeakMap<ObjectCondition, boolean>();
function isBaselineForEveryType(engine: PolicyEngine, principal: Principal, nation: string, baseline: ObjectCondition): boolean {
  let same = baselineForEveryType.get(baseline);
  if (same === undefined) {
    same = NATION_TYPES.every((type) => sameMarkingCondition(engine.visibleWhen(principal, nation, type), baseline));
    baselineForEveryType.set(baseline, same);
  }
  return same;
}

/** How each type's rules read field values in SQL, and the objects no rule reads (one function each: compiled SQL is kept per function). */
const PROPERTY_OF = Object.fromEntries(NATION_TYPES.map((type) => [type, (field: string) => directPropertyOf(type, field)])) as Record<NationTypeName, (field: string) => string | undefined>;
const NO_PROPERTIES = (): undefined => undefined;

/** The same condition, on markings only (a field value is read through each type's own properties). */
function sameMarkingCondition(a: ObjectCondition, b: ObjectCondition): boolean {
  return a === b || (fieldsReadBy(a).length === 0 && JSON.stringify(a) === JSON.stringify(b));
}

/**
 * What the engine needs to decide a row's fields, worked out once per row and request: the owner,
 * the object's marking, each field's granular marking, and the stored values rules compare.
 */
export function createFactsReader(engine: PolicyEngine): (row: ObjectRow, type: NationTypeName) => ObjectFacts {
  const memo = new WeakMap<ObjectRow, ObjectFacts>();
  return (row, type) => {
    let facts = memo.get(row);
    if (!facts) {
      facts = { type, owner: row.nation, marking: markingOrUndefined(row), fieldMarkings: fieldMarkingsOf(type, granularOf(row), combineMarkings), values: valuesOf(engine, row, type) };
      memo.set(row, facts);
    }
    return facts;
  };
}

/** A marking outside the vocabulary is no marking: everything of the row is then denied. */
function markingOrUndefined(row: ObjectRow): Marking | undefined {
  try {
    return markingOf(row);
  } catch {
    return undefined;
  }
}

function granularOf(row: ObjectRow): Array<{ selectors: string[]; marking: Marking }> {
  return Array.isArray(row.granular) ? (row.granular as Array<{ selectors: string[]; marking: Marking }>) : [];
}

function valuesOf(engine: PolicyEngine, row: ObjectRow, type: NationTypeName): Record<string, unknown> | undefined {
  const fields = engine.fieldsLookedAt(type);
  if (fields.length === 0) return undefined;
  const values: Record<string, unknown> = {};
  for (const field of fields) {
    const property = FIELD_SOURCES[type][field]?.direct ? FIELD_SOURCES[type][field]!.property : undefined;
    if (property !== undefined) values[field] = row.doc[property];
  }
  return values;
}
