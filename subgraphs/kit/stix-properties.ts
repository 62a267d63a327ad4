/**
 * Which STIX property each contract field of a nation-owned type comes from. Two things need it and
 * must agree with the resolvers: a STIX granular marking names properties (`x_sovgraph_source`), the
 * policy decides fields (`source`); and a rule's field-value condition (`sector equals energy`) is
 * compiled to SQL on the stored document.
 */
import type { Marking } from '../../policies';

export type NationTypeName = 'Indicator' | 'Sighting' | 'Incident' | 'ThreatActor';

export interface FieldSource {
  /** The STIX property (top-level key of the stored document) the field is read from. */
  property: string;
  /** True when the GraphQL value is the stored value itself, so a rule may compare it in SQL. */
  direct?: true;
  /** Further properties the field's value shows: a granular marking of any of them marks the field too. */
  alsoShows?: readonly string[];
}

/** Every property whose granular marking marks the field. */
export function propertiesShownBy(source: FieldSource): readonly string[] {
  return source.alsoShows ? [source.property, ...source.alsoShows] : [source.property];
}

const COMMON: Record<string, FieldSource> = {
  id: { property: 'id' },
  stixId: { property: 'id' },
  created: { property: 'created' },
  modified: { property: 'modified' },
  marking: { property: 'object_marking_refs' },
  fieldMarkings: { property: 'granular_markings' },
  // Both markings in one value: whatever marks either of the two fields that show them marks it.
  policyMarkings: { property: 'object_marking_refs', alsoShows: ['granular_markings'] },
};

const direct = (property: string): FieldSource => ({ property, direct: true });

export const FIELD_SOURCES: Readonly<Record<NationTypeName, Readonly<Record<string, FieldSource>>>> = {
  Indicator: {
    ...COMMON,
    name: direct('name'),
    description: direct('description'),
    pattern: direct('pattern'),
    patternType: direct('pattern_type'),
    indicatorTypes: direct('indicator_types'),
    observable: { property: 'pattern' },
    validFrom: direct('valid_from'),
    validUntil: direct('valid_until'),
    confidence: direct('confidence'),
    killChainPhases: { property: 'kill_chain_phases' },
    source: { property: 'x_sovgraph_source' },
  },
  Sighting: {
    ...COMMON,
    sightingOf: { property: 'sighting_of_ref' },
    count: direct('count'),
    firstSeen: direct('first_seen'),
    lastSeen: direct('last_seen'),
    whereSighted: { property: 'where_sighted_refs' },
  },
  Incident: {
    ...COMMON,
    name: direct('name'),
    description: direct('description'),
    severity: direct('x_sovgraph_severity'),
    sector: direct('x_sovgraph_sector'),
    firstSeen: direct('x_sovgraph_first_seen'),
  },
  ThreatActor: {
    ...COMMON,
    name: direct('name'),
    description: direct('description'),
    aliases: direct('aliases'),
    motivation: direct('primary_motivation'),
    sophistication: direct('sophistication'),
  },
};

/** The STIX types stored for each contract type (a threat actor is a `threat-actor` or an `intrusion-set`). */
export const STIX_TYPES_OF: Readonly<Record<NationTypeName, readonly string[]>> = {
  Indicator: ['indicator'],
  Sighting: ['sighting'],
  Incident: ['incident'],
  ThreatActor: ['threat-actor', 'intrusion-set'],
};

export const NATION_TYPE_OF_STIX_TYPE: Readonly<Record<string, NationTypeName>> = Object.fromEntries(
  Object.entries(STIX_TYPES_OF).flatMap(([typeName, stixTypes]) => stixTypes.map((stixType) => [stixType, typeName as NationTypeName])),
);

/** The document property a rule may compare in SQL for this field; undefined when it may not. */
export function directPropertyOf(type: NationTypeName, field: string): string | undefined {
  const source = FIELD_SOURCES[type][field];
  return source?.direct ? source.property : undefined;
}

/**
 * The marking of every field a granular marking selects. A selector names a property and maybe a
 * path inside it (`kill_chain_phases.[0].phase_name`); marking part of a property marks the whole
 * field that shows it (the safe side). Several markings on one field combine most restrictively.
 */
export function fieldMarkingsOf(
  type: NationTypeName,
  granular: ReadonlyArray<{ selectors: readonly string[]; marking: Marking }>,
  combine: (a: Marking, b: Marking) => Marking,
): Record<string, Marking> {
  const marked: Record<string, Marking> = {};
  for (const { selectors, marking } of granular) {
    for (const selector of selectors) {
      const dot = selector.indexOf('.');
      for (const field of FIELDS_SHOWING[type].get(dot < 0 ? selector : selector.slice(0, dot)) ?? []) {
        marked[field] = marked[field] ? combine(marked[field]!, marking) : marking;
      }
    }
  }
  return marked;
}

/** Per type, the fields that show each document property (ids excepted: they are the object's own). */
const FIELDS_SHOWING = {} as Record<NationTypeName, ReadonlyMap<string, readonly string[]>>;
for (const [type, sources] of Object.entries(FIELD_SOURCES) as Array<[NationTypeName, (typeof FIELD_SOURCES)[NationTypeName]]>) {
  const showing = new Map<string, string[]>();
  for (const [field, source] of Object.entries(sources)) {
    if (field === 'id' || field === 'stixId') continue;
    for (const property of propertiesShownBy(source)) showing.set(property, [...(showing.get(property) ?? []), field]);
  }
  FIELDS_SHOWING[type] = showing;
}

/**
 * Fields whose value is taken from other objects of the silo (places, victims, vulnerabilities),
 * reached by references of `kinds` from the object. Such a value is as sensitive as what it is
 * taken from: the marking of each object it shows counts as a granular marking of the field.
 * `through`: objects a shown object leads on to for part of the value (an identity's country,
 * read from the location it is located at, when it does not say it itself).
 */
export interface DerivedSource {
  kinds: readonly string[];
  types: readonly string[];
  through?: { kinds: readonly string[]; types: readonly string[]; when: (shown: { type: string; doc: Readonly<Record<string, unknown>> }) => boolean };
}

/** An identity that does not say its country shows its location's (SightingLocation.country). */
const identityWithoutCountry = (shown: { type: string; doc: Readonly<Record<string, unknown>> }) => shown.type === 'identity' && typeof shown.doc.x_sovgraph_country !== 'string';

export const DERIVED_SOURCES: Readonly<Partial<Record<NationTypeName, Readonly<Record<string, DerivedSource>>>>> = {
  Sighting: {
    whereSighted: { kinds: ['where-sighted'], types: ['identity', 'location'], through: { kinds: ['located-at'], types: ['location'], when: identityWithoutCountry } },
  },
  Incident: {
    victim: { kinds: ['targets'], types: ['identity'] },
    vulnerabilities: { kinds: ['related-to', 'targets'], types: ['vulnerability'] },
  },
};
