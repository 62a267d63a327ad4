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
