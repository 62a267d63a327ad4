/**
 * The marking vocabulary every part of sovgraph speaks: classification levels and TLP 2.0 levels,
 * each listed in increasing order of restriction so that comparing two levels is comparing indexes.
 * The contract SDL's `Classification` and `Tlp` enums must list the same names (a test checks it).
 */
export const CLASSIFICATIONS = ['UNCLASSIFIED', 'RESTRICTED', 'CONFIDENTIAL', 'SECRET', 'TOP_SECRET'] as const;
export type Classification = (typeof CLASSIFICATIONS)[number];

export const TLP_LEVELS = ['CLEAR', 'GREEN', 'AMBER', 'AMBER_STRICT', 'RED'] as const;
export type Tlp = (typeof TLP_LEVELS)[number];

/** Caveats sovgraph gives a meaning to; others are carried along and shown. */
export const KNOWN_CAVEATS = ['NOFORN', 'ORCON'] as const;

export interface Marking {
  classification: Classification;
  tlp: Tlp;
  /** ISO 3166 alpha-3 nations and community names (NATO, EU, FVEY, …). */
  releasableTo: string[];
  caveats: string[];
}

export function classificationRank(level: Classification): number {
  return CLASSIFICATIONS.indexOf(level);
}

export function tlpRank(level: Tlp): number {
  return TLP_LEVELS.indexOf(level);
}

export function isClassification(value: unknown): value is Classification {
  return typeof value === 'string' && (CLASSIFICATIONS as readonly string[]).includes(value);
}

export function isTlp(value: unknown): value is Tlp {
  return typeof value === 'string' && (TLP_LEVELS as readonly string[]).includes(value);
}

export function parseClassification(value: string, where: string): Classification {
  const upper = value.trim().toUpperCase().replace(/[\s-]+/g, '_');
  if (!isClassification(upper)) {
    throw new Error(`${where}: unknown classification "${value}" (expected one of ${CLASSIFICATIONS.join(', ')})`);
  }
  return upper;
}

export function parseTlp(value: string, where: string): Tlp {
  const upper = value.trim().toUpperCase().replace(/^TLP:/, '').replace(/[\s+-]+/g, '_');
  if (!isTlp(upper)) {
    throw new Error(`${where}: unknown TLP level "${value}" (expected one of ${TLP_LEVELS.join(', ')})`);
  }
  return upper;
}

/**
 * Combines markings so that the result is at least as restrictive as each of them: highest
 * classification, highest TLP, intersection of releasability, union of caveats.
 */
export function combineMarkings(first: Marking, ...rest: Marking[]): Marking {
  return rest.reduce<Marking>(
    (acc, next) => ({
      classification: classificationRank(next.classification) > classificationRank(acc.classification) ? next.classification : acc.classification,
      tlp: tlpRank(next.tlp) > tlpRank(acc.tlp) ? next.tlp : acc.tlp,
      releasableTo: acc.releasableTo.filter((r) => next.releasableTo.includes(r)),
      caveats: [...new Set([...acc.caveats, ...next.caveats])].sort(),
    }),
    { ...first, releasableTo: [...first.releasableTo], caveats: [...first.caveats] },
  );
}

/** ISO 3166 alpha-3: three capital letters. */
export function isNationCode(value: unknown): value is string {
  return typeof value === 'string' && /^[A-Z]{3}$/.test(value);
}

/**
 * An object's marking with its fields' granular markings, as a nation hands them to the gateway
 * (the contract's `PolicyMarkings`): only the fields marked more restrictively than the object.
 */
export interface MarkingSet {
  object: Marking;
  fields: Readonly<Record<string, Marking>>;
}

/**
 * A marking set read from another party's answer: undefined unless every part of it has a
 * marking's shape. A part that cannot be read is not skipped: the whole object then counts as
 * unmarked, which denies all of it. (Levels outside the vocabulary are the engine's to refuse.)
 */
export function readMarkingSet(value: unknown): MarkingSet | undefined {
  if (typeof value !== 'object' || value === null) return undefined;
  const { object, fields } = value as { object?: unknown; fields?: unknown };
  const marking = readMarking(object);
  if (!marking || typeof fields !== 'object' || fields === null || Array.isArray(fields)) return undefined;
  const entries = Object.entries(fields);
  // Most objects have no field marking: one shared empty set, not one per object of every answer.
  if (entries.length === 0) return { object: marking, fields: NO_FIELD_MARKINGS };
  // No prototype: a field named like an Object method must not find one.
  const read: Record<string, Marking> = Object.create(null);
  for (const [field, fieldValue] of entries) {
    const fieldMarking = readMarking(fieldValue);
    if (!fieldMarking) return undefined;
    read[field] = fieldMarking;
  }
  return { object: marking, fields: read };
}

const NO_FIELD_MARKINGS: Readonly<Record<string, Marking>> = Object.freeze(Object.create(null));

function readMarking(value: unknown): Marking | undefined {
  if (typeof value !== 'object' || value === null) return undefined;
  const m = value as Record<string, unknown>;
  if (typeof m.classification !== 'string' || typeof m.tlp !== 'string' || !isStringList(m.releasableTo) || !isStringList(m.caveats)) return undefined;
  return m as unknown as Marking;
}

function isStringList(value: unknown): value is string[] {
  return Array.isArray(value) && value.every((item) => typeof item === 'string');
}
