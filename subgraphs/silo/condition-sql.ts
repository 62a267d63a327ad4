/**
 * The policy engine's object conditions (policies' `ObjectCondition`) compiled to a SQL predicate on
 * a `stix_object` row. It must hold for exactly the rows `evaluateCondition` holds for, or fail
 * closed: a field-value condition the silo cannot compare becomes NULL, and in SQL's three-valued
 * logic a NULL never lets in a row the engine keeps out (NOT NULL is NULL, not TRUE: a row whose
 * visibility rests on it stays out). A property test holds the two to this, on random conditions.
 */
import { CLASSIFICATIONS, TLP_LEVELS, type ObjectCondition } from '../../policies';
import type { Bind } from './queries';

/** The document property a field-value condition may compare on, or undefined when none may be. */
export type PropertyOf = (field: string) => string | undefined;

export function conditionSql(condition: ObjectCondition, alias: string, bind: Bind, propertyOf: PropertyOf): string {
  const { texts, slots, values } = templateOf(condition, alias, propertyOf);
  const placeholders = values.map(bind);
  let sql = texts[0]!;
  for (let i = 0; i < slots.length; i++) sql += placeholders[slots[i]!]! + texts[i + 1]!;
  return sql;
}

/** A compiled condition: its SQL text around slots, each slot the index of a value bound once (a value may fill several). */
interface Template {
  texts: string[];
  slots: number[];
  values: unknown[];
}

/**
 * Conditions come from the engine, one object per principal class, owner and type, and every
 * statement of every request applies one: each is compiled once per alias and property mapping.
 */
const templates = new WeakMap<ObjectCondition, Map<string, WeakMap<PropertyOf, Template>>>();
const SLOT = /\u0000(\d+)\u0000/;

function templateOf(condition: ObjectCondition, alias: string, propertyOf: PropertyOf): Template {
  let byAlias = templates.get(condition);
  if (!byAlias) templates.set(condition, (byAlias = new Map()));
  let byMapping = byAlias.get(alias);
  if (!byMapping) byAlias.set(alias, (byMapping = new WeakMap()));
  let template = byMapping.get(propertyOf);
  if (!template) {
    const values: unknown[] = [];
    const pieces = compile(condition, alias, (value) => `\u0000${values.push(value) - 1}\u0000`, propertyOf).split(SLOT);
    template = { texts: pieces.filter((_, i) => i % 2 === 0), slots: pieces.filter((_, i) => i % 2 === 1).map(Number), values };
    byMapping.set(propertyOf, template);
  }
  return template;
}

function compile(condition: ObjectCondition, alias: string, bind: Bind, propertyOf: PropertyOf): string {
  const recurse = (c: ObjectCondition) => compile(c, alias, bind, propertyOf);
  switch (condition.kind) {
    case 'always':
      return 'TRUE';
    case 'never':
      return 'FALSE';
    // Empty, as evaluateCondition reads them: every one of none holds, some one of none does not.
    case 'all':
      return condition.of.length ? `(${condition.of.map(recurse).join(' AND ')})` : 'TRUE';
    case 'any':
      return condition.of.length ? `(${condition.of.map(recurse).join(' OR ')})` : 'FALSE';
    case 'not':
      return `(NOT ${recurse(condition.condition)})`;
    case 'classification-in':
      return rankSql(`${alias}.classification`, condition.levels.map((l) => CLASSIFICATIONS.indexOf(l)), bind);
    case 'tlp-in':
      return rankSql(`${alias}.tlp`, condition.levels.map((l) => TLP_LEVELS.indexOf(l)), bind);
    case 'caveats-any':
      return `${alias}.caveats && ${bind(condition.caveats)}::text[]`;
    case 'releasable-to-any':
      return `${alias}.releasable_to && ${bind(condition.names)}::text[]`;
    case 'field-value':
      return fieldValueSql(condition.condition, alias, bind, propertyOf);
  }
}

/**
 * A rank column in a set of ranks. The sets the baseline makes are runs ("at most SECRET", "not
 * RED"): a range test on the column, cheaper per row than an array to bind, parse and search. Still
 * a test, never TRUE: a rank outside the vocabulary matches nothing.
 */
function rankSql(column: string, ranks: number[], bind: Bind): string {
  const sorted = [...new Set(ranks)].filter((r) => r >= 0).sort((a, b) => a - b);
  if (sorted.length === 0) return 'FALSE';
  const [low, high] = [sorted[0]!, sorted.at(-1)!];
  if (high - low + 1 === sorted.length) return low === high ? `${column} = ${low}` : `${column} BETWEEN ${low} AND ${high}`;
  return `${column} = ANY(${bind(sorted)}::smallint[])`;
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
