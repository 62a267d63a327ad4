import type { ObjectFacts, PolicyEngine, Principal } from '../../policies';
import { createSiloReader, EVERYTHING_VISIBLE, type ObjectRow, type ReadScope, type SiloQueryable, type SiloReader } from '../silo';
import { createDerivedFactsReader } from './derived';
import { createNationLoaders, type NationLoaders } from './loaders';
import { createFactsReader, releasedFor, visibilityFor } from './policy';
import { createReleaseLog, type ReleaseLog } from './releases';
import type { NationTypeName } from './stix-properties';

/** What every resolver of a nation subgraph gets: who asks (verified), and the request's loaders. */
export interface NationContext {
  principal: Principal;
  nation: string;
  /** The rules in force when the request arrived: one request is decided by one set of rules. */
  policy: PolicyEngine;
  /** The silo as this caller may read it: every query applies the caller's visibility. */
  silo: SiloReader;
  loaders: NationLoaders;
  /** What the policy decides a row's fields on (memoised per row). */
  facts(row: ObjectRow, type: NationTypeName): ObjectFacts;
  /** The same facts with the markings of the objects its derived fields show folded in (see derived.ts). */
  derivedFacts(row: ObjectRow, type: NationTypeName): Promise<ObjectFacts>;
  /** What this request released, withheld, redacted and generalised. */
  releases: ReleaseLog;
}

/** Builds one request's context. Cheap: a reader and three loaders, nothing read yet. */
export function createNationContext(db: SiloQueryable, nation: string, principal: Principal, policy: PolicyEngine, options: { enforcement?: boolean } = {}): NationContext {
  // The one place where the caller decides which rows leave the silo: the engine's object
  // visibility, compiled to SQL, on every statement.
  const visibility = options.enforcement === false ? EVERYTHING_VISIBLE : visibilityFor(policy, principal, nation);
  const scope: ReadScope = options.enforcement === false ? { nation, visibility } : { nation, visibility, released: releasedFor(policy, principal, nation) };
  const silo = createSiloReader(db, scope);
  const loaders = createNationLoaders(silo);
  const facts = createFactsReader(policy);
  return { principal, nation, policy, silo, loaders, facts, derivedFacts: createDerivedFactsReader(facts, loaders), releases: createReleaseLog() };
}
