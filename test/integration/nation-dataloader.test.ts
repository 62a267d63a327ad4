/**
 * Every reference goes through DataLoader: a nested query costs one SQL statement per level of the
 * query, whatever the number of objects. Counted on the silo itself (`db.statements`).
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startNationSubgraph, type RunningNationSubgraph } from '../../subgraphs';
import { importBundle, defaultMarkingFor } from '../../subgraphs/stix';
import { gatewayClient, gatewayKeys, scenarioBundle, type GraphQLAnswer, signedDemoRules } from './nation-fixtures';

const NESTED = `query Nested($first: Int!) {
  indicators(first: $first) { edges { node {
    id pattern techniques { id }
    sightings { count firstSeen whereSighted { name kind country } sightingOf { id } }
  } } }
  incidents(first: $first) { edges { node {
    name victim techniques { id } vulnerabilities { cve }
    indicators { id pattern sightings { count } }
    attributedTo { id name incidents { id } }
  } } }
}`;

interface Silo {
  subgraph: RunningNationSubgraph;
  ask: (query: string, variables?: Record<string, unknown>) => Promise<GraphQLAnswer>;
}

const silos = new Map<number, Silo>();

beforeAll(async () => {
  const keys = await gatewayKeys();
  for (const size of [10, 100]) {
    const subgraph = await startNationSubgraph({ nation: 'FRA', port: 0, gatewayPublicJwk: keys.publicJwk, ...(await signedDemoRules()) });
    const report = await importBundle(subgraph.db, scenarioBundle(size).bundle, { nation: 'FRA', defaultMarking: defaultMarkingFor('FRA') });
    expect(report.rejected).toEqual([]);
    silos.set(size, { subgraph, ask: await gatewayClient(subgraph.url, 'FRA', keys) });
  }
});

afterAll(async () => {
  await Promise.all([...silos.values()].map((s) => s.subgraph.stop()));
});

const AUDIT_RECORD_STATEMENTS = 1;

/** Runs the nested query over every object of the silo and counts the statements it cost. */
async function statementsFor(size: number): Promise<{ statements: number; data: any }> {
  const { subgraph, ask } = silos.get(size)!;
  await subgraph.audit.flush();
  subgraph.db.statements.count = 0;
  const answer = await ask(NESTED, { first: size });
  // The answer left once its audit record was committed: one INSERT after the head the log knows.
  const statements = subgraph.db.statements.count - AUDIT_RECORD_STATEMENTS;
  expect(answer.errors).toBeUndefined();
  return { statements, data: answer.data };
}

/** The answer really is nested all the way down for every object: the count is not of an empty query. */
function expectFullyNested(data: any, size: number): void {
  expect(data.indicators.edges).toHaveLength(size);
  expect(data.incidents.edges).toHaveLength(size);
  for (const { node } of data.indicators.edges) {
    expect(node.techniques).toHaveLength(1);
    expect(node.sightings).toHaveLength(1);
    expect(node.sightings[0].whereSighted).toHaveLength(2);
    for (const place of node.sightings[0].whereSighted) expect(place.country).toBe('FR');
    expect(node.sightings[0].sightingOf.id).toBe(node.id);
  }
  for (const { node } of data.incidents.edges) {
    expect(node.victim).toMatch(/^Victim \d+$/);
    expect(node.techniques).toHaveLength(1);
    expect(node.vulnerabilities).toHaveLength(1);
    expect(node.indicators).toHaveLength(1);
    expect(node.indicators[0].sightings).toHaveLength(1);
    expect(node.attributedTo).toHaveLength(1);
    expect(node.attributedTo[0].incidents.length).toBeGreaterThan(0);
  }
}

describe('a nested query costs the same number of SQL statements over 10 objects as over 100', () => {
  it('batches every reference of a level into one statement', async () => {
    const small = await statementsFor(10);
    const large = await statementsFor(100);
    expectFullyNested(small.data, 10);
    expectFullyNested(large.data, 100);
    console.info(`nested query: ${small.statements} SQL statements over 10 objects, ${large.statements} over 100`);
    expect(large.statements).toBe(small.statements);
    // Two pages, then one statement per level of references; far below one per object.
    expect(large.statements).toBeLessThanOrEqual(10);
  });

  it('asking again in a new request costs the same again: nothing is cached between callers', async () => {
    const first = await statementsFor(100);
    const second = await statementsFor(100);
    expect(second.statements).toBe(first.statements);
  });
});

describe("the gateway's first phase asks a nation for cursors only", () => {
  it('gets the same cursors and the same hasNextPage as the full page, in one statement, with no document in the answer', async () => {
    const { subgraph, ask } = silos.get(100)!;
    const full = await ask('{ indicators(first: 30) { edges { cursor node { id pattern } } pageInfo { hasNextPage endCursor } } }');
    await subgraph.audit.flush();
    // Watch the statements the silo runs (the real ones, passed through).
    const statements: string[] = [];
    const query = subgraph.db.query.bind(subgraph.db);
    subgraph.db.query = (sql, params) => (statements.push(sql), query(sql, params));
    const probe = await ask('{ indicators(first: 30) { e: edges { cursor } ...Page } } fragment Page on IndicatorConnection { pageInfo { hasNextPage endCursor } }').finally(() => (subgraph.db.query = query));
    expect(statements).toHaveLength(1);
    expect(statements[0]).not.toContain('o.doc');
    const fullData = full.data as any;
    const probeData = probe.data as any;
    expect(probeData.indicators.e.map((e: { cursor: string }) => e.cursor)).toEqual(fullData.indicators.edges.map((e: { cursor: string }) => e.cursor));
    expect(probeData.indicators.pageInfo).toEqual(fullData.indicators.pageInfo);
    expect(JSON.stringify(probe)).not.toContain('pattern');
  });
});
