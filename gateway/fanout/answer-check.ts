/**
 * A nation answers for its own objects, and only what it was asked. Each answer is checked against
 * the text the nation was sent, before anything of it reaches Apollo Gateway:
 * - every nation-owned object's id carries the answering nation's prefix, and its `nation` says the
 *   same: the enforcement decides an object by its id's owner, so an object under another nation's
 *   prefix would be released on that nation's rules and shown as that nation's;
 * - except below a `@crossNation` field, where a reference may point abroad: there the owner
 *   supplies the target's fields through its own `_entities` fetch;
 * - a WITHHELD error names the answering nation as the owner whose rules withheld the field;
 * - no object holds a key the text did not select. Apollo Gateway merges what a fetch returns into
 *   the composed objects, a nation's reference to another nation's object included, before the
 *   owner's fetch fills that object: nothing but what was asked has any business there.
 * An answer that fails is discarded whole: a nation that forged one object is not trusted with the
 * rest of that answer. What is reported names the nation and the path, never a value.
 */
import { Kind, parse, type DefinitionNode, type FragmentDefinitionNode, type SelectionSetNode, type TypeNode } from 'graphql';
import { ownerOf } from '../global-id';
import { SubgraphUnavailable, type GraphQLResponseBody } from './subgraph-client';

/** What the nation's answer did wrong: the fan-out turns it into NATION_ANSWER_REJECTED. */
export class AnswerRejected extends SubgraphUnavailable {}

/** Finds what is wrong with a nation's answer to a query text, or returns undefined. */
export type AnswerCheck = (nation: string, query: string, answer: GraphQLResponseBody) => string | undefined;

const NATION_OBJECT = 'NationObject';
const CROSS_NATION = 'crossNation';

interface TypeInfo {
  /** NationObject itself or one of its implementations: an object some nation owns. */
  owned: boolean;
  fields: Map<string, { type: string; crossNation: boolean }>;
}

/** What one key of an answer's object may hold. */
interface Expected {
  /** `id` and `nation` of a nation-owned object (not below a cross-nation reference) name the answering nation. */
  names: 'owner-id' | 'owner' | undefined;
  below: Shape | undefined;
}
type Shape = Map<string, Expected>;

/** Query texts repeat (one per fetch of the plan): each is understood once. */
const MAX_REMEMBERED = 1000;

export function createAnswerCheck(contractSdl: string): AnswerCheck {
  const types = typesOf(parse(contractSdl).definitions);
  const shapes = new Map<string, Shape>();
  const shapeOfText = (query: string): Shape => {
    let shape = shapes.get(query);
    if (!shape) {
      shape = expectedShape(query, types);
      if (shapes.size >= MAX_REMEMBERED) shapes.clear();
      shapes.set(query, shape);
    }
    return shape;
  };
  return (nation, query, { data, errors }) => faultInErrors(errors, nation) ?? (data === null || data === undefined ? undefined : faultIn(data, shapeOfText(query), nation, []));
}

function faultInErrors(errors: GraphQLResponseBody['errors'], nation: string): string | undefined {
  const forged = errors?.some((e) => e.extensions?.code === 'WITHHELD' && e.extensions.owner !== nation);
  return forged ? "it reported a field withheld in another owner's name" : undefined;
}

function typesOf(definitions: readonly DefinitionNode[]): Map<string, TypeInfo> {
  const types = new Map<string, TypeInfo>();
  for (const d of definitions) {
    if (d.kind !== Kind.OBJECT_TYPE_DEFINITION && d.kind !== Kind.INTERFACE_TYPE_DEFINITION) continue;
    const owned = d.name.value === NATION_OBJECT || (d.interfaces ?? []).some((i) => i.name.value === NATION_OBJECT);
    const fields = new Map((d.fields ?? []).map((f) => [f.name.value, { type: namedType(f.type), crossNation: (f.directives ?? []).some((x) => x.name.value === CROSS_NATION) }]));
    types.set(d.name.value, { owned, fields });
  }
  return types;
}

