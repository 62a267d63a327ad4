/**
 * The data source behind the logical `nations` subgraphs. Apollo Federation cannot answer one root
 * field from several subgraphs, nor route an entity by its key's value; this source does both:
 * root lists fan out to every nation the filter allows and merge on one global order, single
 * objects and `_entities` go to the nation their id names, and a nation that fails costs only its
 * own data plus a NATION_UNAVAILABLE error naming it.
 */
import type { GraphQLDataSource, GraphQLDataSourceProcessOptions } from '@apollo/gateway';
import type { GatewayGraphQLResponse } from '@apollo/server-gateway-interface';
import { valueFromASTUntyped, type GraphQLFormattedError, type ValueNode } from 'graphql';
import type { AssertionSigner, Principal } from '../../policies';
import { ASSERTION_HEADER } from '../../policies';
import { mergeConnectionPages, takenPerNation, type NationPage } from './connection-merge';
import { NATION_FIRST_VARIABLE, fetchShapeOf, type ByIdPart, type ConnectionPart, type EntitiesFetch, type PrincipalPart, type RootPart } from './fetch-shape';
import { ownerOf } from '../global-id';
import { AnswerRejected, createAnswerCheck, type AnswerCheck } from './answer-check';
import { LIMIT_CODES } from '../limits';
import { SubgraphClient, SubgraphUnavailable, type ClientCircuit, type GraphQLErrorBody, type GraphQLResponseBody } from './subgraph-client';
import type { CircuitSnapshot } from './circuit';

export interface NationEndpoint {
  nation: string;
  url: string;
}

export interface NationsSourceOptions {
  nations: NationEndpoint[];
  /** The contract the nations serve: what every answer is checked against (see answer-check.ts). */
  contractSdl: string;
  sign: AssertionSigner;
  /** Per-nation deadline: a nation slower than this costs its own data only. */
  timeoutMs: number;
  /** Requests to the nations one client request may cause: past it, a fetch answers an error instead of asking. */
  maxNationRequests: number;
  /** A circuit around each nation (see circuit.ts); without it every nation is always asked. */
  circuitFor?: (nation: string) => ClientCircuit;
}

/** What the gateway's request context must carry for its data sources. */
export interface FanoutContext {
  principal?: Principal;
  /** When set, only these nations are asked (a policy officer's "see as" asks its own nation only). */
  onlyNations?: readonly string[];
  /**
   * When set, the WITHHELD errors of root fetches go here (their paths are the client's) instead of
   * back to Apollo Gateway: the gateway's enforcement reports them itself.
   */
  withheldAtSource?: GraphQLFormattedError[];
}

/** @apollo/gateway does not export its request-kind enum; this is its value for real traffic. */
export const INCOMING_OPERATION = 'incoming operation' as GraphQLDataSourceProcessOptions['kind'];

const DEFAULT_PAGE_SIZE = 20;
const MAX_PAGE_SIZE = 500;

type Variables = Record<string, unknown>;

interface PartResult {
  value: unknown;
  errors: GraphQLErrorBody[];
}

export class NationsDataSource implements GraphQLDataSource<FanoutContext> {
  private readonly clients: Map<string, SubgraphClient>;
  private readonly checkAnswer: AnswerCheck;
  /**
   * Requests left per client request, keyed by the request's context: every fetch of one request
   * gets the same context object from Apollo Gateway, and it is gone with the request.
   */
  private readonly requestsLeft = new WeakMap<object, { left: number }>();

  constructor(private readonly options: NationsSourceOptions) {
    this.clients = new Map(options.nations.map((n) => [n.nation, new SubgraphClient(n.url, options.timeoutMs, options.circuitFor?.(n.nation))]));
    this.checkAnswer = createAnswerCheck(options.contractSdl);
  }

  get nationCodes(): string[] {
    return [...this.clients.keys()];
  }

  async process(options: GraphQLDataSourceProcessOptions<FanoutContext>): Promise<GatewayGraphQLResponse> {
    if (options.kind !== INCOMING_OPERATION) {
      return { errors: [{ message: 'the nations are only queried on behalf of a verified principal' }] } as GatewayGraphQLResponse;
    }
    const principal = options.context.principal;
    if (!principal) return { errors: [{ message: 'no verified principal for this request', extensions: { code: 'UNAUTHENTICATED' } }] } as GatewayGraphQLResponse;
    const { query, variables = {}, operationName } = options.request;
    if (!query) return { errors: [{ message: 'empty fetch' }] } as GatewayGraphQLResponse;
    const shape = fetchShapeOf(query);
    const call: Call = { principal, query, variables, operationName: operationName ?? null, onlyNations: options.context.onlyNations, budget: this.budgetOf(options.context) };
    if (shape.kind === 'entities') return (await this.entities(shape, call)) as GatewayGraphQLResponse;
    const response = await this.roots(shape.parts, call);
    const sink = options.context.withheldAtSource;
    // A root fetch's paths are the client's as they are (Apollo only prefixes the fetch's own path, empty here).
    if (sink && response.errors && !('pathInIncomingRequest' in options && options.pathInIncomingRequest?.length)) return keepWithheldIn(response, sink) as GatewayGraphQLResponse;
    return response as GatewayGraphQLResponse;
  }

