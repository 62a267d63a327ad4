/**
 * Enforcement at source: every field of the nation subgraph's schema is wrapped once, here, so no
 * resolver carries a hand-written check and a field added to the contract is decided like the rest.
 *
 * Types fall in three kinds:
 * - nation-owned types (implementing NationObject): every field is decided by the policy engine for
 *   the caller, on the row's owner, marking, granular markings and values;
 * - carried types (connections, markings, places, …), reached from the kit's own query fields:
 *   their values are part of a decided field or of the list's structure, so they pass;
 * - any other type, and any query field the kit does not know: every field is withheld.
 */
import {
  defaultFieldResolver,
  getNamedType,
  isInterfaceType,
  isNonNullType,
  isObjectType,
  isUnionType,
  responsePathAsArray,
  type GraphQLField,
  type GraphQLFieldResolver,
  type GraphQLNamedType,
  type GraphQLObjectType,
  type GraphQLResolveInfo,
  type GraphQLSchema,
} from 'graphql';
import { applyTransform, KEPT_FIELDS, NOT_APPLICABLE, redact, type Decision, type ObjectFacts, type TransformName } from '../../policies';
import type { ObjectRow } from '../silo';
import type { NationContext } from './context';
import { isDerivedField } from './derived';
import { isForeign, type NationObjectParent } from './references';
import { withheldError, withheldField } from './releases';
import type { NationTypeName } from './stix-properties';

const NATION_OBJECT = 'NationObject';
const FEDERATION_QUERY_FIELDS = ['_entities', '_service'];

/** A value generalised field by field: its type's resolvers answer only the properties kept. */
const GENERALISED = Symbol('generalised');
interface Generalised {
  [GENERALISED]: TransformName;
  value: unknown;
}

type Resolver = GraphQLFieldResolver<unknown, NationContext>;

/** Wraps the schema's resolvers in place and returns it. `queryFields`: the root fields the kit answers. */
export function enforcePolicy(schema: GraphQLSchema, queryFields: readonly string[]): GraphQLSchema {
  const query = schema.getQueryType()!;
  const known = new Set([...queryFields, ...FEDERATION_QUERY_FIELDS]);
  const carried = carriedTypes(schema, [...known].map((name) => query.getFields()[name]).filter((f) => f !== undefined));
  for (const type of Object.values(schema.getTypeMap())) {
    if (!isObjectType(type) || type.name.startsWith('__')) continue;
    for (const field of Object.values(type.getFields())) {
      const original = (field.resolve ?? defaultFieldResolver) as Resolver;
      if (type === query) field.resolve = known.has(field.name) ? original : refused(type.name, field.name);
      else if (isNationType(type)) field.resolve = decided(type.name as NationTypeName, field, original);
      else if (carried.has(type.name)) field.resolve = generalisable(field.name, original);
      else field.resolve = refused(type.name, field.name);
    }
  }
  return schema;
}

function isNationType(type: GraphQLObjectType): boolean {
  return type.getInterfaces().some((i) => i.name === NATION_OBJECT);
}

/** Every type reachable from the known root fields, nation-owned types excluded (they are decided). */
function carriedTypes(schema: GraphQLSchema, roots: GraphQLField<unknown, unknown>[]): Set<string> {
  const seen = new Set<string>();
  const carried = new Set<string>();
  const queue: GraphQLNamedType[] = roots.map((field) => getNamedType(field.type));
  while (queue.length) {
    const type = queue.pop()!;
    if (seen.has(type.name)) continue;
    seen.add(type.name);
    if (isInterfaceType(type) || isUnionType(type)) queue.push(...schema.getPossibleTypes(type));
    if (!isObjectType(type)) continue;
    if (!isNationType(type)) carried.add(type.name);
    for (const field of Object.values(type.getFields())) queue.push(getNamedType(field.type));
  }
  return carried;
}

function refused(typeName: string, fieldName: string): Resolver {
  return (_parent, _args, _ctx, info) => {
    throw withheldError('the contract', typeName, typeName, fieldName, `unknown-field:${typeName}.${fieldName}`, info);
  };
}

