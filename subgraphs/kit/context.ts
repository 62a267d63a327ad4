import type { Principal } from '../../policies';

/** What every resolver of a nation subgraph gets: who asks (verified), and the request's loaders. */
export interface NationContext {
  principal: Principal;
  nation: string;
}
