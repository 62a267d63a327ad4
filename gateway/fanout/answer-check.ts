/**
 * A nation answers for its own objects, and only what it was asked. Each answer is checked against
 * the text the nation was sent, before anything of it reaches Apollo Gateway:
 * - every nation-owned object's id carries the answering nation's prefix, and its `nation` names no
 *   other nation: the enforcement decides an object by its id's owner, so an object under another
 *   nation's prefix would be released on that nation's rules and shown as that nation's;
 * - except below a `@crossNation` field, where a reference may point abroad: there the owner
 *   supplies the target's fields through its own `_entities` fetch;
 * - no object holds a key the text did not select, and no list holds lists (the contract has none).
 *   Apollo Gateway merges what a fetch returns into the composed objects, a nation's reference to
 *   another nation's object included, before the owner's fetch fills that object: nothing but what
 *   was asked has any business there;
 * - a WITHHELD error names the answering nation as the owner, and its path leads to a null of this
 *   answer: the enforcement takes a null under a WITHHELD error for withheld, so an error placed
 *   elsewhere could hide another nation's object;
 * - no error speaks as the gateway (NATION_UNAVAILABLE, NATION_ANSWER_REJECTED, a limit's code).
 * An answer that fails is discarded whole: a nation that forged one object is not trusted with the
 * rest of that answer. What is reported names the nation and the path of keys the gateway asked,
 * never anything the nation wrote, nor a list position (that would count what came before it).
 */
import { Kind, parse, type DefinitionNode, type FragmentDefinitionNode, type SelectionSetNode } from 'graphql';
import { isNationCode } from '../../policies';
import { ownerOf } from '../global-id';
import { isCrossNation, namedType, NATION_OBJECT } from '../supergraph/nation-views';
import { LIMIT_CODES } from '../limits';
import { SubgraphUnavailable, type GraphQLResponseBody } from './subgraph-client';

/** What the nation's answer did wrong: the fan-out turns it into NATION_ANSWER_REJECTED. */
export class AnswerRejected extends SubgraphUnavailable {
  override readonly name = 'AnswerRejected';
  override readonly code = 'NATION_ANSWER_REJECTED';

  override headline(nation: string): string {
    return `Nation ${nation}'s answer was rejected`;
  }
}

/** Error codes only the gateway gives: a nation using one would be speaking for it. */
const GATEWAY_ERROR_CODES: ReadonlySet<string> = new Set([new SubgraphUnavailable().code, new AnswerRejected().code, ...Object.values(LIMIT_CODES)]);

/** Finds what is wrong with a nation's answer to a query text, or returns undefined. */
export type AnswerCheck = (nation: string, query: string, answer: GraphQLResponseBody) => string | undefined;

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

/** Query texts repeat (one per fetch of the plan): each is understood once, as fetch-shape.ts does. */
const MAX_REMEMBERED = 5_000;

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
  return (nation, query, { data, errors }) => {
    if (data !== undefined && data !== null && (typeof data !== 'object' || Array.isArray(data))) return 'its data is not an object';
    return (data ? faultIn(data, shapeOfText(query), nation, []) : undefined) ?? faultInErrors(errors, data, nation);
  };
}

function typesOf(definitions: readonly DefinitionNode[]): Map<string, TypeInfo> {
  const types = new Map<string, TypeInfo>();
  for (const d of definitions) {
    if (d.kind !== Kind.OBJECT_TYPE_DEFINITION && d.kind !== Kind.INTERFACE_TYPE_DEFINITION) continue;
    const owned = d.name.value === NATION_OBJECT || (d.interfaces ?? []).some((i) => i.name.value === NATION_OBJECT);
    const fields = new Map((d.fields ?? []).map((f) => [f.name.value, { type: namedType(f.type), crossNation: isCrossNation(f) }]));
    types.set(d.name.value, { owned, fields });
  }
  return types;
}

function expectedShape(query: string, types: Map<string, TypeInfo>): Shape {
  const document = parse(query);
  const fragments = new Map(document.definitions.filter((d): d is FragmentDefinitionNode => d.kind === Kind.FRAGMENT_DEFINITION).map((f) => [f.name.value, f]));
  const shape: Shape = new Map();
  for (const d of document.definitions) if (d.kind === Kind.OPERATION_DEFINITION) addSelections(shape, d.selectionSet, 'Query', false, { types, fragments });
  return shape;
}

interface Definitions {
  types: Map<string, TypeInfo>;
  fragments: Map<string, FragmentDefinitionNode>;
}

