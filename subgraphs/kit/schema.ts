/**
 * The nation subgraph's schema: the contract SDL, read from its file at start, with the kit's
 * resolvers. Every nation builds it from the same file, so none can drift from the contract.
 */
import { readFileSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { parse, print, type GraphQLSchema } from 'graphql';
import { buildSubgraphSchema } from '@apollo/subgraph';
import type { GraphQLResolverMap } from '@apollo/subgraph/dist/schema-helper';
import { resolvers } from './resolvers';

export const CONTRACT_PATH = fileURLToPath(new URL('../contract/nation.graphql', import.meta.url));

/** The contract in canonical form (`print(parse())`): comments and layout cannot make nations differ. */
export function readContractSdl(path = CONTRACT_PATH): string {
  return print(parse(readFileSync(path, 'utf8')));
}

/**
 * `_service { sdl }` answers the contract itself rather than Apollo's expansion of it (which adds
 * the federation definitions): the gateway composes from it and compares nations by it.
 */
export function buildNationSchema(contractSdl = readContractSdl()): GraphQLSchema {
  const service = { sdl: contractSdl };
  const resolverMap = {
    ...resolvers,
    Query: { ...resolvers.Query, _service: () => service },
  } as unknown as GraphQLResolverMap<unknown>;
  return buildSubgraphSchema({ typeDefs: parse(contractSdl), resolvers: resolverMap });
}
