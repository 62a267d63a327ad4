/**
 * Limits that depend on the document alone, checked once per distinct document before Apollo's
 * own validation (some of graphql-js's rules grow with the square of a document's repeated fields)
 * and before the query planner (which grows with fragment fan-out). Depth, aliases and directives
 * are graphql-armor's rules; root fields and expanded selections are ours.
 */
import { maxAliasesRule } from '@escape.tech/graphql-armor-max-aliases';
import { maxDepthRule } from '@escape.tech/graphql-armor-max-depth';
import { maxDirectivesRule } from '@escape.tech/graphql-armor-max-directives';
import { Kind, validate, type DocumentNode, type FragmentDefinitionNode, type GraphQLSchema, type SelectionSetNode, type ValidationContext, type ValidationRule } from 'graphql';
import { limitExceeded, OperationRefused } from './errors';
import type { OperationLimits } from './settings';

/** The first limit the document breaks, or undefined. */
export function documentLimitBroken(schema: GraphQLSchema, document: DocumentNode, limits: OperationLimits): OperationRefused | undefined {
  const errors = validate(schema, document, documentRules(limits), { maxErrors: 1 });
  return errors.find((e): e is OperationRefused => e instanceof OperationRefused);
}

function documentRules(limits: OperationLimits): ValidationRule[] {
  // graphql-armor throws by default; told not to, it hands us the rejection and we report our own error.
  const armor = (limit: 'maxDepth' | 'maxAliases' | 'maxDirectives') => ({
    n: limits[limit],
    propagateOnRejection: false,
    onReject: [(context: ValidationContext | null) => context?.reportError(limitExceeded(limit, limits[limit]))],
  });
  return [
    maxSelectionsRule(limits.maxSelections),
    maxDepthRule({ ...armor('maxDepth'), flattenFragments: true, ignoreIntrospection: true }),
    maxAliasesRule(armor('maxAliases')),
    maxRootFieldsRule(limits.maxRootFields),
    maxDirectivesRule(armor('maxDirectives')),
  ] as ValidationRule[];
}

/** Root fields of each operation, fragments at the root expanded. */
function maxRootFieldsRule(allowed: number): ValidationRule {
  return (context) => ({
    OperationDefinition(operation) {
      const found = expandedCount(operation.selectionSet, context, false);
      if (found > allowed) context.reportError(limitExceeded('maxRootFields', allowed, found));
    },
  });
}

/**
 * Every selection counted as often as fragment spreads repeat it: nineteen levels of fragments that
 * each spread the next twice are half a million selections in 1.5 KB of text. Memoised per
 * fragment, so counting costs one pass over the text however large the expansion.
 */
function maxSelectionsRule(allowed: number): ValidationRule {
  return (context) => ({
    OperationDefinition(operation) {
      const found = expandedCount(operation.selectionSet, context, true);
      if (found > allowed) context.reportError(limitExceeded('maxSelections', allowed, found));
    },
  });
}

function expandedCount(selectionSet: SelectionSetNode, context: ValidationContext, deep: boolean, memo = new Map<string, number>()): number {
  let count = 0;
  for (const selection of selectionSet.selections) {
    if (selection.kind === Kind.FIELD) {
      count += 1 + (deep && selection.selectionSet ? expandedCount(selection.selectionSet, context, deep, memo) : 0);
    } else if (selection.kind === Kind.INLINE_FRAGMENT) {
      count += expandedCount(selection.selectionSet, context, deep, memo);
    } else {
      count += fragmentCount(context.getFragment(selection.name.value), context, deep, memo);
    }
  }
  return count;
}

function fragmentCount(fragment: FragmentDefinitionNode | null | undefined, context: ValidationContext, deep: boolean, memo: Map<string, number>): number {
  if (!fragment) return 0;
  const name = fragment.name.value;
  const known = memo.get(name);
  if (known !== undefined) return known;
  // A cycle counts nothing here: graphql-js's own NoFragmentCyclesRule refuses it next.
  memo.set(name, 0);
  const count = expandedCount(fragment.selectionSet, context, deep, memo);
  memo.set(name, count);
  return count;
}
