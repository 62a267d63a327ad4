/**
 * The nation subgraph's schema: the contract SDL, read from its file at start, with the kit's
 * resolvers. Every nation builds it from the same file, so none can drift from the contract.
 */
import { readFileSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { isObjectType, parse, print, type GraphQLSchema } from 'graphql';
import { buildSubgraphSchema } from '@apollo/subgraph';
import type { GraphQLResolverMap } from '@apollo/subgraph/dist/schema-helper';
import { enforcePolicy } from './enforce';
import { resolvers } from './resolvers';

export const CONTRACT_PATH = fileURLToPath(new URL('../contract/nation.graphql', import.meta.url));

/** The contract in canonical form (`print(parse())`): comments and layout cannot make nations differ. */
export function readContractSdl(path = CONTRACT_PATH): string {
  return print(parse(readFileSync(path, 'utf8')));
}

/**
 * `_service { sdl }` answers the contract itself rather than Apollo's expansion of it (which adds
 * the federation definitions): the gateway composes from it and compares nations by it.
 *
 * Every field is wrapped with the policy (see enforce.ts) unless `enforcement` is false, which only
 * the benchmark's "policy off" baseline asks for.
 */
export function buildNationSchema(contractSdl = readContractSdl(), options: { enforcement?: boolean } = {}): GraphQLSchema {
  const service = { sdl: contractSdl };
  const resolverMap = {
    ...resolvers,
    Query: { ...resolvers.Query, _service: () => service },
  } as unknown as GraphQLResolverMap<unknown>;
  const schema = buildSubgraphSchema({ typeDefs: parse(contractSdl), resolvers: resolverMap });
  return options.enforcement === false ? schema : enforcePolicy(schema, Object.keys(resolvers.Query ?? {}));
}

/** What the policy engine may decide on: every nation-owned type of the contract and its fields. */
export function policySchemaOf(contractSdl = readContractSdl()): Record<string, string[]> {
  const schema = buildSubgraphSchema({ typeDefs: parse(contractSdl) });
  const types: Record<string, string[]> = {};
  for (const type of Object.values(schema.getTypeMap())) {
    if (isObjectType(type) && type.getInterfaces().some((i) => i.name === 'NationObject')) types[type.name] = Object.keys(type.getFields());
  }
  return types;
}
