/**
 * After execution, the composed answer is walked along the client's own operation: every field of
 * every nation-owned object is decided again by the policy engine (coalition rules plus every
 * nation's), whatever the nation's subgraph already did; the fields the rewrite injected are read
 * and removed; and the marking of everything released is rolled up for the app's banner.
 *
 * A nation-owned object the caller may not see (no marking arrived, or its id is not released) is
 * left out of a list, and is `null` with a WITHHELD error where a single object was expected.
 */
import {
  getNamedType,
  GraphQLError,
  isAbstractType,
  isObjectType,
  Kind,
  visit,
  GraphQLSkipDirective,
  GraphQLIncludeDirective,
  getDirectiveValues,
  type DocumentNode,
  type FieldNode,
  type FragmentDefinitionNode,
  type GraphQLFormattedError,
  type GraphQLNamedType,
  type GraphQLObjectType,
  type GraphQLSchema,
  type OperationDefinitionNode,
  type SelectionSetNode,
} from 'graphql';
import {
  applyTransform,
  combineMarkings,
  NOT_APPLICABLE,
  readMarkingSet,
  redact,
  type Decision,
  type Marking,
  type ObjectFacts,
  type PolicyEngine,
  type Principal,
} from '../../policies';
import { ownerOf } from '../global-id';
import { INJECTED, INJECTED_PREFIX, isNationType, OBJECT_INPUTS, selectsPlainly, valueInput, type PolicyInput } from './rewrite';

/** The roll-up of what was released: `extensions.marking`. */
export interface ReleasedMarking extends Marking {
  owners: string[];
}

export interface AlteredField {
  path: Array<string | number>;
  owner: string;
  reason: string;
  transform?: string;
}

/**
 * An error of the answer: Apollo's (a GraphQLError), or a policy outcome already in its answer's
 * form — a field withheld at source or here. Withheld fields are many (one per object on a page) and
 * no fault: they never pay for a GraphQLError and its stack trace.
 */
export type AnswerError = GraphQLError | GraphQLFormattedError;

export interface Enforced {
  data: Record<string, unknown> | null | undefined;
  /** In their new places (lists that lost items), the dropped items' left out. */
  errors: AnswerError[];
  marking: ReleasedMarking | null;
  redacted: AlteredField[];
  transformed: AlteredField[];
}

interface WalkState {
  schema: GraphQLSchema;
  engine: PolicyEngine;
  principal: Principal;
  variables: Record<string, unknown>;
  errors: AnswerError[];
  /** Paths (joined) that already carry an error: a field withheld at source is not reported twice. */
  erroredPaths: Set<string>;
  /** Of those, the paths withheld (by a nation or here): a null list item there was an object left out. */
  withheldPaths: Set<string>;
  /** Markings of released values, one per object (see releaseField) and per marked field: rolled up once at the end. */
  released: Set<Marking>;
  owners: Set<string>;
  /** The facts whose marking and owner were noted last (see releaseField). */
  lastReleased?: ObjectFacts;
  /** Where an object the caller may not see was nulled (joined, as the nations' answer had it): what was reported below it goes too. */
  nulled: string[];
  /** Lists that lost items, by their path (joined, as the nations' answer had it): old index → new, or null. */
  remaps: Map<string, Map<number, number | null>>;
  redacted: AlteredField[];
  transformed: AlteredField[];
  sealCursor?: (cursor: string) => string;
  shape: ShapeOfQuery;
  /** The owner of each object found invisible, read from its policy inputs before they were stripped. */
  invisibleOwners: WeakMap<object, string>;
}

/**
 * What the walk works out from the query alone. The server hands every request that sends a query
 * the same parsed document, so this is kept per document (and rules: the inputs depend on them),
 * unless @skip or @include let a request's variables change which fields are selected.
 */
interface ShapeOfQuery {
  fragments: Map<string, FragmentDefinitionNode>;
  /** collectFields per selection set and runtime type: a page of 50 alike objects collects once. */
  collected: WeakMap<SelectionSetNode, Map<GraphQLObjectType, Map<string, FieldNode[]>>>;
  /** Each collected field set as the walk goes through it. */
  plans: WeakMap<Map<string, FieldNode[]>, PlannedField[]>;
  /** Where each policy input is read, per collected field set: the injected alias or the client's own key. */
  inputKeys: WeakMap<Map<string, FieldNode[]>, InputKeys>;
}

