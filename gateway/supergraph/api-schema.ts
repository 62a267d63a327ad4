/**
 * The coalition's schema as clients see it, from the SDL files the subgraphs serve (the nations'
 * contract and the reference subgraph's schema), with no process running: composed as the gateway
 * composes it, then reduced to its API schema by Apollo Gateway itself (no subgraph is contacted).
 */
import { readFileSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { ApolloGateway } from '@apollo/gateway';
import type { GraphQLSchema } from 'graphql';
import { withoutApolloTelemetry } from '../server';
import { composeSupergraph } from './compose';

/** The SDL files the subgraphs serve: read as files, the gateway imports no subgraph code. */
export const CONTRACT_SDL_FILE = fileURLToPath(new URL('../../subgraphs/contract/nation.graphql', import.meta.url));
export const REFERENCE_SDL_FILE = fileURLToPath(new URL('../../subgraphs/reference/schema.graphql', import.meta.url));

export function readContractSdlFile(): string {
  return readFileSync(CONTRACT_SDL_FILE, 'utf8');
}

export async function coalitionApiSchema(): Promise<GraphQLSchema> {
  withoutApolloTelemetry();
  const supergraphSdl = composeSupergraph(readContractSdlFile(), [{ name: 'reference', url: 'sovgraph://reference', sdl: readFileSync(REFERENCE_SDL_FILE, 'utf8') }]);
  const gateway = new ApolloGateway({ supergraphSdl });
  try {
    const { schema } = await gateway.load();
    return schema;
  } finally {
    await gateway.stop();
  }
}
