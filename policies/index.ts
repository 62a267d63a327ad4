/**
 * The policy layer's public surface. Free of Apollo and of any database: the gateway and the
 * subgraphs call it.
 */
export * from './markings';
export type { Principal } from './principal';
export {
  ASSERTION_HEADER,
  AssertionError,
  createAssertionSigner,
  createAssertionVerifier,
  type AssertionSigner,
  type AssertionVerifier,
} from './assertion';