const shapes = new WeakMap<DocumentNode, WeakMap<PolicyEngine, ShapeOfQuery>>();
const conditional = new WeakMap<DocumentNode, boolean>();

function shapeOf(document: DocumentNode, engine: PolicyEngine): ShapeOfQuery {
  const fresh = (): ShapeOfQuery => ({
    fragments: new Map(document.definitions.filter((d): d is FragmentDefinitionNode => d.kind === Kind.FRAGMENT_DEFINITION).map((d) => [d.name.value, d])),
    collected: new WeakMap(),
    plans: new WeakMap(),
    inputKeys: new WeakMap(),
  });
  let skipsOrIncludes = conditional.get(document);
  if (skipsOrIncludes === undefined) conditional.set(document, (skipsOrIncludes = selectsConditionally(document)));
  if (skipsOrIncludes) return fresh();
  let byEngine = shapes.get(document);
  if (!byEngine) shapes.set(document, (byEngine = new WeakMap()));
  let shape = byEngine.get(engine);
  if (!shape) byEngine.set(engine, (shape = fresh()));
  return shape;
}

function selectsConditionally(document: DocumentNode): boolean {
  let found = false;
  visit(document, {
    Directive(node) {
      if (node.name.value === GraphQLSkipDirective.name || node.name.value === GraphQLIncludeDirective.name) found = true;
    },
  });
  return found;
}

interface InputKeys {
  id: readonly string[];
  markings: readonly string[];
  values: ReadonlyArray<[field: string, keys: readonly string[]]>;
}

const INVISIBLE = Symbol('invisible');

export function enforceResult(args: {
  schema: GraphQLSchema;
  engine: PolicyEngine;
  principal: Principal;
  document: DocumentNode;
  operationName?: string | null;
  variables?: Record<string, unknown>;
  data: Record<string, unknown> | null | undefined;
  errors: readonly AnswerError[];
  /** Seals the cursors handed to the client (edges' `cursor`, `pageInfo.endCursor`). */
  sealCursor?: (cursor: string) => string;
}): Enforced {
  // Errors on injected fields (a rule value the nation withheld) are the gateway's business only.
  const errors = args.errors.filter((e) => !e.path?.some((key) => typeof key === 'string' && key.startsWith(INJECTED_PREFIX)));
  const state: WalkState = {
    schema: args.schema,
    engine: args.engine,
    principal: args.principal,
    variables: args.variables ?? {},
    errors,
    erroredPaths: new Set(errors.map((e) => e.path?.join('.') ?? '')),
    withheldPaths: new Set(errors.filter((e) => e.extensions?.code === 'WITHHELD').map((e) => e.path?.join('.') ?? '')),
    released: new Set(),
    owners: new Set(),
    nulled: [],
    remaps: new Map(),
    sealCursor: args.sealCursor,
    shape: shapeOf(args.document, args.engine),
    invisibleOwners: new WeakMap(),
    redacted: [],
    transformed: [],
  };
  const operation = operationOf(args.document, args.operationName);
  if (args.data && operation) {
    const root = operation.operation === 'mutation' ? args.schema.getMutationType() : args.schema.getQueryType();
    if (root) walkObject(state, args.data, root, [operation.selectionSet], undefined);
  }
  // Most paths stay as they were: renumbered hands the same array back, and the error goes out as it came.
  const errors_ = state.errors.flatMap((e) => {
    if (!e.path) return [e];
    if (isBelowNulled(state, e.path)) return [];
    const path = renumbered(state, e.path);
    if (!path) return [];
    return [path === e.path ? e : movedTo(e, [...path])];
  });
  const altered = (fields: AlteredField[]) => fields.flatMap((f) => {
    if (isBelowNulled(state, f.path)) return [];
    const path = renumbered(state, f.path);
    if (!path) return [];
    return [path === f.path ? f : { ...f, path: [...path] }];
  });
  return { data: args.data, errors: errors_, marking: rollUp(state), redacted: altered(state.redacted), transformed: altered(state.transformed) };
}

