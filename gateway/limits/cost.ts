/**
 * The cost of an operation, estimated before anything runs, from the composed schema and the
 * contract the nations serve:
 * - every field value the answer may hold costs 1, once per object it is asked on;
 * - a field with `first` is a page: below it, its lists hold `first` items;
 * - a root list (indicators, incidents, …) is probed at every nation its filter allows (`first`
 *   cursors each), then the merged page's `first` objects are resolved once (the fan-out's two phases);
 * - a list without `first` (Indicator.sightings, Incident.attributedTo, …) holds `assumedListSize`;
 * - a `@crossNation` reference also costs an entity fetch at its target's owner, per target.
 * Fragments are costed once per request (the cost is linear in how often they are spread).
 */
import {
  getNamedType,
  getNullableType,
  isCompositeType,
  isListType,
  isObjectType,
  isInterfaceType,
  Kind,
  parse,
  valueFromASTUntyped,
  type DocumentNode,
  type FieldNode,
  type GraphQLCompositeType,
  type GraphQLSchema,
  type OperationDefinitionNode,
  type SelectionSetNode,
} from 'graphql';
import { CONNECTION_FIELDS } from '../fanout/fetch-shape';
import { isCrossNation } from '../supergraph/nation-views';
import type { OperationLimits } from './settings';

export interface CostModel {
  /** The operation's estimated cost with these variables. */
  costOf(schema: GraphQLSchema, document: DocumentNode, operation: OperationDefinitionNode, variables: Record<string, unknown>): number;
}

export interface CostModelOptions {
  contractSdl: string;
  /** The coalition's nations: a root list without a `nations` filter fans out to all of them. */
  nations: readonly string[];
  limits: Pick<OperationLimits, 'assumedListSize' | 'entityFetchCost'>;
}

/** The contract's default page size, when a connection is asked without `first`. */
const FIRST_ARGUMENT = 'first';

export function createCostModel(options: CostModelOptions): CostModel {
  const crossNation = crossNationFields(options.contractSdl);
  return {
    costOf(schema, document, operation, variables) {
      const fragments = new Map(document.definitions.flatMap((d) => (d.kind === Kind.FRAGMENT_DEFINITION ? [[d.name.value, d] as const] : [])));
      const memo = new Map<string, number>();
      const root = schema.getRootType(operation.operation);
      if (!root) return 0;

      const selectionCost = (selectionSet: SelectionSetNode, parent: GraphQLCompositeType, pageSize: number | undefined): number => {
        let cost = 0;
        for (const selection of selectionSet.selections) {
          if (selection.kind === Kind.FIELD) cost += fieldCost(selection, parent, pageSize);
          else if (selection.kind === Kind.INLINE_FRAGMENT) {
            const type = selection.typeCondition ? (schema.getType(selection.typeCondition.name.value) as GraphQLCompositeType | undefined) : parent;
            cost += type ? selectionCost(selection.selectionSet, type, pageSize) : 0;
          } else cost += fragmentCost(selection.name.value, pageSize);
        }
        return cost;
      };

      const fragmentCost = (name: string, pageSize: number | undefined): number => {
        const key = `${name}|${pageSize ?? ''}`;
        const known = memo.get(key);
        if (known !== undefined) return known;
        memo.set(key, 0); // a cycle: validation has already refused it
        const fragment = fragments.get(name);
        const type = fragment && (schema.getType(fragment.typeCondition.name.value) as GraphQLCompositeType | undefined);
        const cost = fragment && type ? selectionCost(fragment.selectionSet, type, pageSize) : 0;
        memo.set(key, cost);
        return cost;
      };

      const fieldCost = (field: FieldNode, parent: GraphQLCompositeType, pageSize: number | undefined): number => {
        if (!isObjectType(parent) && !isInterfaceType(parent)) return 1;
        const definition = parent.getFields()[field.name.value];
        if (!definition || !field.selectionSet) return 1;
        const target = getNamedType(definition.type);
        if (!isCompositeType(target)) return 1;
        const first = argumentValue(field, FIRST_ARGUMENT, variables) ?? defaultFirst(definition.args);
        const probes = parent === root && CONNECTION_FIELDS.has(field.name.value) ? nationsAsked(field, variables, options.nations) * (1 + (pageSizeOf(first) ?? 0)) : 0;
        const objects = isListType(getNullableType(definition.type)) ? (pageSize ?? options.limits.assumedListSize) : 1;
        const entityFetches = crossNation.has(`${parent.name}.${field.name.value}`) ? objects * options.limits.entityFetchCost : 0;
        return probes + objects + entityFetches + objects * selectionCost(field.selectionSet, target, pageSizeOf(first));
      };

      return selectionCost(operation.selectionSet, root, undefined);
    },
  };
}

/** A `first` the nations would refuse (negative, not a number) costs nothing: it can never lower another field's cost. */
function pageSizeOf(first: unknown): number | undefined {
  if (first === undefined || first === null) return undefined;
  return typeof first === 'number' && first > 0 ? first : 0;
}

function crossNationFields(contractSdl: string): Set<string> {
  const fields = new Set<string>();
  for (const definition of parse(contractSdl).definitions) {
    if (definition.kind !== Kind.OBJECT_TYPE_DEFINITION) continue;
    for (const field of definition.fields ?? []) if (isCrossNation(field)) fields.add(`${definition.name.value}.${field.name.value}`);
  }
  return fields;
}

function argumentValue(field: FieldNode, name: string, variables: Record<string, unknown>): unknown {
  const argument = field.arguments?.find((a) => a.name.value === name);
  return argument ? valueFromASTUntyped(argument.value, variables) : undefined;
}

function defaultFirst(args: readonly { name: string; defaultValue?: unknown }[]): unknown {
  return args.find((a) => a.name === FIRST_ARGUMENT)?.defaultValue;
}

/** The coalition's nations the filter names (each once), or all of them. */
function nationsAsked(field: FieldNode, variables: Record<string, unknown>, nations: readonly string[]): number {
  const wanted = (argumentValue(field, 'filter', variables) as { nations?: unknown } | null | undefined)?.nations;
  if (!Array.isArray(wanted)) return nations.length;
  return new Set(wanted.filter((n) => nations.includes(n as string))).size;
}