  private budgetOf(context: object): { left: number } {
    let budget = this.requestsLeft.get(context);
    if (!budget) this.requestsLeft.set(context, (budget = { left: this.options.maxNationRequests }));
    return budget;
  }

  /** Each nation's circuit, for /health. */
  circuits(): Record<string, CircuitSnapshot | undefined> {
    return Object.fromEntries([...this.clients].map(([nation, client]) => [nation, client.circuitState]));
  }

  async close(): Promise<void> {
    await Promise.all([...this.clients.values()].map((c) => c.close()));
  }

  private async roots(parts: RootPart[], call: Call): Promise<GraphQLResponseBody> {
    const results = await Promise.all(parts.map((part) => this.rootPart(part, call)));
    const data: Record<string, unknown> = {};
    const errors: GraphQLErrorBody[] = [];
    parts.forEach((part, i) => {
      data[part.responseKey] = results[i]!.value;
      errors.push(...results[i]!.errors);
    });
    return errors.length ? { data, errors } : { data };
  }

  private rootPart(part: RootPart, call: Call): Promise<PartResult> | PartResult {
    switch (part.kind) {
      case 'typename':
        return { value: 'Query', errors: [] };
      case 'connection':
        return this.connection(part, call);
      case 'byId':
        return this.byId(part, call);
      case 'principal':
        return this.principalField(part, call);
    }
  }

  private async connection(part: ConnectionPart, call: Call): Promise<PartResult> {
    const first = evaluate(part.args.first, call.variables) ?? DEFAULT_PAGE_SIZE;
    if (!Number.isInteger(first) || (first as number) < 1 || (first as number) > MAX_PAGE_SIZE) {
      return { value: null, errors: [badInput(`"first" must be an integer from 1 to ${MAX_PAGE_SIZE}, got ${JSON.stringify(first)}`, part.responseKey)] };
    }
    const { nations, errors } = this.nationsAllowedBy(evaluate(part.args.filter, call.variables), part.responseKey);
    const variables = pick(call.variables, part.variableNames);
    // Two phases: every nation first returns only its cursors, the merge decides how many edges each
    // contributes, then only those are resolved. The nations together resolve `first` objects, not
    // `first` per nation. One nation needs no probe.
    const counts: Map<string, number> & { hasNextPage?: boolean } = nations.length === 1 ? new Map([[nations[0]!, first as number]]) : await this.probe(part, nations, call, first as number, errors);
    const asked = [...counts].filter(([, count]) => count > 0);
    const answers = await Promise.all(asked.map(([nation, count]) => this.ask(nation, part.query, { ...variables, [NATION_FIRST_VARIABLE]: count }, call)));
    const pages: NationPage[] = [];
    answers.forEach((answer, i) => {
      const nation = asked[i]![0];
      if (answer instanceof SubgraphUnavailable) {
        errors.push(nationFailed(nation, answer, part.responseKey));
        return;
      }
      const connection = answer.data?.[part.responseKey] as Record<string, unknown> | null | undefined;
      if (connection) pages.push({ nation, connection, errors: tagged(answer.errors, nation) });
      else errors.push(...tagged(answer.errors, nation));
    });
    const merged = mergeConnectionPages(part, pages, first as number, counts.hasNextPage);
    return { value: merged.connection, errors: [...errors, ...merged.errors] };
  }

  /** Phase one: cursors only, from every nation; returns how many edges each contributes to the page. */
  private async probe(part: ConnectionPart, nations: string[], call: Call, first: number, errors: GraphQLErrorBody[]) {
    const variables = pick(call.variables, part.probe.variableNames);
    const answers = await Promise.all(nations.map((nation) => this.ask(nation, part.probe.query, variables, call)));
    const pages: NationPage[] = [];
    answers.forEach((answer, i) => {
      const nation = nations[i]!;
      if (answer instanceof SubgraphUnavailable) return void errors.push(nationFailed(nation, answer, part.responseKey));
      const connection = answer.data?.[part.responseKey] as Record<string, unknown> | null | undefined;
      if (connection) pages.push({ nation, connection, errors: [] });
      else errors.push(...tagged(answer.errors, nation));
    });
    return takenPerNation(pages, first);
  }