/** An error or alteration of a field of an object the caller may not see would name or describe that object. */
function isBelowNulled(state: WalkState, path: ReadonlyArray<string | number>): boolean {
  if (state.nulled.length === 0) return false;
  const joined = path.join('.');
  return state.nulled.some((nulled) => joined.startsWith(`${nulled}.`));
}

function movedTo(error: AnswerError, path: Array<string | number>): AnswerError {
  if (error instanceof GraphQLError) return new GraphQLError(error.message, { path, extensions: error.extensions, originalError: error.originalError ?? undefined });
  return { ...error, path };
}

/**
 * A path as the nations' answer had it → as the client gets it (lists that lost items); null when
 * it was dropped. A path no list renumbers comes back as the very array given.
 */
function renumbered<P extends ReadonlyArray<string | number>>(state: WalkState, path: P): P | Array<string | number> | null {
  if (state.remaps.size === 0) return path;
  let out: Array<string | number> | undefined;
  for (let i = 0; i < path.length; i++) {
    const key = path[i]!;
    if (typeof key !== 'number') continue;
    const remap = state.remaps.get(path.slice(0, i).join('.'));
    if (!remap?.has(key)) continue;
    const next = remap.get(key);
    if (next === null || next === undefined) return null;
    if (next === key) continue;
    out ??= [...path];
    out[i] = next;
  }
  return out ?? path;
}

function operationOf(document: DocumentNode, name?: string | null): OperationDefinitionNode | undefined {
  const operations = document.definitions.filter((d): d is OperationDefinitionNode => d.kind === Kind.OPERATION_DEFINITION);
  return name ? operations.find((o) => o.name?.value === name) : operations[0];
}

/**
 * A response path as the walk goes down: a link per step (graphql-js's own Path is built the same
 * way), made an array only where something is reported. Copying an array per step and per list item
 * was most of what the walk allocated.
 */
type WalkPath = { readonly prev: WalkPath; readonly key: string | number } | undefined;

function pathArray(path: WalkPath): Array<string | number> {
  const keys: Array<string | number> = [];
  for (let step = path; step; step = step.prev) keys.push(step.key);
  return keys.reverse();
}

/** Walks one object in place; returns INVISIBLE when it is a nation-owned object the caller may not see. */
function walkObject(state: WalkState, object: Record<string, unknown>, staticType: GraphQLObjectType, selectionSets: SelectionSetNode[], path: WalkPath): typeof INVISIBLE | void {
  const runtimeType = runtimeTypeOf(state, object, staticType);
  if (!runtimeType) {
    stripInjected(object);
    return INVISIBLE;
  }
  const fields = collectFields(state, runtimeType, selectionSets);
  const facts = isNationType(runtimeType) ? factsOf(object, runtimeType.name, inputKeysOf(state, runtimeType.name, fields)) : undefined;
  stripInjected(object);
  if (facts && !state.engine.objectVisible(state.principal, facts)) {
    state.invisibleOwners.set(object, facts.owner);
    return INVISIBLE;
  }
  for (const { key, name, type, childSets, isCursor } of planOf(state, runtimeType, fields)) {
    if (!(key in object)) continue;
    // Most fields are allowed leaves: their path is built only when something is reported at it or below it.
    const fieldPath: WalkPath = childSets.length ? { prev: path, key } : undefined;
    if (facts) {
      const decision = state.engine.decide(state.principal, facts, name);
      if (decision.effect !== 'allow' || fieldPath) {
        if (!applyDecision(state, object, key, facts, name, decision, fieldPath ?? { prev: path, key })) continue;
      } else releaseField(state, facts, name);
    }
    if (isCursor && state.sealCursor && typeof object[key] === 'string') object[key] = state.sealCursor(object[key] as string);
    if (!type || !fieldPath) continue;
    const value = object[key];
    const walked = walkValue(state, value, type, childSets, fieldPath);
    if (walked !== INVISIBLE) {
      object[key] = walked;
      continue;
    }
    // An edge goes with its node, so the list of edges says nothing about it.
    if (isEdgeNode(runtimeType, name)) return INVISIBLE;
    object[key] = null;
    state.nulled.push(pathArray(fieldPath).join('.'));
    // By id at the root, an invisible object answers like one that does not exist: null, no error.
    // Below the root it is a visible object's reference, withheld as the nations withhold it.
    if (path !== undefined) withholdReference(state, value, fieldPath);
  }
}

