import { describe, expect, it } from 'vitest';
import { mergeConnectionPages, takenPerNation, type NationPage } from '../../gateway/fanout/connection-merge';
import { CURSORS_KEY, CURSOR_KEY, NATION_FIRST_VARIABLE, PAGE_KEY, fetchShapeOf, type ConnectionPart } from '../../gateway/fanout/fetch-shape';

const query = `query Q($first: Int, $filter: ObjectFilter, $unused: String) {
  indicators(first: $first, filter: $filter) { edges { node { id } } pageInfo { hasNextPage endCursor } }
}`;

function connectionPart(): ConnectionPart {
  const shape = fetchShapeOf(query);
  if (shape.kind !== 'root' || shape.parts[0]!.kind !== 'connection') throw new Error('expected a connection part');
  return shape.parts[0]!;
}

function page(nation: string, cursors: string[], hasNextPage = false, errors: NationPage['errors'] = []): NationPage {
  return {
    nation,
    errors,
    connection: {
      edges: cursors.map((c) => ({ node: { id: c.split('|')[1] } })),
      [CURSORS_KEY]: cursors.map((c) => ({ [CURSOR_KEY]: c })),
      [PAGE_KEY]: { hasNextPage },
    },
  };
}

const at = (time: string, id: string) => `2026-11-${time}T00:00:00.000000Z|${id}`;

describe('the gateway merging one page from several nations', () => {
  it('interleaves already-sorted pages on the global order and stops at first', () => {
    const fra = page('FRA', [at('20', 'FRA:a'), at('10', 'FRA:b'), at('05', 'FRA:c')]);
    const deu = page('DEU', [at('15', 'DEU:a'), at('10', 'DEU:b')]);
    const merged = mergeConnectionPages(connectionPart(), [fra, deu], 4);
    const ids = (merged.connection.edges as Array<{ node: { id: string } }>).map((e) => e.node.id);
    expect(ids).toEqual(['FRA:a', 'DEU:a', 'FRA:b', 'DEU:b']);
    expect(merged.connection.pageInfo).toEqual({ hasNextPage: true, endCursor: at('10', 'DEU:b') });
  });

  it('says there is no next page only when every nation is exhausted and nothing is left over', () => {
    const merged = mergeConnectionPages(connectionPart(), [page('FRA', [at('20', 'FRA:a')]), page('DEU', [])], 5);
    expect(merged.connection.pageInfo).toEqual({ hasNextPage: false, endCursor: at('20', 'FRA:a') });
    const more = mergeConnectionPages(connectionPart(), [page('FRA', [at('20', 'FRA:a')], true)], 5);
    expect((more.connection.pageInfo as { hasNextPage: boolean }).hasNextPage).toBe(true);
  });

  it('moves a nation error to the merged position of its edge, and drops it when the edge was not returned', () => {
    const error = (index: number) => ({ message: `bad ${index}`, path: ['indicators', 'edges', index, 'node', 'id'] });
    const fra = page('FRA', [at('20', 'FRA:a'), at('01', 'FRA:z')], false, [error(0), error(1)]);
    const deu = page('DEU', [at('25', 'DEU:a')]);
    const merged = mergeConnectionPages(connectionPart(), [fra, deu], 2);
    expect(merged.errors).toEqual([{ message: 'bad 0', path: ['indicators', 'edges', 1, 'node', 'id'] }]);
  });

  it('probes each nation for cursors only, with only the variables its root field uses', () => {
    const part = connectionPart();
    expect([...part.probe.variableNames].sort()).toEqual(['filter', 'first']);
    expect(part.probe.query).toContain(`${CURSOR_KEY}: cursor`);
    expect(part.probe.query).not.toContain('node');
    expect(part.probe.query).not.toContain('$unused');
  });

  it('then asks each nation for exactly its share of the page, through the gateway\'s own first variable', () => {
    const part = connectionPart();
    expect([...part.variableNames].sort()).toEqual([NATION_FIRST_VARIABLE, 'filter']);
    expect(part.query).toContain(`first: $${NATION_FIRST_VARIABLE}`);
    expect(part.query).toContain('node');
    expect(part.query).not.toContain('$unused');
  });

  it('counts each nation\'s share of the page and knows from the probe whether more lies beyond', () => {
    const fra = page('FRA', [at('20', 'FRA:a'), at('10', 'FRA:b'), at('05', 'FRA:c')]);
    const deu = page('DEU', [at('15', 'DEU:a')]);
    const est = page('EST', [at('01', 'EST:a')]);
    const counts = takenPerNation([fra, deu, est], 3);
    expect(Object.fromEntries(counts)).toEqual({ FRA: 2, DEU: 1, EST: 0 });
    expect(counts.hasNextPage).toBe(true);
    expect(takenPerNation([fra, deu, est], 5).hasNextPage).toBe(false);
  });
});
