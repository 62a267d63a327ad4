/**
 * Enforcement at the gateway: wraps Apollo Gateway's executor. Before planning, the operation is
 * rewritten to fetch what the policy decides on; after execution, the answer is walked and every
 * field of every nation-owned object decided again, and `extensions.marking` rolled up.
 *
 * Apollo Gateway caches query plans by `queryHash` (+ operation name), not by document: the
 * rewritten document gets a hash of its own, derived from the client's hash and from the rules'
 * versions (which decide what is injected), so a plan can never be reused for another rewrite.
 * The server caches the client's document: it is never mutated, only replaced on a derived context.
 */
import { createHash } from 'node:crypto';
import { GraphQLError, Kind, TypeInfo, validate, type DocumentNode, type GraphQLFormattedError, type GraphQLSchema, type OperationDefinitionNode } from 'graphql';
import type { ApolloServerPlugin } from '@apollo/server';
import type {
  GatewayExecutor,
  GatewayGraphQLRequestContext,
  GatewayInterface,
  GatewayLoadResult,
  GatewaySchemaLoadOrUpdateCallback,
  GatewayUnsubscriber,
} from '@apollo/server-gateway-interface';
import type { PolicyEngine, Principal } from '../../policies';
import { CursorRejected, openCursorArguments, type CursorSeal } from './cursors';
import { filtersSightings, namedReferences, REFERENCE_CHECK, referenceCheck, withoutHidden } from './references';
import { injectPolicyInputs, reservedAliasesIn } from './rewrite';
import { enforceResult, type AnswerError } from './walk';
import { OperationRefused, QUERY_PLAN_TOO_LARGE } from '../limits';
import { SubgraphUnavailable } from '../fanout/subgraph-client';

const NATION_UNAVAILABLE = new SubgraphUnavailable().code;

export interface EnforcementOptions {
  /** The rules to enforce for a request: those in force, read per request so they swap without a restart. */
  engine(context: unknown): PolicyEngine;
  /** The verified caller of a request, from the server's context. */
  principalOf(context: unknown): Principal | undefined;
  /** false serves answers as the nations send them: only for the benchmark's "policy off" baseline. */
  enabled?: boolean;
  /** Seals the cursors the client sees and opens those it sends back. */
  cursors: CursorSeal;
  /**
   * The request's context as the data sources get it, with a list they put the nations' WITHHELD
   * errors in instead of handing them to Apollo Gateway, which would make a GraphQLError of each
   * (see AnswerError). Without it, those errors come through Apollo like any other.
   */
  collectingWithheld?(context: unknown, withheld: GraphQLFormattedError[]): unknown;
}

interface Rewritten {
  document: DocumentNode;
  operation: OperationDefinitionNode | undefined;
  queryHash: string;
  errors: readonly GraphQLError[];
}

const REWRITE_CACHE_SIZE = 2000;
/** Bound on the indicators one operation's filters may name: each is looked up before it runs. */
export const MAX_NAMED_REFERENCES = 20;

export class EnforcingGateway implements GatewayInterface {
  private readonly rewrites = new Map<string, Rewritten>();
  /** What the rewrite depends on, per engine: the fields its rules look at, hashed once. */
  private readonly inputsOf = new WeakMap<PolicyEngine, string>();
  private readonly reserved = new WeakMap<DocumentNode, string[]>();
  /** Whether a client's document filters sightings at all: only those are walked for named indicators, per request. */
  private readonly filtersSightingsOf = new WeakMap<DocumentNode, boolean>();
  /** Per request (its context), the policy outcomes the answer goes out with beside Apollo's errors. */
  private readonly withheldOf = new WeakMap<object, GraphQLFormattedError[]>();

  /**
   * Joins each answer's withheld fields to its errors once Apollo Server has formatted its own:
   * the server must be given this plugin.
   */
  readonly plugin: ApolloServerPlugin = {
    requestDidStart: async () => ({
      willSendResponse: async ({ contextValue, response }) => {
        // Taken, not read: a context given to a second operation must not carry the first one's.
        const withheld = this.withheldOf.get(contextValue);
        this.withheldOf.delete(contextValue);
        if (!withheld?.length || response.body.kind !== 'single') return;
        const result = response.body.singleResult;
        result.errors = [...(result.errors ?? []), ...withheld];
      },
    }),
  };

  constructor(
    private readonly inner: GatewayInterface,
    private readonly options: EnforcementOptions,
  ) {}

  onSchemaLoadOrUpdate(callback: GatewaySchemaLoadOrUpdateCallback): GatewayUnsubscriber {
    return this.inner.onSchemaLoadOrUpdate(callback);
  }

  stop(): Promise<void> {
    return this.inner.stop();
  }

  async load(options: Parameters<GatewayInterface['load']>[0]): Promise<GatewayLoadResult> {
    const loaded = await this.inner.load(options);
    const executor = loaded.executor;
    if (!executor || this.options.enabled === false) return loaded;
    return { ...loaded, executor: (requestContext) => this.execute(requestContext, executor) };
  }