  private nationsAllowedBy(filter: unknown, responseKey: string): { nations: string[]; errors: GraphQLErrorBody[] } {
    const wanted = (filter as { nations?: unknown } | null | undefined)?.nations;
    if (!Array.isArray(wanted)) return { nations: this.nationCodes, errors: [] };
    const unknown = wanted.filter((n) => !this.clients.has(n as string));
    const errors = unknown.length ? [badInput(`filter.nations names nations that are not in the coalition: ${unknown.join(', ')}`, responseKey)] : [];
    return { nations: this.nationCodes.filter((n) => wanted.includes(n)), errors };
  }

  private async byId(part: ByIdPart, call: Call): Promise<PartResult> {
    const id = evaluate(part.idArg, call.variables);
    const nation = ownerOf(id);
    // An id naming no member nation cannot exist: "not found", like any other absent object.
    if (!nation || !this.clients.has(nation)) return { value: null, errors: [] };
    return this.single(nation, part, call);
  }

  private principalField(part: PrincipalPart, call: Call): Promise<PartResult> {
    const home = this.clients.has(call.principal.nation) ? call.principal.nation : this.nationCodes[0]!;
    return this.single(home, part, call);
  }

  private async single(nation: string, part: ByIdPart | PrincipalPart, call: Call): Promise<PartResult> {
    const answer = await this.ask(nation, part.query, pick(call.variables, part.variableNames), call);
    if (answer instanceof SubgraphUnavailable) return { value: null, errors: [nationFailed(nation, answer, part.responseKey)] };
    return { value: answer.data?.[part.responseKey] ?? null, errors: tagged(answer.errors, nation) };
  }

  /**
   * Each distinct representation goes to its owner once (the planner repeats one that several
   * objects point at); the answers go back to every position that asked, in order, gaps as null.
   */
  private async entities(shape: EntitiesFetch, call: Call): Promise<GraphQLResponseBody> {
    const representations = (call.variables[shape.representationsVariable] ?? []) as Array<{ id?: unknown }>;
    const entities: unknown[] = representations.map(() => null);
    const byNation = new Map<string, DistinctRepresentations>();
    representations.forEach((rep, index) => {
      const nation = ownerOf(rep.id);
      if (!nation || !this.clients.has(nation)) return;
      let distinct = byNation.get(nation);
      if (!distinct) byNation.set(nation, (distinct = { sent: [], positions: [], slotOf: new Map() }));
      const key = stableKey(rep);
      let slot = distinct.slotOf.get(key);
      if (slot === undefined) {
        distinct.slotOf.set(key, (slot = distinct.sent.length));
        distinct.sent.push(rep);
        distinct.positions.push([]);
      }
      distinct.positions[slot]!.push(index);
    });
    const errors: GraphQLErrorBody[] = [];
    await Promise.all(
      [...byNation].map(async ([nation, { sent, positions }]) => {
        const answer = await this.ask(nation, call.query, { ...call.variables, [shape.representationsVariable]: sent }, call);
        if (answer instanceof SubgraphUnavailable) {
          errors.push(nationFailed(nation, answer));
          return;
        }
        const answered = answer.data?._entities ?? null;
        // One entity per representation sent, as the federation spec says: an answer out of step with its question is not trusted.
        if (answered !== null && (!Array.isArray(answered) || answered.length !== sent.length)) {
          errors.push(nationFailed(nation, rejected(nation, 'it did not return one entity for each representation it was sent')));
          return;
        }
        positions.forEach((originals, slot) => originals.forEach((original) => (entities[original] = answered?.[slot] ?? null)));
        for (const error of tagged(answer.errors, nation)) errors.push(...remapEntityPath(error, positions));
      }),
    );
    return errors.length ? { data: { _entities: entities }, errors } : { data: { _entities: entities } };
  }

  private async ask(nation: string, query: string, variables: Variables, call: Call): Promise<GraphQLResponseBody | SubgraphUnavailable> {
    // A nation outside the request's scope is not asked at all: its objects are simply absent.
    if (call.onlyNations && !call.onlyNations.includes(nation)) return { data: null };
    if (call.budget.left <= 0) return new RequestBudgetSpent(`this request has used all ${this.options.maxNationRequests} requests to the nations it may make`);
    call.budget.left -= 1;
    const client = this.clients.get(nation)!;
    try {
      const assertion = await this.options.sign(call.principal, `sovgraph:${nation}`);
      const answer = await client.post({ query, variables, operationName: call.operationName }, { [ASSERTION_HEADER]: assertion });
      return this.checked(nation, query, answer);
    } catch (error) {
      if (error instanceof SubgraphUnavailable) return error;
      throw error;
    }
  }

