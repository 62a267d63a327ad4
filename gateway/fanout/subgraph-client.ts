/**
 * One keep-alive connection pool per subgraph, each request bounded by a deadline. undici's
 * `request` is used rather than `fetch`: on the fan-out hot path it costs measurably less per call.
 */
import { Pool } from 'undici';
import { Circuit, type CircuitSettings, type CircuitSnapshot } from './circuit';

export interface GraphQLRequestBody {
  query: string;
  variables?: Record<string, unknown>;
  operationName?: string | null;
}

export interface GraphQLResponseBody {
  data?: Record<string, unknown> | null;
  errors?: GraphQLErrorBody[];
  extensions?: Record<string, unknown>;
}

export interface GraphQLErrorBody {
  message: string;
  path?: (string | number)[];
  extensions?: Record<string, unknown>;
  [key: string]: unknown;
}

/** The subgraph did not answer usefully in time: the caller turns this into NATION_UNAVAILABLE. */
export class SubgraphUnavailable extends Error {
  override readonly name: string = 'SubgraphUnavailable';
  /** The code of the error the caller gets in place of the nation's data. */
  readonly code: string = 'NATION_UNAVAILABLE';

  /** How that error begins, before the reason. */
  headline(nation: string): string {
    return `Nation ${nation} is unavailable`;
  }
}

/** The subgraph's circuit is open (see circuit.ts): it was not asked, or given up on when the circuit opened. */
export class CircuitOpen extends SubgraphUnavailable {
  override readonly name = 'CircuitOpen';
}

/** A circuit around the client: its settings, and the headers of the cheap request that probes an open circuit. */
export interface ClientCircuit {
  settings?: Partial<CircuitSettings>;
  probeHeaders(): Promise<Record<string, string>>;
}

/** Answers with the query's own type name: releases nothing, so the subgraph's audit log records nothing. */
const PROBE_QUERY = '{ __typename }';

export class SubgraphClient {
  private readonly pool: Pool;
  private readonly path: string;
  private readonly circuit: Circuit | undefined;

  constructor(readonly url: string, private readonly timeoutMs: number, circuit?: ClientCircuit) {
    const parsed = new URL(url);
    this.pool = new Pool(parsed.origin, { connections: 64, pipelining: 1, keepAliveTimeout: 30_000 });
    this.path = parsed.pathname + parsed.search;
    this.circuit = circuit && new Circuit(circuit.settings ?? {}, async (probeTimeoutMs) => void (await this.send({ query: PROBE_QUERY }, await circuit.probeHeaders(), Math.min(probeTimeoutMs, timeoutMs))));
  }

  /** The circuit's state, when the client has one. */
  get circuitState(): CircuitSnapshot | undefined {
    return this.circuit?.snapshot();
  }

  async post(body: GraphQLRequestBody, headers: Record<string, string>): Promise<GraphQLResponseBody> {
    const circuit = this.circuit;
    if (!circuit) return this.send(body, headers, this.timeoutMs);
    const refusal = circuit.refusal();
    if (refusal) throw new CircuitOpen(refusal);
    try {
      const answer = await this.send(body, headers, this.timeoutMs, circuit.openSignal);
      circuit.succeeded();
      return answer;
    } catch (error) {
      if (error instanceof SubgraphUnavailable && !(error instanceof CircuitOpen)) circuit.failed(error.message);
      throw error;
    }
  }

  close(): Promise<void> {
    this.circuit?.dispose();
    return this.pool.close();
  }

  private async send(body: GraphQLRequestBody, headers: Record<string, string>, timeoutMs: number, circuitOpened?: AbortSignal): Promise<GraphQLResponseBody> {
    // One signal for both reasons to give up; the listener on the circuit's long-lived signal is removed after.
    const controller = new AbortController();
    const abort = () => controller.abort();
    const deadline = AbortSignal.timeout(timeoutMs);
    deadline.addEventListener('abort', abort, { once: true });
    circuitOpened?.addEventListener('abort', abort, { once: true });
    const givenUp = () => (circuitOpened?.aborted ? new CircuitOpen(String(circuitOpened.reason)) : new SubgraphUnavailable(`no answer within ${timeoutMs} ms`));
    try {
      return await this.exchange(body, headers, controller.signal, givenUp);
    } finally {
      circuitOpened?.removeEventListener('abort', abort);
    }
  }

  private async exchange(body: GraphQLRequestBody, headers: Record<string, string>, signal: AbortSignal, givenUp: () => SubgraphUnavailable): Promise<GraphQLResponseBody> {
    let response;
    try {
      response = await this.pool.request({
        method: 'POST',
        path: this.path,
        headers: { 'content-type': 'application/json', accept: 'application/json', ...headers },
        body: JSON.stringify(body),
        signal,
      });
    } catch (error) {
      throw signal.aborted ? givenUp() : new SubgraphUnavailable(`unreachable (${describe(error)})`);
    }
    let parsed: unknown;
    try {
      parsed = await response.body.json();
    } catch {
      throw signal.aborted ? givenUp() : new SubgraphUnavailable(`answered HTTP ${response.statusCode} without a GraphQL body`);
    }
    if (!isGraphQLResponse(parsed)) throw new SubgraphUnavailable(`answered HTTP ${response.statusCode} without a GraphQL body`);
    if (response.statusCode >= 500 && !parsed.data) throw new SubgraphUnavailable(`answered HTTP ${response.statusCode}`);
    return parsed;
  }
}

function isGraphQLResponse(value: unknown): value is GraphQLResponseBody {
  return typeof value === 'object' && value !== null && ('data' in value || 'errors' in value);
}

function describe(error: unknown): string {
  const code = (error as { code?: string }).code;
  return code ?? (error as Error).message ?? String(error);
}
