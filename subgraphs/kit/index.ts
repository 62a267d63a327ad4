/** The national subgraph kit: one nation's subgraph over its own silo. */
export {
  startNationSubgraph,
  loadNationConfig,
  readGatewayPublicKey,
  readPolicyTrust,
  readSignedRules,
  NationConfigError,
  GRAPHQL_PATH,
  type NationSubgraphConfig,
  type RunningNationSubgraph,
} from './server';
export { buildNationSchema, readContractSdl, CONTRACT_PATH } from './schema';
export { createNationContext, type NationContext } from './context';
export { withWithheldErrors } from './releases';
export { createNationLoaders, type NationLoaders } from './loaders';
export { resolvers } from './resolvers';
export { DEFAULT_PAGE_SIZE, MAX_PAGE_SIZE } from './page-args';
export { nationOfId, stixIdOf, stixTypeOfId, type ForeignReference, type NationObjectParent } from './references';
export { assertedRequestHandler, closeServer, listen, type AssertedFront } from './http';
