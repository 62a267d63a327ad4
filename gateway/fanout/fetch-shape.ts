/**
 * What the query planner asks the nations for, understood once per distinct fetch text: which root
 * fields fan out, which route by id, which rewritten text each nation receives. Per request, only
 * argument values are evaluated.
 */
import {
  Kind,
  parse,
  print,
  visit,
  type DocumentNode,
  type FieldNode,
  type FragmentDefinitionNode,
  type OperationDefinitionNode,
  type SelectionNode,
  type SelectionSetNode,
  type ValueNode,
  type VariableDefinitionNode,
} from 'graphql';

/** Root list fields answered by every nation and merged on one global order. */
export const CONNECTION_FIELDS = new Set(['indicators', 'incidents', 'sightings', 'threatActors']);
/** Root fields that fetch one object, routed to the nation its id names. */
export const BY_ID_FIELDS = new Set(['indicator', 'incident', 'sighting', 'threatActor']);
/** Root fields about the caller, answered by the caller's own nation. */
export const PRINCIPAL_FIELDS = new Set(['me']);

/** Aliases the gateway adds to a nation query and strips from the answer: unique enough to never clash. */
export const CURSORS_KEY = '__sovgraph_edges';
export const CURSOR_KEY = '__sovgraph_cursor';
export const PAGE_KEY = '__sovgraph_page';
/** The variable that carries how many edges one nation must return in the second phase. */
export const NATION_FIRST_VARIABLE = '__sovgraph_first';

export type FetchShape = EntitiesFetch | RootFetch;

export interface EntitiesFetch {
  kind: 'entities';
  representationsVariable: string;
}

export interface RootFetch {
  kind: 'root';
  parts: RootPart[];
}

export type RootPart = ConnectionPart | ByIdPart | PrincipalPart | TypenamePart;

interface PartBase {
  responseKey: string;
  /** The text sent to a nation: this one root field, with only the variables and fragments it uses. */
  query: string;
  variableNames: string[];
}

export interface ConnectionPart extends PartBase {
  kind: 'connection';
  /** Phase one: only each edge's cursor and the nation's hasNextPage, nothing resolved below. */
  probe: { query: string; variableNames: string[] };
  args: { first?: ValueNode; filter?: ValueNode };
  /** The connection's selections as the planner asked for them, in order. */
  selections: ConnectionSelection[];
}

export type ConnectionSelection =
  | { kind: 'edges'; responseKey: string }
  | { kind: 'pageInfo'; responseKey: string; fields: { responseKey: string; name: string }[] }
  | { kind: 'other'; responseKey: string };

export interface ByIdPart extends PartBase {
  kind: 'byId';
  idArg: ValueNode | undefined;
}

export interface PrincipalPart extends PartBase {
  kind: 'principal';
}

export interface TypenamePart {
  kind: 'typename';
  responseKey: string;
}

export class UnsupportedFetch extends Error {
  override readonly name = 'UnsupportedFetch';
}

const shapes = new Map<string, FetchShape>();
const MAX_CACHED_SHAPES = 5_000;

export function fetchShapeOf(query: string): FetchShape {
  let shape = shapes.get(query);
  if (!shape) {
    shape = analyse(parse(query));
    if (shapes.size >= MAX_CACHED_SHAPES) shapes.clear();
    shapes.set(query, shape);
  }
  return shape;
}

function analyse(document: DocumentNode): FetchShape {
  const operations = document.definitions.filter((d): d is OperationDefinitionNode => d.kind === Kind.OPERATION_DEFINITION);
  if (operations.length !== 1 || operations[0]!.operation !== 'query') {
    throw new UnsupportedFetch('the nations answer exactly one query operation per fetch');
  }
  const operation = operations[0]!;
  const fragments = new Map(
    document.definitions
      .filter((d): d is FragmentDefinitionNode => d.kind === Kind.FRAGMENT_DEFINITION)
      .map((f) => [f.name.value, f]),
  );
  const rootFields = operation.selectionSet.selections.map((selection) => {
    if (selection.kind !== Kind.FIELD) throw new UnsupportedFetch('fragments at the root of a nation fetch are not supported');
    return selection;
  });
  const entities = rootFields.find((f) => f.name.value === '_entities');
  if (entities) return entitiesShape(entities);
  return { kind: 'root', parts: rootFields.map((field) => rootPart(field, operation, fragments)) };
}

function entitiesShape(field: FieldNode): EntitiesFetch {
  const arg = field.arguments?.find((a) => a.name.value === 'representations');
  if (arg?.value.kind !== Kind.VARIABLE) throw new UnsupportedFetch('_entities representations must be passed as a variable');
  return { kind: 'entities', representationsVariable: arg.value.name.value };
}

