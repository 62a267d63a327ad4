/**
 * The reference subgraph's public surface: public ATT&CK techniques and a CVE catalogue (CISA KEV),
 * composed by federation beside the nations. `AttackPattern @key(id)` and `Vulnerability @key(cve)`
 * resolve here; nations hold them only as keys.
 */
export {
  startReferenceSubgraph,
  REFERENCE_AUDIENCE,
  REFERENCE_GRAPHQL_PATH,
  type ReferenceSubgraphOptions,
  type RunningReferenceSubgraph,
} from './server';
export { REFERENCE_SCHEMA_PATH, REFERENCE_SDL, buildReferenceSchema, type ReferenceContext } from './resolvers';
export {
  BUILT_IN_ATTACK_BUNDLE,
  loadAttackBundle,
  parseAttackBundle,
  formatAttackRejection,
  AttackBundleError,
  type AttackCatalogue,
  type AttackTechnique,
  type AttackRejection,
} from './attack';
export {
  BUILT_IN_KEV_CATALOGUE,
  loadKevCatalogue,
  parseKevCatalogue,
  formatKevRejection,
  KevCatalogueError,
  type KevCatalogue,
  type KevEntry,
  type KevRejection,
} from './kev';
