/**
 * One keep-alive connection pool per subgraph, each request bounded by a deadline. undici's
 * `request` is used rather than `fetch`: on the fan-out hot path it costs measurably less per call.
 */
import { Pool } from 'undici';

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

export class SubgraphClient {
  private readonly pool: Pool;
  private readonly path: string;

  constructor(readonly url: string, private readonly timeoutMs: number) {
    const parsed = new URL(url);
    this.pool = new Pool(parsed.origin, { connections: 64, pipelining: 1, keepAliveTimeout: 30_000 });
    this.path = parsed.pathname + parsed.search;
  }

  async post(body: GraphQLRequestBody, headers: Record<string, string>): Promise<GraphQLResponseBody> {
    const signal = AbortSignal.timeout(this.timeoutMs);
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
      throw new SubgraphUnavailable(signal.aborted ? `no answer within ${this.timeoutMs} ms` : `unreachable (${describe(error)})`);
    }
    let parsed: unknown;
    try {
      parsed = await response.body.json();
    } catch (error) {
      throw new SubgraphUnavailable(signal.aborted ? `no answer within ${this.timeoutMs} ms` : `answered HTTP ${response.statusCode} without a GraphQL body`);
    }
    if (!isGraphQLResponse(parsed)) throw new SubgraphUnavailable(`answered HTTP ${response.statusCode} without a GraphQL body`);
    if (response.statusCode >= 500 && !parsed.data) throw new SubgraphUnavailable(`answered HTTP ${response.statusCode}`);
    return parsed;
  }

  close(): Promise<void> {
    return this.pool.close();
  }
}

function isGraphQLResponse(value: unknown): value is GraphQLResponseBody {
  return typeof value === 'object' && value !== null && ('data' in value || 'errors' in value);
}

function describe(error: unknown): string {
  const code = (error as { code?: string }).code;
  return code ?? (error as Error).message ?? String(error);
}