  private async execute(requestContext: GatewayGraphQLRequestContext, executor: GatewayExecutor) {
    const principal = this.options.principalOf(requestContext.context);
    if (!principal) return { errors: [new GraphQLError('no verified caller: the gateway answers nothing', { extensions: { code: 'UNAUTHENTICATED' } })] };
    const reserved = this.reservedAliasesOf(requestContext.document);
    if (reserved.length) {
      return { errors: [new GraphQLError(`aliases starting with "__sg_" are reserved for the gateway: rename ${reserved.join(', ')}`, { extensions: { code: 'BAD_USER_INPUT' } })] };
    }
    let opened;
    try {
      opened = openCursorArguments(requestContext.document, requestContext.request.variables, this.options.cursors);
    } catch (error) {
      if (error instanceof CursorRejected) return { errors: [error] };
      throw error;
    }
    const engine = this.options.engine(requestContext.context);
    const named = this.mayNameReferences(requestContext.document) ? namedReferences(opened.document, new TypeInfo(requestContext.schema), opened.variables) : [];
    const distinctNamed = new Set(named.map((n) => n.id));
    if (distinctNamed.size > MAX_NAMED_REFERENCES) {
      return { errors: [new GraphQLError(`an operation may name at most ${MAX_NAMED_REFERENCES} indicators in sightingOf filters (this one names ${distinctNamed.size})`, { extensions: { code: 'BAD_USER_INPUT', argument: 'filter.sightingOf' } })] };
    }
    let { document, variables } = { document: opened.document, variables: opened.variables };
    let queryHash = requestContext.queryHash;
    let ownersUnavailable: GraphQLError[] = [];
    if (named.length) {
      const { visible, unavailable } = await this.visibleIndicators(requestContext, executor, engine, principal, [...distinctNamed]);
      ownersUnavailable = unavailable;
      const hidden = named.filter((n) => !visible.has(n.id));
      const without = withoutHidden(document, variables, hidden);
      ({ document, variables } = without);
      if (without.changed) queryHash = createHash('sha256').update(`${queryHash}|unseen:${without.changed}`).digest('hex');
    }
    const rewritten = this.rewrite(requestContext.schema, document, queryHash, requestContext.request.operationName, engine);
    // A rewrite that does not validate would plan something else than asked: refuse, never guess.
    if (rewritten.errors.length) {
      console.error(`[gateway] the policy rewrite of operation ${requestContext.queryHash} does not validate: ${rewritten.errors.map((e) => e.message).join('; ')}`);
      return { errors: [new GraphQLError('the gateway could not prepare this operation for policy enforcement', { extensions: { code: 'INTERNAL_SERVER_ERROR' } })] };
    }
    const withheldAtSource: GraphQLFormattedError[] = [];
    const derived: GatewayGraphQLRequestContext = Object.create(requestContext, {
      context: { value: this.options.collectingWithheld?.(requestContext.context, withheldAtSource) ?? requestContext.context },
      document: { value: rewritten.document },
      queryHash: { value: rewritten.queryHash },
      operation: { value: rewritten.operation ?? requestContext.operation },
      request: { value: { ...requestContext.request, variables } },
    });
    const result = await executor(derived).catch(refusePlannerSafeguard);
    const enforced = enforceResult({
      schema: requestContext.schema,
      engine,
      principal,
      document: requestContext.document,
      operationName: requestContext.request.operationName,
      variables: requestContext.request.variables,
      data: result.data,
      errors: [...(result.errors ?? []), ...withheldAtSource],
      sealCursor: (cursor) => this.options.cursors.seal(cursor),
    });
    const sovgraph = enforced.redacted.length || enforced.transformed.length ? { redacted: enforced.redacted, transformed: enforced.transformed } : undefined;
    const { faults, outcomes } = partition(enforced.errors);
    faults.push(...ownersUnavailable);
    this.withheldOf.set(requestContext.context, outcomes);
    return {
      ...result,
      data: enforced.data,
      ...(faults.length ? { errors: faults } : { errors: undefined }),
      extensions: { ...result.extensions, marking: enforced.marking, ...(sovgraph && { sovgraph }) },
    };
  }

