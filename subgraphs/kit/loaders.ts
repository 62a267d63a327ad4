/**
 * Per-request DataLoaders over the silo reader: every reference a resolver follows goes through
 * them, so a nested query costs one statement per level, not one per object. They live for one
 * request only: a cache shared between callers would serve one caller what another may see.
 */
import DataLoader from 'dataloader';
import type { LinkedObject, ObjectRow, SiloReader } from '../silo';
import { isGlobalId } from './references';

export interface LinkKey {
  /** The near end: the source of a forward reference, the target of a reverse one. */
  id: string;
  kind: string;
}

export interface NationLoaders {
  /** Objects of this silo by global id; null when absent or not visible to the caller. */
  objects: DataLoader<string, ObjectRow | null>;
  /** References from an object, of one kind, with their targets. */
  linksFrom: DataLoader<LinkKey, LinkedObject[], string>;
  /** References to an object, of one kind, with their sources. */
  linksTo: DataLoader<LinkKey, LinkedObject[], string>;
}

export function createNationLoaders(reader: SiloReader): NationLoaders {
  const objects = new DataLoader<string, ObjectRow | null>(async (ids) => {
    // An id of no object's shape names nothing: it is not looked for (nor sent to SQL, which refuses a NUL byte).
    const wellFormed = ids.filter(isGlobalId);
    const byId = new Map((wellFormed.length > 0 ? await reader.objectsByIds(wellFormed) : []).map((row) => [row.id, row]));
    return ids.map((id) => byId.get(id) ?? null);
  });
  // The far ends arrive with the references: remembering them spares the next level a query.
  const rememberFarEnds = (linked: LinkedObject[]) => {
    for (const { far } of linked) if (far) objects.prime(far.id, far);
  };
  const linksFrom = new DataLoader<LinkKey, LinkedObject[], string>(
    async (keys) => {
      const linked = await reader.linksFrom(distinct(keys.map((k) => k.id)), distinct(keys.map((k) => k.kind)));
      rememberFarEnds(linked);
      return groupByKey(keys, linked, (l) => linkKeyOf(l.link.source_id, l.link.kind));
    },
    { cacheKeyFn: cacheKeyOf },
  );
  const linksTo = new DataLoader<LinkKey, LinkedObject[], string>(
    async (keys) => {
      const linked = await reader.linksTo(distinct(keys.map((k) => k.id)), distinct(keys.map((k) => k.kind)));
      rememberFarEnds(linked);
      return groupByKey(keys, linked, (l) => linkKeyOf(l.link.target_id, l.link.kind));
    },
    { cacheKeyFn: cacheKeyOf },
  );
  return { objects, linksFrom, linksTo };
}

/** Follows references of several kinds at once: one key per kind, batched with every other load. */
export async function loadLinks(loader: DataLoader<LinkKey, LinkedObject[], string>, id: string, kinds: readonly string[]): Promise<LinkedObject[]> {
  if (kinds.length === 1) return loader.load({ id, kind: kinds[0]! });
  const perKind = await Promise.all(kinds.map((kind) => loader.load({ id, kind })));
  return perKind.flat();
}

function cacheKeyOf(key: LinkKey): string {
  return linkKeyOf(key.id, key.kind);
}

function linkKeyOf(id: string, kind: string): string {
  return `${kind}\u0000${id}`;
}

function distinct(values: string[]): string[] {
  return [...new Set(values)];
}

/**
 * One statement asks for every id × every kind of the batch; this hands each key exactly its own
 * references (the cross product may hold pairs nobody asked for), in the statement's order.
 */
function groupByKey(keys: readonly LinkKey[], linked: LinkedObject[], keyOf: (l: LinkedObject) => string): LinkedObject[][] {
  const groups = new Map<string, LinkedObject[]>();
  for (const item of linked) {
    const key = keyOf(item);
    const group = groups.get(key);
    if (group) group.push(item);
    else groups.set(key, [item]);
  }
  return keys.map((key) => groups.get(cacheKeyOf(key)) ?? []);
}