/** One client field of a collected set, with what the walk needs of it worked out once. */
interface PlannedField {
  key: string;
  name: string;
  /** The field's named type on the runtime type; undefined when the type has no such field. */
  type: GraphQLNamedType | undefined;
  childSets: SelectionSetNode[];
  isCursor: boolean;
}

function planOf(state: WalkState, runtimeType: GraphQLObjectType, fields: Map<string, FieldNode[]>): PlannedField[] {
  let plan = state.shape.plans.get(fields);
  if (!plan) {
    plan = [];
    for (const [key, nodes] of fields) {
      const name = nodes[0]!.name.value;
      if (name === '__typename') continue;
      const childSets = nodes.map((n) => n.selectionSet).filter((set): set is SelectionSetNode => set !== undefined);
      const type = runtimeType.getFields()[name]?.type;
      plan.push({ key, name, type: type && getNamedType(type), childSets, isCursor: isCursorField(runtimeType.name, name) });
    }
    state.shape.plans.set(fields, plan);
  }
  return plan;
}

/** A field released as it is, or altered: its marking goes into the roll-up. */
function releaseField(state: WalkState, facts: ObjectFacts, field: string): void {
  const fieldMarking = facts.fieldMarkings?.[field];
  if (fieldMarking) {
    state.released.add(combineMarkings(facts.marking!, fieldMarking));
    state.owners.add(facts.owner);
    return;
  }
  // An object's fields come one after another: its own marking and owner are noted once for all of them.
  if (state.lastReleased === facts) return;
  state.lastReleased = facts;
  state.released.add(facts.marking!);
  state.owners.add(facts.owner);
}

function isEdgeNode(type: GraphQLObjectType, field: string): boolean {
  return field === 'node' && type.name.endsWith('Edge');
}

function withholdReference(state: WalkState, value: unknown, at: WalkPath): void {
  const path = pathArray(at);
  const joined = path.join('.');
  if (state.erroredPaths.has(joined)) return;
  const owner = (typeof value === 'object' && value !== null && state.invisibleOwners.get(value)) || 'its owner';
  state.errors.push(withheldError(`${joined} is withheld by ${owner} (object not visible to the caller)`, path, owner, 'object-not-visible'));
  state.erroredPaths.add(joined);
  state.withheldPaths.add(joined);
}

/** Applies one decision to one field; false when nothing is left to walk below it. */
function applyDecision(state: WalkState, object: Record<string, unknown>, key: string, facts: ObjectFacts, field: string, decision: Decision, path: WalkPath): boolean {
  if (decision.effect === 'deny') {
    withhold(state, object, key, facts.owner, decision.reason, path);
    return false;
  }
  if (decision.effect === 'redact') {
    object[key] = redact(object[key]);
    state.redacted.push({ path: pathArray(path), owner: facts.owner, reason: decision.reason });
  } else if (decision.effect === 'transform') {
    const generalised = applyTransform(decision.transform!, object[key]);
    if (generalised === NOT_APPLICABLE) {
      withhold(state, object, key, facts.owner, `${decision.reason} (${decision.transform} does not apply to this value)`, path);
      return false;
    }
    object[key] = generalised;
    state.transformed.push({ path: pathArray(path), owner: facts.owner, reason: decision.reason, transform: decision.transform! });
  }
  releaseField(state, facts, field);
  return decision.effect === 'allow' || decision.effect === 'transform';
}

function withhold(state: WalkState, object: Record<string, unknown>, key: string, owner: string, reason: string, at: WalkPath): void {
  object[key] = null;
  const path = pathArray(at);
  const joined = path.join('.');
  if (state.erroredPaths.has(joined)) return;
  state.erroredPaths.add(joined);
  state.withheldPaths.add(joined);
  state.errors.push(withheldError(`${joined} is withheld by ${owner} (${reason})`, path, owner, reason));
}

/** A policy outcome, not a fault: in its answer's form, no GraphQLError (see AnswerError). */
function withheldError(message: string, path: Array<string | number>, owner: string, reason: string): GraphQLFormattedError {
  return { message, path, extensions: { code: 'WITHHELD', owner, reason } };
}

