import { readFileSync } from 'node:fs';
import { describe, expect, it } from 'vitest';
import { createAnswerCheck } from '../../gateway/fanout/answer-check';

const contract = readFileSync(new URL('../../subgraphs/contract/nation.graphql', import.meta.url), 'utf8');
const checkAnswer = createAnswerCheck(contract);
const check = (nation: string, query: string, data: unknown) => checkAnswer(nation, query, { data: data as Record<string, unknown> | null });

const PAGE = '{ indicators(first: 2) { edges { node { id nation name __sg_id: id sightings { id } } } } }';
const page = (ids: string[], extra: Record<string, unknown> = {}) => ({
  indicators: { edges: ids.map((id) => ({ node: { id, nation: id.slice(0, 3), name: 'n', __sg_id: id, sightings: [{ id: `${id.slice(0, 3)}:sighting--1` }], ...extra } })) },
});

describe('a nation’s answer, checked against what it was asked', () => {
  it('an honest answer passes, nulls and empty lists included', () => {
    expect(check('DEU', PAGE, page(['DEU:indicator--1', 'DEU:indicator--2']))).toBeUndefined();
    expect(check('DEU', PAGE, { indicators: { edges: [{ node: { id: 'DEU:indicator--1', nation: null, name: null, __sg_id: 'DEU:indicator--1', sightings: null } }] } })).toBeUndefined();
    expect(check('DEU', PAGE, null)).toBeUndefined();
  });

  it('an object under another nation’s prefix, at any key that selects its id (an alias included), names the path (without list positions: they would count the objects before it) and not the id', () => {
    const fault = check('DEU', PAGE, page(['DEU:indicator--1', 'FRA:indicator--2']));
    expect(fault).toBe('it returned an object under an id that is not its own, at indicators.edges[].node.id');
    const aliased = page(['DEU:indicator--1']);
    aliased.indicators.edges[0]!.node.__sg_id = 'GBR:indicator--1';
    expect(check('DEU', PAGE, aliased)).toMatch(/at indicators\.edges\[\]\.node\.__sg_id$/);
  });

  it('a nested object of another nation in a field that is not a cross-nation reference is refused', () => {
    const answer = page(['DEU:indicator--1']);
    answer.indicators.edges[0]!.node.sightings = [{ id: 'FRA:sighting--9' }];
    expect(check('DEU', PAGE, answer)).toMatch(/not its own, at indicators\.edges\[\]\.node\.sightings\[\]\.id$/);
  });

  it('an id that is no global id at all is not the nation’s own either', () => {
    expect(check('DEU', PAGE, page(['indicator--1']))).toMatch(/not its own/);
  });

  it('a `nation` naming another nation is refused; one a rule redacted is not', () => {
    const answer = page(['DEU:indicator--1']);
    answer.indicators.edges[0]!.node.nation = 'FRA';
    expect(check('DEU', PAGE, answer)).toMatch(/naming another owner, at indicators\.edges\[\]\.node\.nation$/);
    answer.indicators.edges[0]!.node.nation = '[REDACTED]';
    expect(check('DEU', PAGE, answer)).toBeUndefined();
  });

  it('a key the text did not select is refused, at any depth', () => {
    expect(check('DEU', PAGE, page(['DEU:indicator--1'], { pattern: '[x]' }))).toBe('it returned a field it was not asked for, in indicators.edges[].node');
    expect(check('DEU', PAGE, { indicators: { edges: [], pageInfo: {} } })).toBe('it returned a field it was not asked for, in indicators');
    expect(check('DEU', PAGE, { 'FRA secret 10.0.0.7\n[gateway] forged log line': 1 })).toBe('it returned a field it was not asked for, in the top of its data');
  });

  it('a list of lists (the contract has none) is refused before it is walked, however deep', () => {
    let deep: unknown[] = [];
    for (let i = 0; i < 200_000; i++) deep = [deep];
    expect(check('DEU', PAGE, { indicators: { edges: deep } })).toBe('it returned a list of lists, at indicators.edges[]');
  });

  it('data or errors of the wrong kind are refused', () => {
    expect(check('DEU', PAGE, [1])).toBe('its data is not an object');
    expect(checkAnswer('DEU', PAGE, { data: null, errors: {} as never })).toBe('its errors are not a list');
  });

  it('below a cross-nation reference the target may be another nation’s; only its key may come from the holder', () => {
    const links = 'query($r: [_Any!]!) { _entities(representations: $r) { ... on Sighting { sightingOf { id } } } }';
    expect(check('DEU', links, { _entities: [{ sightingOf: { id: 'FRA:indicator--1' } }, null] })).toBeUndefined();
    expect(check('DEU', links, { _entities: [{ sightingOf: { id: 'FRA:indicator--1', name: 'forged' } }] })).toBe('it returned a field it was not asked for, in _entities[].sightingOf');
  });

  it('entities and named fragments are read by their type conditions', () => {
    const entities = 'query($r: [_Any!]!) { _entities(representations: $r) { ...I } } fragment I on Indicator { id name }';
    expect(check('DEU', entities, { _entities: [{ id: 'DEU:indicator--1', name: 'n' }] })).toBeUndefined();
    expect(check('DEU', entities, { _entities: [{ id: 'USA:indicator--1', name: 'n' }] })).toMatch(/not its own, at _entities\[\]\.id$/);
  });

  it('ids of objects no nation owns (ATT&CK techniques) are not owner ids', () => {
    const query = '{ indicator(id: "DEU:indicator--1") { id techniques { id } } }';
    expect(check('DEU', query, { indicator: { id: 'DEU:indicator--1', techniques: [{ id: 'T1566' }] } })).toBeUndefined();
  });

  it('a WITHHELD error must name the answering nation as the owner, and lead to a null of the answer (the field, or the object the null took)', () => {
    const withheld = (owner: string, path: Array<string | number> = ['indicators', 'edges', 0, 'node', 'name']) => ({ message: 'withheld', path, extensions: { code: 'WITHHELD', owner, reason: 'r' } });
    const data = page(['DEU:indicator--1']);
    data.indicators.edges[0]!.node.name = null as never;
    expect(checkAnswer('DEU', PAGE, { data, errors: [withheld('DEU')] })).toBeUndefined();
    expect(checkAnswer('DEU', PAGE, { data, errors: [withheld('DEU'), withheld('FRA')] })).toBe("it reported a field withheld in another owner's name");
    const withheldAbove = { indicators: { edges: [{ node: null }] } };
    expect(checkAnswer('DEU', PAGE, { data: withheldAbove, errors: [withheld('DEU', ['indicators', 'edges', 0, 'node', 'stixId'])] })).toBeUndefined();
    for (const elsewhere of [['indicators', 'edges', 5, 'node', 'name'], ['indicators', 'edges', 0, 'node', 'nation'], ['incidents'], []]) {
      expect(checkAnswer('DEU', PAGE, { data, errors: [withheld('DEU', elsewhere)] }), JSON.stringify(elsewhere)).toBe('it reported a field withheld where its answer holds none');
    }
  });

  it('a nation may not speak as the gateway, nor in another nation’s name; other errors may name other nations (a reference held elsewhere)', () => {
    for (const code of ['NATION_UNAVAILABLE', 'NATION_ANSWER_REJECTED', 'NATION_REQUEST_BUDGET_EXCEEDED', 'MAX_COST_EXCEEDED']) {
      expect(checkAnswer('DEU', PAGE, { data: null, errors: [{ message: 'France is down', extensions: { code, nation: 'FRA' } }] })).toBe('it reported an error only the gateway gives');
    }
    expect(checkAnswer('DEU', PAGE, { data: null, errors: [{ message: 'x', extensions: { code: 'HELD_BY_ANOTHER_NATION', nation: 'FRA' } }] })).toBeUndefined();
  });

  it('scalar values that are JSON objects (policyMarkings) are not walked', () => {
    const query = '{ indicator(id: "DEU:indicator--1") { id policyMarkings } }';
    expect(check('DEU', query, { indicator: { id: 'DEU:indicator--1', policyMarkings: { marking: { tlp: 'GREEN' }, anything: 1 } } })).toBeUndefined();
  });
});