  /** The answer, or why it is refused: an answer the check cannot even read is refused too. */
  private checked(nation: string, query: string, answer: GraphQLResponseBody): GraphQLResponseBody | AnswerRejected {
    let fault: string | undefined;
    try {
      fault = this.checkAnswer(nation, query, answer);
    } catch {
      fault = 'its answer could not be checked';
    }
    return fault ? rejected(nation, fault) : answer;
  }
}

interface Call {
  principal: Principal;
  onlyNations?: readonly string[];
  query: string;
  variables: Variables;
  operationName: string | null;
  /** Requests to the nations this client request may still make. */
  budget: { left: number };
}

interface DistinctRepresentations {
  /** Each distinct representation once, in the order first asked. */
  sent: Array<{ id?: unknown }>;
  /** For each one sent, every position of the fetch that asked for it. */
  positions: number[][];
  slotOf: Map<string, number>;
}

/** A nation the gateway did not ask, because the client request had used its budget of nation requests. */
export class RequestBudgetSpent extends SubgraphUnavailable {
  override readonly name = 'RequestBudgetSpent';
  override readonly code = LIMIT_CODES.maxNationRequests;

  override headline(nation: string): string {
    return `Nation ${nation} was not asked`;
  }
}

/** The same representation however its keys are ordered. */
function stableKey(value: unknown): string {
  if (Array.isArray(value)) return `[${value.map(stableKey).join(',')}]`;
  if (value && typeof value === 'object') return `{${Object.keys(value).sort().map((k) => `${JSON.stringify(k)}:${stableKey((value as Record<string, unknown>)[k])}`).join(',')}}`;
  return JSON.stringify(value) ?? 'undefined';
}

function evaluate(node: ValueNode | undefined, variables: Variables): unknown {
  return node ? valueFromASTUntyped(node, variables) : undefined;
}

function pick(variables: Variables, names: string[]): Variables {
  const picked: Variables = {};
  for (const name of names) if (name in variables) picked[name] = variables[name];
  return picked;
}

function keepWithheldIn(response: GraphQLResponseBody, sink: GraphQLFormattedError[]): GraphQLResponseBody {
  const others: GraphQLErrorBody[] = [];
  for (const error of response.errors ?? []) {
    if (error.extensions?.code === 'WITHHELD') sink.push(error);
    else others.push(error);
  }
  return others.length ? { ...response, errors: others } : { data: response.data };
}

function tagged(errors: GraphQLErrorBody[] | undefined, nation: string): GraphQLErrorBody[] {
  if (!errors?.length) return [];
  // The gateway says which nation answered: a nation's own `nation` would speak for another.
  return errors.map((e) => ({ ...e, extensions: { ...e.extensions, nation } }));
}

/**
 * An entity error goes to every position that asked for the entity it is about; one at a position
 * the nation was not sent keeps no path: it would land on another nation's object.
 */
function remapEntityPath(error: GraphQLErrorBody, positions: number[][]): GraphQLErrorBody[] {
  const path = error.path;
  if (!path || path[0] !== '_entities' || path.length === 1) return [error];
  const originals = typeof path[1] === 'number' ? positions[path[1]] : undefined;
  if (originals) return originals.map((original) => ({ ...error, path: ['_entities', original, ...path.slice(2)] }));
  const { path: _misplaced, ...unplaced } = error;
  return [unplaced];
}

function rejected(nation: string, fault: string): AnswerRejected {
  // The gateway's operator must learn of it; the words name a path, never a value.
  console.warn(`[gateway] nation ${nation}'s answer was rejected: ${fault}`);
  return new AnswerRejected(fault);
}

/** A nation's data missing from the answer: it did not answer in time, or its answer was refused. */
function nationFailed(nation: string, failure: SubgraphUnavailable, responseKey?: string): GraphQLErrorBody {
  return {
    message: `${failure.headline(nation)}: ${failure.message}. Its data is missing from this answer.`,
    ...(responseKey ? { path: [responseKey] } : {}),
    extensions: { code: failure.code, nation },
  };
}

function badInput(message: string, responseKey: string): GraphQLErrorBody {
  return { message, path: [responseKey], extensions: { code: 'BAD_USER_INPUT' } };
}
