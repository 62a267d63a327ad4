import type { Principal } from '../../policies';
import { createSiloReader, EVERYTHING_VISIBLE, type ReadScope, type SiloQueryable, type SiloReader, type Visibility } from '../silo';
import { createNationLoaders, type NationLoaders } from './loaders';

/** What every resolver of a nation subgraph gets: who asks (verified), and the request's loaders. */
export interface NationContext {
  principal: Principal;
  nation: string;
  /** The silo as this caller may read it: every query applies the caller's visibility. */
  silo: SiloReader;
  loaders: NationLoaders;
}

/** Builds one request's context. Cheap: a reader and three loaders, nothing read yet. */
export function createNationContext(db: SiloQueryable, nation: string, principal: Principal): NationContext {
  const scope: ReadScope = { nation, visibility: visibilityFor(principal) };
  const silo = createSiloReader(db, scope);
  return { principal, nation, silo, loaders: createNationLoaders(silo) };
}

/**
 * The one place where the caller decides which rows leave the silo. The policy layer (issue 3)
 * replaces this with the marking baseline compiled to SQL (clearance ≥ classification, TLP,
 * releasability, caveats); until then the gateway's verified principal sees the whole silo.
 */
function visibilityFor(_principal: Principal): Visibility {
  return EVERYTHING_VISIBLE;
}
