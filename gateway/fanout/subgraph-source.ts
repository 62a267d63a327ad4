/**
 * The data source for an ordinary subgraph (the reference subgraph and later ones): the fetch as the
 * planner wrote it, with the gateway's signed assertion for that subgraph.
 */
import type { GraphQLDataSource, GraphQLDataSourceProcessOptions } from '@apollo/gateway';
import type { GatewayGraphQLResponse } from '@apollo/server-gateway-interface';
import { ASSERTION_HEADER, type AssertionSigner } from '../../policies';
import { INCOMING_OPERATION, type FanoutContext } from './nations-source';
import { SubgraphClient, SubgraphUnavailable, type ClientCircuit } from './subgraph-client';
import type { CircuitSnapshot } from './circuit';

export class AssertedSubgraphSource implements GraphQLDataSource<FanoutContext> {
  private readonly client: SubgraphClient;

  constructor(
    private readonly name: string,
    url: string,
    private readonly sign: AssertionSigner,
    timeoutMs: number,
    circuit?: ClientCircuit,
  ) {
    this.client = new SubgraphClient(url, timeoutMs, circuit);
  }

  get circuitState(): CircuitSnapshot | undefined {
    return this.client.circuitState;
  }

  async process(options: GraphQLDataSourceProcessOptions<FanoutContext>): Promise<GatewayGraphQLResponse> {
    const principal = options.kind === INCOMING_OPERATION ? options.context.principal : undefined;
    if (!principal) return { errors: [{ message: `subgraph ${this.name} is only queried on behalf of a verified principal` }] } as GatewayGraphQLResponse;
    const { query, variables, operationName } = options.request;
    try {
      const assertion = await this.sign(principal, `sovgraph:${this.name}`);
      return (await this.client.post({ query: query!, variables, operationName }, { [ASSERTION_HEADER]: assertion })) as GatewayGraphQLResponse;
    } catch (error) {
      if (!(error instanceof SubgraphUnavailable)) throw error;
      return {
        errors: [{ message: `Subgraph ${this.name} is unavailable: ${error.message}.`, extensions: { code: 'SUBGRAPH_UNAVAILABLE', subgraph: this.name } }],
      } as GatewayGraphQLResponse;
    }
  }

  close(): Promise<void> {
    return this.client.close();
  }
}
