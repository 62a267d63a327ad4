/**
 * How a refused operation reads: HTTP 400, one GraphQL error whose `extensions.code` names the
 * limit, `extensions.limit` the allowed value and, where counting it was cheap, `extensions.found`.
 */
import { GraphQLError } from 'graphql';
import type { OperationLimits } from './settings';

type CountedLimit = Exclude<keyof OperationLimits, 'introspection' | 'suggestions' | 'assumedListSize' | 'entityFetchCost'>;

/** The code each limit answers with: one vocabulary for the gateway, its tests and the benchmark. */
export const LIMIT_CODES = {
  maxTokens: 'MAX_TOKENS_EXCEEDED',
  maxDepth: 'MAX_DEPTH_EXCEEDED',
  maxAliases: 'MAX_ALIASES_EXCEEDED',
  maxRootFields: 'MAX_ROOT_FIELDS_EXCEEDED',
  maxDirectives: 'MAX_DIRECTIVES_EXCEEDED',
  maxSelections: 'MAX_SELECTIONS_EXCEEDED',
  maxCost: 'MAX_COST_EXCEEDED',
  maxVariableValues: 'MAX_VARIABLE_VALUES_EXCEEDED',
  maxNationRequests: 'NATION_REQUEST_BUDGET_EXCEEDED',
} as const satisfies Record<CountedLimit, string>;

/** Operations the coalition does not serve, and an operation name the document does not hold. */
export const OPERATION_TYPE_NOT_SUPPORTED = 'OPERATION_TYPE_NOT_SUPPORTED';
export const UNKNOWN_OPERATION = 'UNKNOWN_OPERATION';
/** Apollo's query planner gave up on the operation's size (its own recursion safeguard). */
export const QUERY_PLAN_TOO_LARGE = 'QUERY_PLAN_TOO_LARGE';

const WHAT_IS_COUNTED: Record<CountedLimit, string> = {
  maxTokens: 'lexical tokens',
  maxDepth: 'levels of nested fields',
  maxAliases: 'aliased fields (fragments expanded)',
  maxRootFields: 'root fields',
  maxDirectives: 'directives (fragments expanded)',
  maxSelections: 'selections with every fragment spread expanded',
  maxCost: 'estimated cost (list sizes times the fields below them, root lists times the nations they fan out to, plus entity fetches)',
  maxVariableValues: 'values in its variables',
  maxNationRequests: 'requests to the nations',
};

/** A client error, never a fault: Apollo answers it with HTTP 400 and the code kept as given (see formatLimitError). */
export class OperationRefused extends GraphQLError {
  constructor(message: string, code: string, details: Record<string, unknown> = {}) {
    super(message, { extensions: { code, ...details, http: { status: 400 } } });
  }
}

export function limitExceeded(limit: CountedLimit, allowed: number, found?: number): OperationRefused {
  const had = found === undefined ? 'more' : String(found);
  return new OperationRefused(
    `The operation was refused before any nation was asked: it has ${had} ${WHAT_IS_COUNTED[limit]}, over the limit of ${allowed} (${LIMIT_CODES[limit]}).`,
    LIMIT_CODES[limit],
    { limit: allowed, ...(found !== undefined && { found }) },
  );
}