function rootPart(field: FieldNode, operation: OperationDefinitionNode, fragments: Map<string, FragmentDefinitionNode>): RootPart {
  const name = field.name.value;
  const responseKey = field.alias?.value ?? name;
  if (name === '__typename') return { kind: 'typename', responseKey };
  const argument = (arg: string) => field.arguments?.find((a) => a.name.value === arg)?.value;
  if (CONNECTION_FIELDS.has(name)) {
    const nationFirst = parse(`query($${NATION_FIRST_VARIABLE}: Int!) { x }`).definitions[0] as OperationDefinitionNode;
    const withNationFirst = { ...operation, variableDefinitions: [...(operation.variableDefinitions ?? []), ...nationFirst.variableDefinitions!] };
    return {
      kind: 'connection',
      responseKey,
      ...subOperation(withFirstFromVariable(withMergeKeys(field, field.selectionSet?.selections ?? [])), withNationFirst, fragments),
      probe: subOperation(withMergeKeys(field, []), operation, fragments),
      args: { first: argument('first'), filter: argument('filter') },
      selections: connectionSelections(field.selectionSet),
    };
  }
  if (BY_ID_FIELDS.has(name)) return { kind: 'byId', responseKey, idArg: argument('id'), ...subOperation(field, operation, fragments) };
  if (PRINCIPAL_FIELDS.has(name)) return { kind: 'principal', responseKey, ...subOperation(field, operation, fragments) };
  throw new UnsupportedFetch(`the nations data source does not know how to route root field "${name}"`);
}

function connectionSelections(selectionSet: SelectionSetNode | undefined): ConnectionSelection[] {
  return (selectionSet?.selections ?? []).map((selection): ConnectionSelection => {
    if (selection.kind !== Kind.FIELD) throw new UnsupportedFetch('fragments directly on a connection are not supported');
    const responseKey = selection.alias?.value ?? selection.name.value;
    if (selection.name.value === 'edges') return { kind: 'edges', responseKey };
    if (selection.name.value === 'pageInfo') {
      const fields = (selection.selectionSet?.selections ?? []).map((s) => {
        if (s.kind !== Kind.FIELD) throw new UnsupportedFetch('fragments on pageInfo are not supported');
        return { responseKey: s.alias?.value ?? s.name.value, name: s.name.value };
      });
      return { kind: 'pageInfo', responseKey, fields };
    }
    return { kind: 'other', responseKey };
  });
}

/** Adds the merge key (each edge's cursor) and each nation's hasNextPage under the gateway's aliases. */
function withMergeKeys(field: FieldNode, keep: readonly SelectionNode[]): FieldNode {
  const extra = parse(`{ ${CURSORS_KEY}: edges { ${CURSOR_KEY}: cursor } ${PAGE_KEY}: pageInfo { hasNextPage } }`);
  const extraSelections = (extra.definitions[0] as OperationDefinitionNode).selectionSet.selections;
  return { ...field, selectionSet: { kind: Kind.SELECTION_SET, selections: [...keep, ...extraSelections] } };
}

/** Phase two asks each nation for exactly the edges the merge will take from it. */
function withFirstFromVariable(field: FieldNode): FieldNode {
  const first = (parse(`{ x(first: $${NATION_FIRST_VARIABLE}) }`).definitions[0] as OperationDefinitionNode).selectionSet.selections[0] as FieldNode;
  return { ...field, arguments: [...(field.arguments ?? []).filter((a) => a.name.value !== 'first'), ...first.arguments!] };
}

function subOperation(
  field: FieldNode,
  operation: OperationDefinitionNode,
  fragments: Map<string, FragmentDefinitionNode>,
): { query: string; variableNames: string[] } {
  const usedFragments = fragmentsUsedBy(field, fragments);
  const usedVariables = new Set<string>();
  for (const node of [field, ...usedFragments]) {
    visit(node, { Variable: (v) => void usedVariables.add(v.name.value) });
  }
  const variableDefinitions: VariableDefinitionNode[] = (operation.variableDefinitions ?? []).filter((d) =>
    usedVariables.has(d.variable.name.value),
  );
  const document: DocumentNode = {
    kind: Kind.DOCUMENT,
    definitions: [
      { ...operation, variableDefinitions, selectionSet: { kind: Kind.SELECTION_SET, selections: [field] } },
      ...usedFragments,
    ],
  };
  return { query: print(document), variableNames: [...usedVariables] };
}

function fragmentsUsedBy(field: FieldNode, fragments: Map<string, FragmentDefinitionNode>): FragmentDefinitionNode[] {
  const used = new Map<string, FragmentDefinitionNode>();
  const pending: Array<FieldNode | FragmentDefinitionNode> = [field];
  while (pending.length) {
    visit(pending.pop()!, {
      FragmentSpread(spread) {
        const name = spread.name.value;
        const fragment = fragments.get(name);
        if (fragment && !used.has(name)) {
          used.set(name, fragment);
          pending.push(fragment);
        }
      },
    });
  }
  return [...used.values()];
}