/**
 * Adds what a selection set asks to the shape of its position. Fragments on different types at one
 * position share its keys (the answer says nothing of their type unless asked): should one key be
 * an owned object's id under one type and something else under another, the id's check applies, and
 * an answer that is right may be refused. Refusing is the safe side; the contract has no field of
 * an abstract type where that could happen, and the query planner writes no such text.
 */
function addSelections(shape: Shape, set: SelectionSetNode, parent: string | undefined, abroad: boolean, definitions: Definitions): void {
  for (const selection of set.selections) {
    if (selection.kind === Kind.INLINE_FRAGMENT) addSelections(shape, selection.selectionSet, selection.typeCondition?.name.value ?? parent, abroad, definitions);
    else if (selection.kind === Kind.FRAGMENT_SPREAD) {
      const fragment = definitions.fragments.get(selection.name.value);
      if (fragment) addSelections(shape, fragment.selectionSet, fragment.typeCondition.name.value, abroad, definitions);
    } else {
      const name = selection.name.value;
      const key = selection.alias?.value ?? name;
      const type = parent === undefined ? undefined : definitions.types.get(parent);
      const field = type?.fields.get(name);
      const names = !abroad && type?.owned ? (name === 'id' ? 'owner-id' : name === 'nation' ? 'owner' : undefined) : undefined;
      const expected = shape.get(key) ?? { names: undefined, below: undefined };
      expected.names ??= names;
      if (selection.selectionSet) {
        expected.below ??= new Map();
        addSelections(expected.below, selection.selectionSet, field?.type, abroad || field?.crossNation === true, definitions);
      }
      shape.set(key, expected);
    }
  }
}

const LIST_ITEM = '[]';

function pathText(path: readonly string[]): string {
  return path.join('.').replaceAll(`.${LIST_ITEM}`, LIST_ITEM) || 'the top of its data';
}

/** The first fault in an answer's value at a position of the shape, as words naming its path. */
function faultIn(value: unknown, shape: Shape, nation: string, path: string[]): string | undefined {
  if (value === null || typeof value !== 'object') return undefined;
  if (Array.isArray(value)) {
    path.push(LIST_ITEM);
    let fault: string | undefined;
    for (let i = 0; i < value.length && !fault; i++) {
      fault = Array.isArray(value[i]) ? `it returned a list of lists, at ${pathText(path)}` : faultIn(value[i], shape, nation, path);
    }
    path.pop();
    return fault;
  }
  for (const key in value) {
    const expected = shape.get(key);
    // The key itself is the nation's words: only the path to its object is named.
    if (!expected) return `it returned a field it was not asked for, in ${pathText(path)}`;
    path.push(key);
    const fault = faultOf((value as Record<string, unknown>)[key], expected, nation, path);
    path.pop();
    if (fault) return fault;
  }
  return undefined;
}

function faultOf(held: unknown, expected: Expected, nation: string, path: string[]): string | undefined {
  if (held !== null && held !== undefined) {
    if (expected.names === 'owner-id' && ownerOf(held) !== nation) return `it returned an object under an id that is not its own, at ${pathText(path)}`;
    // Only another nation's code is a forgery: a rule may redact or withhold `nation`.
    if (expected.names === 'owner' && isNationCode(held) && held !== nation) return `it returned an object naming another owner, at ${pathText(path)}`;
  }
  return expected.below ? faultIn(held, expected.below, nation, path) : undefined;
}

function faultInErrors(errors: unknown, data: unknown, nation: string): string | undefined {
  if (errors === undefined) return undefined;
  if (!Array.isArray(errors)) return 'its errors are not a list';
  for (const error of errors as GraphQLResponseBody['errors'] & unknown[]) {
    const extensions = (error as { extensions?: Record<string, unknown> } | null)?.extensions;
    const code = extensions?.code;
    if (typeof code === 'string' && GATEWAY_ERROR_CODES.has(code)) return 'it reported an error only the gateway gives';
    if (code !== 'WITHHELD') continue;
    if (extensions!.owner !== nation) return "it reported a field withheld in another owner's name";
    if (!leadsToNull(data, (error as { path?: unknown }).path)) return 'it reported a field withheld where its answer holds none';
  }
  return undefined;
}

/** Whether a path walks the answer to a null: the withheld field itself, or a nullable object above it that the null took. */
function leadsToNull(data: unknown, path: unknown): boolean {
  if (!Array.isArray(path) || path.length === 0) return false;
  let value = data;
  for (const step of path) {
    if (value === null) return true;
    if (typeof value !== 'object') return false;
    if (Array.isArray(value) ? !(typeof step === 'number' && Number.isInteger(step) && step >= 0 && step < value.length) : typeof step !== 'string' || !Object.hasOwn(value, step)) return false;
    value = (value as Record<string | number, unknown>)[step];
  }
  return value === null;
}