  /**
   * Which of the named indicators the caller may see, asked of their owners by id and decided again
   * here on the answer, like any answer (see references.ts): one look-up for every such request.
   */
  private async visibleIndicators(
    requestContext: GatewayGraphQLRequestContext,
    executor: GatewayExecutor,
    engine: PolicyEngine,
    principal: Principal,
    ids: string[],
  ): Promise<{ visible: Set<string>; unavailable: GraphQLError[] }> {
    const check = referenceCheck(ids.length);
    const rewritten = this.rewrite(requestContext.schema, check.document, createHash('sha256').update(check.text).digest('hex'), REFERENCE_CHECK, engine);
    if (rewritten.errors.length) return { visible: new Set(), unavailable: [] };
    const variables = Object.fromEntries(ids.map((id, i) => [`r${i}`, id]));
    const withheld: GraphQLFormattedError[] = [];
    const derived: GatewayGraphQLRequestContext = Object.create(requestContext, {
      context: { value: this.options.collectingWithheld?.(requestContext.context, withheld) ?? requestContext.context },
      document: { value: rewritten.document },
      queryHash: { value: rewritten.queryHash },
      operation: { value: rewritten.operation },
      operationName: { value: REFERENCE_CHECK },
      request: { value: { query: check.text, operationName: REFERENCE_CHECK, variables } },
    });
    const result = await executor(derived);
    const enforced = enforceResult({
      schema: requestContext.schema,
      engine,
      principal,
      document: check.document,
      operationName: REFERENCE_CHECK,
      variables,
      data: result.data,
      errors: [...(result.errors ?? []), ...withheld],
      sealCursor: (cursor) => this.options.cursors.seal(cursor),
    });
    const data = (enforced.data ?? {}) as Record<string, { id?: unknown } | null | undefined>;
    return { visible: new Set(ids.filter((id, i) => data[`r${i}`]?.id === id)), unavailable: ownersUnavailable(result.errors) };
  }

  private mayNameReferences(document: DocumentNode): boolean {
    let filters = this.filtersSightingsOf.get(document);
    if (filters === undefined) this.filtersSightingsOf.set(document, (filters = filtersSightings(document)));
    return filters;
  }

  /** The server parses a query once and hands the same document to every request that sends it. */
  private reservedAliasesOf(document: DocumentNode): string[] {
    let reserved = this.reserved.get(document);
    if (!reserved) this.reserved.set(document, (reserved = reservedAliasesIn(document)));
    return reserved;
  }

  private rewrite(schema: GraphQLSchema, document: DocumentNode, queryHash: string, operationName: string | undefined, engine: PolicyEngine): Rewritten {
    // Keyed by what the rules look at, not by their versions: a draft of the same version (a
    // simulation) that looks at other fields must never reuse a plan made for the rules in force.
    const key = `${queryHash}|${this.policyInputs(schema, engine)}`;
    let rewritten = this.rewrites.get(key);
    if (!rewritten) {
      const injected = injectPolicyInputs(schema, document, (type) => engine.fieldsLookedAt(type));
      rewritten = {
        document: injected,
        operation: injected.definitions.find((d): d is OperationDefinitionNode => d.kind === Kind.OPERATION_DEFINITION && (!operationName || d.name?.value === operationName)),
        queryHash: createHash('sha256').update(`sovgraph-enforced|${key}`).digest('hex'),
        errors: validate(schema, injected),
      };
      if (this.rewrites.size >= REWRITE_CACHE_SIZE) this.rewrites.clear();
      this.rewrites.set(key, rewritten);
    }
    return rewritten;
  }

  private policyInputs(schema: GraphQLSchema, engine: PolicyEngine): string {
    let inputs = this.inputsOf.get(engine);
    if (inputs === undefined) {
      const looked = Object.keys(schema.getTypeMap())
        .sort()
        .map((type) => `${type}:${engine.fieldsLookedAt(type).join(',')}`)
        .join(';');
      inputs = createHash('sha256').update(looked).digest('hex');
      this.inputsOf.set(engine, inputs);
    }
    return inputs;
  }
}

/**
 * Apollo's query planner gives up on an operation too large to plan by throwing a plain Error, which
 * Apollo Server answers as a 500. The gateway's own limits refuse such operations first; should one
 * get through, it is still the client's operation that is too large: a 400 that says so.
 */
function refusePlannerSafeguard(error: unknown): never {
  if (error instanceof Error && !(error instanceof GraphQLError) && /^Exceeded maximum .*selections/.test(error.message)) {
    throw new OperationRefused(`The operation is too large for the query planner: ${error.message}.`, QUERY_PLAN_TOO_LARGE);
  }
  throw error;
}

/**
 * An owner that could not be asked whether the caller sees its indicator: the filter then matches
 * nothing, and the answer says that nation is unavailable (whatever the indicator, so it tells nothing of it).
 */
function ownersUnavailable(errors: readonly GraphQLError[] | undefined): GraphQLError[] {
  const nations = new Set((errors ?? []).filter((e) => e.extensions?.code === NATION_UNAVAILABLE && typeof e.extensions.nation === 'string').map((e) => e.extensions.nation as string));
  return [...nations].map(
    (nation) =>
      new GraphQLError(`Nation ${nation} is unavailable: whether you may see the indicator a sightingOf filter names could not be asked of it, so the filter matches nothing in this answer.`, {
        extensions: { code: NATION_UNAVAILABLE, nation },
      }),
  );
}

/** Apollo's errors go back to Apollo Server; policy outcomes join the answer in the plugin. */
function partition(errors: readonly AnswerError[]): { faults: GraphQLError[]; outcomes: GraphQLFormattedError[] } {
  const faults: GraphQLError[] = [];
  const outcomes: GraphQLFormattedError[] = [];
  for (const error of errors) {
    if (error instanceof GraphQLError) faults.push(error);
    else outcomes.push(error);
  }
  return { faults, outcomes };
}
