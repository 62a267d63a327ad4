/**
 * What a resolver of a nation-owned type receives as its parent: a row of this silo, or a reference
 * to an object another nation holds. A reference answers only its id (and what the id itself says:
 * owner nation, STIX id); the gateway fetches the rest from the owner (`@crossNation`).
 */
import { isNationCode } from '../../policies/markings';
import type { ObjectRow } from '../silo';
import { isStixIdentifier } from '../stix/import';

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

/**
 * Whether `value` has the contract's id shape, `<NATION>:<type>--<uuid>`: only such an id can name
 * an object of a silo. Anything else (a NUL byte, a megabyte of text) answers like an unknown id,
 * without reaching SQL.
 */
export function isGlobalId(value: unknown): value is string {
  return typeof value === 'string' && value.length <= MAX_GLOBAL_ID_LENGTH && isNationCode(nationOfId(value)) && isStixIdentifier(stixIdOf(value));
}

/** "FRA:" + the longest STIX type name (250) + "--" + a UUID (36): a longer id is refused before any pattern runs. */
const MAX_GLOBAL_ID_LENGTH = 4 + 250 + 2 + 36;