/** Walks a field's value; INVISIBLE for a single object the caller may not see (lists leave theirs out). */
function walkValue(state: WalkState, value: unknown, named: GraphQLNamedType, selectionSets: SelectionSetNode[], path: WalkPath): unknown {
  if (value === null || value === undefined) return value;
  if (!Array.isArray(value)) return walkItem(state, value, named, selectionSets, path);
  // Made only once an item is left out: most lists keep every item, in place.
  let kept: unknown[] | undefined;
  let remap: Map<number, number | null> | undefined;
  for (let index = 0; index < value.length; index++) {
    const item = value[index];
    const itemPath: WalkPath = { prev: path, key: index };
    const walked = item === null && isNationValued(named) && withheldAt(state, itemPath) ? INVISIBLE : walkItem(state, item, named, selectionSets, itemPath);
    // An item the caller may not see is left out (with its errors): the list's length says nothing about it.
    if (walked === INVISIBLE && !kept) {
      kept = value.slice(0, index);
      remap = new Map(kept.map((_, i) => [i, i]));
    }
    if (!kept) {
      value[index] = walked;
      continue;
    }
    remap!.set(index, walked === INVISIBLE ? null : kept.length);
    if (walked !== INVISIBLE) kept.push(walked);
  }
  if (!kept) return value;
  state.remaps.set(pathArray(path).join('.'), remap!);
  return kept;
}

function isCursorField(typeName: string, field: string): boolean {
  return (field === 'cursor' && typeName.endsWith('Edge')) || (field === 'endCursor' && typeName === 'PageInfo');
}

function isNationValued(type: ReturnType<typeof getNamedType>): boolean {
  return isNationType(type) || (isAbstractType(type) && type.name === 'NationObject');
}

/** Whether the nation withheld the object at this path (a reference it would not resolve for the caller). */
function withheldAt(state: WalkState, path: WalkPath): boolean {
  return state.withheldPaths.has(pathArray(path).join('.'));
}

function walkItem(state: WalkState, item: unknown, named: GraphQLNamedType, selectionSets: SelectionSetNode[], path: WalkPath): unknown {
  if (Array.isArray(item)) return walkValue(state, item, named, selectionSets, path);
  if (item === null || typeof item !== 'object') return item;
  const walkAs = walkableAs(named);
  if (!walkAs) return item;
  const result = walkObject(state, item as Record<string, unknown>, walkAs, selectionSets, path);
  return result === INVISIBLE ? INVISIBLE : item;
}

/** An object or abstract type is walked (as its static type), anything else is a value: decided once per type. */
const walkable = new WeakMap<object, GraphQLObjectType | null>();
function walkableAs(named: GraphQLNamedType): GraphQLObjectType | undefined {
  let as = walkable.get(named);
  if (as === undefined) walkable.set(named, (as = isObjectType(named) || isAbstractType(named) ? (named as GraphQLObjectType) : null));
  return as ?? undefined;
}

function runtimeTypeOf(state: WalkState, object: Record<string, unknown>, staticType: GraphQLObjectType): GraphQLObjectType | undefined {
  const typename = object[INJECTED.typename];
  return typename === undefined ? objectTypeNamed(state.schema, staticType.name) : typeof typename === 'string' ? objectTypeNamed(state.schema, typename) : undefined;
}

/**
 * Type lookups and tests, once per schema and type: graphql-js's type predicates check, in its
 * development mode, that a value is not from another copy of graphql — per object, that added up.
 */
const objectTypes = new WeakMap<GraphQLSchema, Map<string, GraphQLObjectType | null>>();
function objectTypeNamed(schema: GraphQLSchema, name: string): GraphQLObjectType | undefined {
  let byName = objectTypes.get(schema);
  if (!byName) objectTypes.set(schema, (byName = new Map()));
  let type = byName.get(name);
  if (type === undefined) {
    const found = schema.getType(name);
    byName.set(name, (type = isObjectType(found) ? found : null));
  }
  return type ?? undefined;
}

/**
 * The keys an input may be read under, in order: the injected alias, then the client's own fields
 * that select it plainly (the rewrite injects nothing for those).
 */
