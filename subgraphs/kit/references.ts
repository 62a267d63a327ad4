/**
 * What a resolver of a nation-owned type receives as its parent: a row of this silo, or a reference
 * to an object another nation holds. A reference answers only its id (and what the id itself says:
 * owner nation, STIX id); the gateway fetches the rest from the owner (`@crossNation`).
 */
import type { ObjectRow } from '../silo';

export interface ForeignReference {
  readonly foreign: true;
  readonly id: string;
  readonly nation: string;
}

/** The parent of Indicator, Sighting, Incident and ThreatActor resolvers (codegen `mappers`). */
export type NationObjectParent = ObjectRow | ForeignReference;

export function isForeign(parent: NationObjectParent): parent is ForeignReference {
  return 'foreign' in parent;
}

export function foreignReference(globalId: string): ForeignReference {
  return { foreign: true, id: globalId, nation: nationOfId(globalId) };
}

/** `FRA:indicator--<uuid>` → `FRA`; '' when the id names no owner. */
export function nationOfId(globalId: string): string {
  const colon = globalId.indexOf(':');
  return colon > 0 ? globalId.slice(0, colon) : '';
}

/** `FRA:indicator--<uuid>` → `indicator--<uuid>`. */
export function stixIdOf(globalId: string): string {
  return globalId.slice(globalId.indexOf(':') + 1);
}

/** `FRA:indicator--<uuid>` → `indicator`. */
export function stixTypeOfId(globalId: string): string {
  const stixId = stixIdOf(globalId);
  const dashes = stixId.indexOf('--');
  return dashes > 0 ? stixId.slice(0, dashes) : '';
}