function namedType(type: TypeNode): string {
  return type.kind === Kind.NAMED_TYPE ? type.name.value : namedType(type.type);
}

function expectedShape(query: string, types: Map<string, TypeInfo>): Shape {
  const document = parse(query);
  const fragments = new Map(document.definitions.filter((d): d is FragmentDefinitionNode => d.kind === Kind.FRAGMENT_DEFINITION).map((f) => [f.name.value, f]));
  const shape: Shape = new Map();
  for (const d of document.definitions) if (d.kind === Kind.OPERATION_DEFINITION) addSelections(shape, d.selectionSet, 'Query', false, { types, fragments });
  return shape;
}

interface Known {
  types: Map<string, TypeInfo>;
  fragments: Map<string, FragmentDefinitionNode>;
}

/**
 * Adds what a selection set asks to the shape of its position. Fragments on different types at one
 * position share its keys (the answer says nothing of their type unless asked): should one key be
 * an owned object's id under one type and something else under another, the id's check applies, and
 * an answer that is right may be refused. Refusing is the safe side; the query planner does not
 * write such texts.
 */
function addSelections(shape: Shape, set: SelectionSetNode, parent: string | undefined, abroad: boolean, known: Known): void {
  for (const selection of set.selections) {
    if (selection.kind === Kind.INLINE_FRAGMENT) addSelections(shape, selection.selectionSet, selection.typeCondition?.name.value ?? parent, abroad, known);
    else if (selection.kind === Kind.FRAGMENT_SPREAD) {
      const fragment = known.fragments.get(selection.name.value);
      if (fragment) addSelections(shape, fragment.selectionSet, fragment.typeCondition.name.value, abroad, known);
    } else {
      const name = selection.name.value;
      const key = selection.alias?.value ?? name;
      const type = parent === undefined ? undefined : known.types.get(parent);
      const field = type?.fields.get(name);
      const names = !abroad && type?.owned ? (name === 'id' ? 'owner-id' : name === 'nation' ? 'owner' : undefined) : undefined;
      const expected = shape.get(key) ?? { names: undefined, below: undefined };
      expected.names ??= names;
      if (selection.selectionSet) {
        expected.below ??= new Map();
        addSelections(expected.below, selection.selectionSet, field?.type, abroad || field?.crossNation === true, known);
      }
      shape.set(key, expected);
    }
  }
}

const LIST_ITEM = '[]';

/**
 * A path without list positions (`indicators.edges[].node.id`): where in its page a nation put the
 * object would count the objects before it, some of which the gateway may withhold.
 */
function pathText(path: readonly string[]): string {
  return path.join('.').replaceAll(`.${LIST_ITEM}`, LIST_ITEM);
}

/** The first fault in an answer's value at a position of the shape, as words naming its path. */
function faultIn(value: unknown, shape: Shape, nation: string, path: string[]): string | undefined {
  if (value === null || typeof value !== 'object') return undefined;
  if (Array.isArray(value)) {
    path.push(LIST_ITEM);
    let fault: string | undefined;
    for (let i = 0; i < value.length && !fault; i++) fault = faultIn(value[i], shape, nation, path);
    path.pop();
    return fault;
  }
  for (const key in value) {
    const expected = shape.get(key);
    const held = (value as Record<string, unknown>)[key];
    path.push(key);
    const fault = expected ? faultOf(held, expected, nation, path) : `it returned a field it was not asked for, at ${pathText(path)}`;
    path.pop();
    if (fault) return fault;
  }
  return undefined;
}

function faultOf(held: unknown, expected: Expected, nation: string, path: string[]): string | undefined {
  if (held !== null && held !== undefined) {
    if (expected.names === 'owner-id' && ownerOf(held) !== nation) return `it returned an object under an id that is not its own, at ${pathText(path)}`;
    if (expected.names === 'owner' && held !== nation) return `it returned an object naming another owner, at ${pathText(path)}`;
  }
  return expected.below ? faultIn(held, expected.below, nation, path) : undefined;
}
