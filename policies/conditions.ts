/**
 * Conditions on an object's marking and field values, as data. The engine reduces "may this
 * principal see this object at all?" to one of these for a given principal, owner and type, so a
 * silo can compile it to its own query language (SQL for the nation subgraphs) and never read an
 * object out of storage that the principal may not know exists.
 *
 * Every leaf is positive (a level in a set, a list that shares a name…): a value outside the
 * vocabulary matches no leaf, so storage with an unknown level fails closed.
 */
import { classificationRank, tlpRank, type Classification, type Marking, type Tlp } from './markings';
import type { FieldValueCondition } from './rule-schema';

export type ObjectCondition =
  | { kind: 'always' }
  | { kind: 'never' }
  | { kind: 'all'; of: ObjectCondition[] }
  | { kind: 'any'; of: ObjectCondition[] }
  | { kind: 'not'; condition: ObjectCondition }
  /** The object's classification is one of these levels. */
  | { kind: 'classification-in'; levels: Classification[] }
  /** The object's TLP is one of these levels. */
  | { kind: 'tlp-in'; levels: Tlp[] }
  /** The object's caveats hold at least one of these. */
  | { kind: 'caveats-any'; caveats: string[] }
  /** The object's releasable-to list names at least one of these nations or communities. */
  | { kind: 'releasable-to-any'; names: string[] }
  /** A field value condition of a rule, on the field's stored value. */
  | { kind: 'field-value'; condition: FieldValueCondition };

export const ALWAYS: ObjectCondition = { kind: 'always' };
export const NEVER: ObjectCondition = { kind: 'never' };

/** Conjunction, simplified: `never` absorbs, `always` drops out. */
export function allOf(conditions: ObjectCondition[]): ObjectCondition {
  const kept: ObjectCondition[] = [];
  for (const c of conditions) {
    if (c.kind === 'never') return NEVER;
    if (c.kind !== 'always') kept.push(c);
  }
  return kept.length === 0 ? ALWAYS : kept.length === 1 ? kept[0]! : { kind: 'all', of: kept };
}

/** Disjunction, simplified: `always` absorbs, `never` drops out. */
export function anyOf(conditions: ObjectCondition[]): ObjectCondition {
  const kept: ObjectCondition[] = [];
  for (const c of conditions) {
    if (c.kind === 'always') return ALWAYS;
    if (c.kind !== 'never') kept.push(c);
  }
  return kept.length === 0 ? NEVER : kept.length === 1 ? kept[0]! : { kind: 'any', of: kept };
}

export function not(condition: ObjectCondition): ObjectCondition {
  if (condition.kind === 'always') return NEVER;
  if (condition.kind === 'never') return ALWAYS;
  return { kind: 'not', condition };
}

/**
 * Evaluates a condition on an object in memory: the reference semantics every compilation of a
 * condition (e.g. to SQL) must agree with.
 */
export function evaluateCondition(condition: ObjectCondition, marking: Marking, values: Readonly<Record<string, unknown>> = {}): boolean {
  switch (condition.kind) {
    case 'always':
      return true;
    case 'never':
      return false;
    case 'all':
      return condition.of.every((c) => evaluateCondition(c, marking, values));
    case 'any':
      return condition.of.some((c) => evaluateCondition(c, marking, values));
    case 'not':
      return !evaluateCondition(condition.condition, marking, values);
    case 'classification-in':
      return condition.levels.includes(marking.classification);
    case 'tlp-in':
      return condition.levels.includes(marking.tlp);
    case 'caveats-any':
      return condition.caveats.some((c) => marking.caveats.includes(c));
    case 'releasable-to-any':
      return condition.names.some((n) => marking.releasableTo.includes(n));
    case 'field-value':
      return fieldValueHolds(condition.condition, values[condition.condition.field]);
  }
}

/** The fields whose values a condition compares (none: it reads markings only). */
export function fieldsReadBy(condition: ObjectCondition): string[] {
  switch (condition.kind) {
    case 'field-value':
      return [condition.condition.field];
    case 'all':
    case 'any':
      return condition.of.flatMap(fieldsReadBy);
    case 'not':
      return fieldsReadBy(condition.condition);
    default:
      return [];
  }
}

/** How rules compare a field's value: shared by the engine and `evaluateCondition`. */
export function fieldValueHolds(condition: FieldValueCondition, value: unknown): boolean {
  if (condition.equals !== undefined) return value === condition.equals;
  if (condition.in !== undefined) return condition.in.includes(value as string | number);
  if (condition.contains !== undefined) return Array.isArray(value) && value.includes(condition.contains);
  return false;
}

/** Levels at or above `level`, and at or below it, in vocabulary order. */
export function classificationsAtMost(levels: readonly Classification[], level: Classification): Classification[] {
  return levels.filter((l) => classificationRank(l) <= classificationRank(level));
}

export function classificationsAtLeast(levels: readonly Classification[], level: Classification): Classification[] {
  return levels.filter((l) => classificationRank(l) >= classificationRank(level));
}

export function tlpsAtLeast(levels: readonly Tlp[], level: Tlp): Tlp[] {
  return levels.filter((l) => tlpRank(l) >= tlpRank(level));
}
