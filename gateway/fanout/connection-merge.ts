/**
 * Merges one page of a connection from several nations. Every nation returns its edges already
 * sorted on the global order (cursor descending: the cursor is the sort key as a fixed-width string),
 * so the merge only walks the heads: nothing already sorted is sorted again.
 */
import { CURSORS_KEY, CURSOR_KEY, PAGE_KEY, type ConnectionPart } from './fetch-shape';
import type { GraphQLErrorBody } from './subgraph-client';

export interface NationPage {
  nation: string;
  /** The connection object as the nation answered it, gateway keys included. */
  connection: Record<string, unknown>;
  errors: GraphQLErrorBody[];
}

export interface MergedPage {
  connection: Record<string, unknown>;
  errors: GraphQLErrorBody[];
}

interface Taken {
  page: number;
  index: number;
}

/** How many edges of the page each nation contributes, and whether anything lies beyond the page. */
export function takenPerNation(pages: NationPage[], first: number): Map<string, number> & { hasNextPage?: boolean } {
  const cursorLists = pages.map((p) => cursorsOf(p.connection));
  const taken = takeInOrder(cursorLists, first);
  const counts: Map<string, number> & { hasNextPage?: boolean } = new Map(pages.map((p, i) => [p.nation, countTakenFrom(taken, i)]));
  counts.hasNextPage = hasMoreThan(pages, cursorLists, taken);
  return counts;
}

/**
 * `hasNextPage` may be given when an earlier phase already knew it (the probe saw every nation's
 * next `first` cursors; the second phase sees only what was taken).
 */
export function mergeConnectionPages(part: ConnectionPart, pages: NationPage[], first: number, hasNextPage?: boolean): MergedPage {
  const cursorLists = pages.map((p) => cursorsOf(p.connection));
  const taken = takeInOrder(cursorLists, first);
  const endCursor = taken.length ? cursorLists[taken[taken.length - 1]!.page]![taken[taken.length - 1]!.index]! : null;
  const pageInfo = { hasNextPage: hasNextPage ?? hasMoreThan(pages, cursorLists, taken), endCursor };

  const connection: Record<string, unknown> = {};
  for (const selection of part.selections) {
    if (selection.kind === 'edges') {
      connection[selection.responseKey] = taken.map(({ page, index }) => (pages[page]!.connection[selection.responseKey] as unknown[])[index]);
    } else if (selection.kind === 'pageInfo') {
      connection[selection.responseKey] = shapePageInfo(selection.fields, pageInfo);
    } else {
      connection[selection.responseKey] = pages.find((p) => p.connection[selection.responseKey] !== undefined)?.connection[selection.responseKey] ?? null;
    }
  }
  return { connection, errors: remapEdgeErrors(part, pages, taken) };
}

function hasMoreThan(pages: NationPage[], cursorLists: string[][], taken: Taken[]): boolean {
  const leftOver = cursorLists.some((cursors, page) => countTakenFrom(taken, page) < cursors.length);
  return leftOver || pages.some((p) => (p.connection[PAGE_KEY] as { hasNextPage?: boolean } | undefined)?.hasNextPage === true);
}

function cursorsOf(connection: Record<string, unknown>): string[] {
  const edges = connection[CURSORS_KEY] as Array<Record<string, string> | null> | undefined;
  return (edges ?? []).map((edge) => edge?.[CURSOR_KEY] ?? '');
}

/** k-way merge on the heads of already-sorted lists, descending; stops at `limit`. */
function takeInOrder(lists: string[][], limit: number): Taken[] {
  const heads = lists.map(() => 0);
  const taken: Taken[] = [];
  while (taken.length < limit) {
    let best = -1;
    for (let page = 0; page < lists.length; page++) {
      const head = heads[page]!;
      if (head >= lists[page]!.length) continue;
      if (best === -1 || lists[page]![head]! > lists[best]![heads[best]!]!) best = page;
    }
    if (best === -1) break;
    taken.push({ page: best, index: heads[best]! });
    heads[best]!++;
  }
  return taken;
}

function countTakenFrom(taken: Taken[], page: number): number {
  let count = 0;
  for (const t of taken) if (t.page === page) count++;
  return count;
}

function shapePageInfo(fields: { responseKey: string; name: string }[], pageInfo: { hasNextPage: boolean; endCursor: string | null }) {
  const shaped: Record<string, unknown> = {};
  for (const { responseKey, name } of fields) {
    shaped[responseKey] = name === '__typename' ? 'PageInfo' : pageInfo[name as keyof typeof pageInfo] ?? null;
  }
  return shaped;
}

/**
 * A nation's error about its edge n belongs at the merged position of that edge, or nowhere if
 * the edge was not taken: it describes data the caller does not receive.
 */
function remapEdgeErrors(part: ConnectionPart, pages: NationPage[], taken: Taken[]): GraphQLErrorBody[] {
  const edgeKeys = new Set(part.selections.filter((s) => s.kind === 'edges').map((s) => s.responseKey));
  const mergedIndex = new Map(taken.map((t, i) => [`${t.page}:${t.index}`, i]));
  const errors: GraphQLErrorBody[] = [];
  pages.forEach((page, pageIndex) => {
    for (const error of page.errors) {
      const path = error.path;
      if (!path || path.length < 3 || path[0] !== part.responseKey || !edgeKeys.has(String(path[1]))) {
        errors.push(error);
        continue;
      }
      const index = mergedIndex.get(`${pageIndex}:${path[2]}`);
      if (index !== undefined) errors.push({ ...error, path: [path[0], path[1]!, index, ...path.slice(3)] });
    }
  });
  return errors;
}