function inputKeysOf(state: WalkState, type: string, fields: Map<string, FieldNode[]>): InputKeys {
  let keys = state.shape.inputKeys.get(fields);
  if (!keys) {
    const keysOf = (input: PolicyInput) => [input.alias, ...[...fields].filter(([, nodes]) => nodes.some((n) => selectsPlainly(n, input))).map(([key]) => key)];
    const [id, markings] = OBJECT_INPUTS.map(keysOf) as [string[], string[]];
    keys = { id, markings, values: state.engine.fieldsLookedAt(type).map((field) => [field, keysOf(valueInput(field))]) };
    state.shape.inputKeys.set(fields, keys);
  }
  return keys;
}

function read(object: Record<string, unknown>, keys: readonly string[]): unknown {
  for (const key of keys) if (key in object) return object[key];
  return undefined;
}

function factsOf(object: Record<string, unknown>, type: string, keys: InputKeys): ObjectFacts {
  // Markings that could not be read (withheld at source, absent, or malformed in any part): the
  // object is treated as unmarked, and everything of it is denied.
  const markings = readMarkingSet(read(object, keys.markings));
  const values: Record<string, unknown> = {};
  for (const [field, fieldKeys] of keys.values) {
    const value = read(object, fieldKeys);
    if (value !== undefined) values[field] = value;
  }
  // The id's prefix, as the fan-out routes the object; without an id, nobody's rules release anything of it.
  const owner = ownerOf(read(object, keys.id)) ?? 'its owner';
  return { type, owner, marking: markings?.object, fieldMarkings: markings?.fields, values };
}

/** Injected keys come last (the rewrite appends them): deleted last first, the object keeps V8's fast layout for the JSON writer. */
function stripInjected(object: Record<string, unknown>): void {
  const keys = Object.keys(object);
  for (let i = keys.length - 1; i >= 0; i--) if (keys[i]!.startsWith(INJECTED_PREFIX)) delete object[keys[i]!];
}

/** The client's fields for one runtime type, by response key, as graphql-js's CollectFields does. */
function collectFields(state: WalkState, type: GraphQLObjectType, selectionSets: SelectionSetNode[]): Map<string, FieldNode[]> {
  if (selectionSets.length !== 1) return collectFieldsOnce(state, type, selectionSets);
  let byType = state.shape.collected.get(selectionSets[0]!);
  if (!byType) state.shape.collected.set(selectionSets[0]!, (byType = new Map()));
  let fields = byType.get(type);
  if (!fields) byType.set(type, (fields = collectFieldsOnce(state, type, selectionSets)));
  return fields;
}

function collectFieldsOnce(state: WalkState, type: GraphQLObjectType, selectionSets: SelectionSetNode[]): Map<string, FieldNode[]> {
  const fields = new Map<string, FieldNode[]>();
  const visited = new Set<string>();
  const collect = (selectionSet: SelectionSetNode) => {
    for (const selection of selectionSet.selections) {
      if (!included(state, selection)) continue;
      if (selection.kind === Kind.FIELD) {
        const key = selection.alias?.value ?? selection.name.value;
        if (key.startsWith(INJECTED_PREFIX)) continue;
        fields.set(key, [...(fields.get(key) ?? []), selection]);
      } else if (selection.kind === Kind.INLINE_FRAGMENT) {
        if (!selection.typeCondition || applies(state, selection.typeCondition.name.value, type)) collect(selection.selectionSet);
      } else {
        const name = selection.name.value;
        const fragment = state.shape.fragments.get(name);
        if (visited.has(name) || !fragment || !applies(state, fragment.typeCondition.name.value, type)) continue;
        visited.add(name);
        collect(fragment.selectionSet);
      }
    }
  };
  for (const selectionSet of selectionSets) collect(selectionSet);
  return fields;
}

function applies(state: WalkState, condition: string, type: GraphQLObjectType): boolean {
  if (condition === type.name) return true;
  const conditionType = state.schema.getType(condition);
  return isAbstractType(conditionType) && state.schema.isSubType(conditionType, type);
}

function included(state: WalkState, node: Parameters<typeof getDirectiveValues>[1]): boolean {
  const skip = getDirectiveValues(GraphQLSkipDirective, node, state.variables);
  if (skip?.if === true) return false;
  const include = getDirectiveValues(GraphQLIncludeDirective, node, state.variables);
  return include?.if !== false;
}

function rollUp(state: WalkState): ReleasedMarking | null {
  if (state.released.size === 0) return null;
  const [first, ...rest] = state.released;
  return { ...combineMarkings(first!, ...rest), owners: [...state.owners].sort() };
}
