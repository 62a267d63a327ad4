/**
 * The policy engine's object conditions (policies' `ObjectCondition`) compiled to a SQL predicate on
 * a `stix_object` row. It must hold for exactly the rows `evaluateCondition` holds for, or fail
 * closed: a field-value condition the silo cannot compare becomes NULL, and a NULL predicate keeps
 * the row out whatever NOT, AND or OR surround it with (SQL's three-valued logic).
 */
import { CLASSIFICATIONS, TLP_LEVELS, type ObjectCondition } from '../../policies';
import type { Bind } from './queries';

/** The document property a field-value condition may compare on, or undefined when none may be. */
export type PropertyOf = (field: string) => string | undefined;

export function conditionSql(condition: ObjectCondition, alias: string, bind: Bind, propertyOf: PropertyOf): string {
  const recurse = (c: ObjectCondition) => conditionSql(c, alias, bind, propertyOf);
  switch (condition.kind) {
    case 'always':
      return 'TRUE';
    case 'never':
      return 'FALSE';
    case 'all':
      return `(${condition.of.map(recurse).join(' AND ')})`;
    case 'any':
      return `(${condition.of.map(recurse).join(' OR ')})`;
    case 'not':
      return `(NOT ${recurse(condition.condition)})`;
    case 'classification-in':
      return `${alias}.classification = ANY(${bind(condition.levels.map((l) => CLASSIFICATIONS.indexOf(l)))}::smallint[])`;
    case 'tlp-in':
      return `${alias}.tlp = ANY(${bind(condition.levels.map((l) => TLP_LEVELS.indexOf(l)))}::smallint[])`;
    case 'caveats-any':
      return `${alias}.caveats && ${bind(condition.caveats)}::text[]`;
    case 'releasable-to-any':
      return `${alias}.releasable_to && ${bind(condition.names)}::text[]`;
    case 'field-value':
      return fieldValueSql(condition.condition, alias, bind, propertyOf);
  }
}

function fieldValueSql(condition: Extract<ObjectCondition, { kind: 'field-value' }>['condition'], alias: string, bind: Bind, propertyOf: PropertyOf): string {
  const property = propertyOf(condition.field);
  if (property === undefined) return 'NULL';
  // jsonb comparisons keep JSON's types: the string "5" is not the number 5, as in the engine.
  const value = `${alias}.doc -> ${bind(property)}`;
  if (condition.equals !== undefined) return `COALESCE(${value} = ${bind(JSON.stringify(condition.equals))}::jsonb, FALSE)`;
  if (condition.in !== undefined) return `COALESCE(${value} = ANY(${bind(condition.in.map((v) => JSON.stringify(v)))}::jsonb[]), FALSE)`;
  if (condition.contains !== undefined) {
    return `COALESCE(jsonb_typeof(${value}) = 'array' AND ${value} @> ${bind(JSON.stringify([condition.contains]))}::jsonb, FALSE)`;
  }
  return 'NULL';
}