function decided(typeName: NationTypeName, field: GraphQLField<unknown, unknown>, original: Resolver): Resolver {
  const named = getNamedType(field.type);
  const valueKind: ValueKind = isObjectType(named) && !isNationType(named) ? 'carried-object' : isObjectType(named) || isInterfaceType(named) ? 'nation-object' : 'scalar';
  const nullable = !isNonNullType(field.type);
  const derived = isDerivedField(typeName, field.name);
  return (parent, args, ctx, info) => {
    const object = parent as NationObjectParent;
    // A reference to another nation's object answers only what its id says; its owner decides the rest.
    if (isForeign(object)) return original(parent, args, ctx, info);
    // A value taken from other objects is decided on their markings too: they must be read first.
    if (derived) return ctx.derivedFacts(object, typeName).then((facts) => decideField(facts, object, parent, args, ctx, info));
    return decideField(ctx.facts(object, typeName), object, parent, args, ctx, info);
  };

  function decideField(facts: ObjectFacts, object: ObjectRow, parent: unknown, args: Record<string, unknown>, ctx: NationContext, info: GraphQLResolveInfo): unknown {
    const decision = ctx.policy.decide(ctx.principal, facts, field.name);
    if (decision.effect === 'allow') {
      ctx.releases.release(object.id);
      return original(parent, args, ctx, info);
    }
    const at: FieldAt = { typeName, field: field.name, nullable, object, path: responsePathAsArray(info.path), info, ctx };
    if (decision.effect === 'deny') return withhold(at, decision.reason);
    return then(original(parent, args, ctx, info), (value) => {
      const altered = alter(decision, value, valueKind);
      if (altered === NOT_APPLICABLE) return withhold(at, `${decision.reason} (${decision.transform} does not apply to this value)`);
      // Released only once its altered value is known: a transform that does not apply releases nothing.
      ctx.releases.release(object.id);
      const release = { object: object.id, field: field.name, path: at.path.join('.'), reason: decision.reason };
      if (decision.effect === 'redact') ctx.releases.redacted.push(release);
      else ctx.releases.transformed.push({ ...release, transform: decision.transform! });
      return altered;
    });
  }
}

/** A field of one object being answered, as a decision other than allow needs it. */
interface FieldAt {
  typeName: NationTypeName;
  field: string;
  nullable: boolean;
  object: NationObjectParent;
  path: Array<string | number>;
  info: Parameters<Resolver>[3];
  ctx: NationContext;
}

/** Null with its error noted for the answer; a non-null field throws it instead, and graphql-js nulls the parent. */
function withhold({ typeName, field, nullable, object, path, info, ctx }: FieldAt, reason: string): null {
  ctx.releases.withheld.push({ object: object.id, field, path: path.join('.'), reason });
  if (!nullable) throw withheldError(object.nation, object.id, typeName, field, reason, info);
  return withheldField(ctx.releases, object.nation, object.id, typeName, field, reason, path);
}

type ValueKind = 'scalar' | 'carried-object' | 'nation-object';

/**
 * Redacts or generalises a resolved value. A carried object is generalised by the resolvers of its
 * fields; another nation-owned object is never generalised (its own fields are decided on their own).
 */
function alter(decision: Decision, value: unknown, kind: ValueKind): unknown {
  if (decision.effect === 'redact') return redact(value);
  const transform = decision.transform!;
  if (kind === 'scalar') return applyTransform(transform, value);
  if (kind === 'nation-object' || !KEPT_FIELDS[transform]) return NOT_APPLICABLE;
  const wrap = (item: unknown): unknown => (item === null || item === undefined ? item : ({ [GENERALISED]: transform, value: item }) satisfies Generalised);
  return Array.isArray(value) ? value.map(wrap) : wrap(value);
}

function generalisable(fieldName: string, original: Resolver): Resolver {
  return (parent, args, ctx, info) => {
    if (!isGeneralised(parent)) return original(parent, args, ctx, info);
    return KEPT_FIELDS[parent[GENERALISED]]!.includes(fieldName) ? original(parent.value, args, ctx, info) : null;
  };
}

function isGeneralised(value: unknown): value is Generalised {
  return typeof value === 'object' && value !== null && GENERALISED in value;
}

function then<T>(value: T | Promise<T>, next: (value: T) => unknown): unknown {
  return value instanceof Promise ? value.then(next) : next(value);
}
