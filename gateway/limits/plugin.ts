/**
 * Plugs the limits into Apollo Server. In its request pipeline: parse (with graphql-js's own token
 * limit, which also bounds what graphql-js's validation rules then cost), validate, then
 * `didResolveOperation`: the operation's kind and name, our document limits (once per document:
 * Apollo hands the same parsed document to every request that sends the same text), its variables
 * and its cost (which depends on them); only then the gateway's executor, which plans and asks the
 * nations. A refusal thrown from `didResolveOperation` is answered with its own status (400) and
 * error, as thrown. (Thrown from an earlier hook, Apollo answers 500: no earlier hook will do.)
 */
import type { ApolloServerOptions, ApolloServerPlugin, BaseContext } from '@apollo/server';
import { GraphQLError, Lexer, Source, TokenKind, type DocumentNode, type GraphQLFormattedError, type GraphQLSchema } from 'graphql';
import { createCostModel } from './cost';
import { documentLimitBroken } from './document-rules';
import { limitExceeded, OperationRefused, OPERATION_TYPE_NOT_SUPPORTED, UNKNOWN_OPERATION } from './errors';
import type { OperationLimits } from './settings';

export interface LimitsWiring {
  contractSdl: string;
  /** The coalition's nations: root lists fan out to those their filter allows. */
  nations: readonly string[];
  limits: OperationLimits;
}

type ServerOptions = Pick<ApolloServerOptions<BaseContext>, 'parseOptions' | 'introspection' | 'hideSchemaDetailsFromClientErrors' | 'formatError'>;

/** What ApolloServer's constructor is given: its own settings, and the plugin to add to its plugins. */
export function operationLimits(wiring: LimitsWiring): ServerOptions & { plugin: ApolloServerPlugin<BaseContext> } {
  const { limits } = wiring;
  const cost = createCostModel({ contractSdl: wiring.contractSdl, nations: wiring.nations, limits });
  const documentChecked = new WeakMap<DocumentNode, OperationRefused | null>();
  const documentRefusal = (schema: GraphQLSchema, document: DocumentNode) => {
    let refusal = documentChecked.get(document);
    if (refusal === undefined) documentChecked.set(document, (refusal = documentLimitBroken(schema, document, limits) ?? null));
    return refusal;
  };
  return {
    parseOptions: { maxTokens: limits.maxTokens },
    introspection: limits.introspection,
    // Apollo's own switch: it strips "Did you mean …?" from validation errors.
    hideSchemaDetailsFromClientErrors: !limits.suggestions,
    formatError: (formatted, error) => tokenLimitError(formatted, error, limits.maxTokens) ?? formatted,
    plugin: {
      async requestDidStart() {
        return {
          async didResolveOperation({ operation, request, schema, document }) {
            if (!operation) throw unresolvedOperation(request.operationName);
            if (operation.operation !== 'query') {
              throw new OperationRefused(`The coalition answers queries only: a ${operation.operation} is not served.`, OPERATION_TYPE_NOT_SUPPORTED, { operation: operation.operation });
            }
            const refusal = documentRefusal(schema, document);
            if (refusal) throw refusal;
            const values = valueCount(request.variables, limits.maxVariableValues);
            if (values > limits.maxVariableValues) throw limitExceeded('maxVariableValues', limits.maxVariableValues);
            const found = cost.costOf(schema, document, operation, request.variables ?? {});
            if (found > limits.maxCost) throw limitExceeded('maxCost', limits.maxCost, Number.isSafeInteger(found) ? found : undefined);
          },
        };
      },
    },
  };
}

function unresolvedOperation(operationName: string | undefined): OperationRefused {
  const message = operationName
    ? `The document has no operation named "${operationName}".`
    : 'The document holds no operation, or several: name the one to run with "operationName".';
  return new OperationRefused(message, UNKNOWN_OPERATION, operationName ? { operationName } : {});
}

/** Counts up to just past `max`: a huge variable costs no more to refuse than the limit. */
function valueCount(value: unknown, max: number): number {
  let count = 0;
  const stack: unknown[] = [value];
  while (stack.length && count <= max + 1) {
    const next = stack.pop();
    if (Array.isArray(next)) stack.push(...next.slice(0, max + 1));
    else if (next && typeof next === 'object') stack.push(...Object.values(next));
    count += 1;
  }
  return count - 1; // the variables object itself is not a value
}

/**
 * graphql-js stops parsing past `maxTokens` with a syntax error; Apollo answers it as
 * GRAPHQL_PARSE_FAILED. The error says which limit it was: counted again on the source, not read
 * from graphql-js's wording.
 */
function tokenLimitError(formatted: GraphQLFormattedError, error: unknown, maxTokens: number): GraphQLFormattedError | undefined {
  if (formatted.extensions?.code !== 'GRAPHQL_PARSE_FAILED' || !(error instanceof GraphQLError) || !error.source) return undefined;
  if (!exceedsTokens(error.source, maxTokens)) return undefined;
  const refused = limitExceeded('maxTokens', maxTokens);
  return { message: refused.message, extensions: { code: refused.extensions.code, limit: maxTokens } };
}

function exceedsTokens(source: Source, maxTokens: number): boolean {
  const lexer = new Lexer(source);
  try {
    for (let count = 0; count <= maxTokens; count++) if (lexer.advance().kind === TokenKind.EOF) return false;
    return true;
  } catch {
    return false; // a real syntax error before the limit
  }
}
