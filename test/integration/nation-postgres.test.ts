/**
 * One SQL dialect for both silos: France's subgraph over a PostgreSQL server (DATABASE_URL) answers
 * exactly as over embedded PGlite — the same pages, the same visibility compiled into SQL, the same
 * withheld and redacted fields — for analysts who see more and less of it.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { Principal } from '../../policies';
import { startNationSubgraph, type RunningNationSubgraph } from '../../subgraphs';
import { openSilo } from '../../subgraphs/silo';
import { defaultMarkingFor, importBundle } from '../../subgraphs/stix';
import { generateNationBundle } from '../../subgraphs/seed/generate';
import { gatewayClient, gatewayKeys, signedDemoRules, type GatewayKeys } from './nation-fixtures';

const databaseUrl = process.env.TEST_DATABASE_URL!;
const US_SECRET: Principal = { subject: 'bob@usa', nation: 'USA', clearance: 'SECRET', roles: ['analyst'], communities: ['NATO', 'FVEY'] };
const GERMAN_CONFIDENTIAL: Principal = { subject: 'ana@bund', nation: 'DEU', clearance: 'CONFIDENTIAL', roles: ['analyst'], communities: ['NATO', 'EU'] };
const QUERIES = [
  '{ indicators(first: 25) { edges { cursor node { id name pattern validFrom source { name } marking { classification tlp releasableTo caveats } sightings { count firstSeen } } } pageInfo { hasNextPage endCursor } } }',
  '{ incidents(first: 25) { edges { node { id name victim severity description indicators { id } } } pageInfo { hasNextPage } } }',
  '{ sightings(first: 25) { edges { node { id count sightingOf { id } whereSighted { name country } } } } }',
];

let keys: GatewayKeys;
const silos: Record<'pglite' | 'server', RunningNationSubgraph | undefined> = { pglite: undefined, server: undefined };

beforeAll(async () => {
  expect(databaseUrl, 'the global setup starts a PostgreSQL server and sets TEST_DATABASE_URL').toMatch(/^postgres:\/\//);
  keys = await gatewayKeys();
  const bundle = generateNationBundle('FRA', { size: 200, seed: 'postgres' });
  for (const kind of ['pglite', 'server'] as const) {
    const subgraph = await startNationSubgraph({ nation: 'FRA', port: 0, gatewayPublicJwk: keys.publicJwk, ...(await signedDemoRules()), ...(kind === 'server' && { databaseUrl }) });
    silos[kind] = subgraph;
    const report = await importBundle(subgraph.db, bundle, { nation: 'FRA', defaultMarking: defaultMarkingFor('FRA') });
    expect(report.rejected).toEqual([]);
  }
});

afterAll(async () => {
  await Promise.all(Object.values(silos).map((s) => s?.stop()));
  const admin = await openSilo({ nation: 'FRA', databaseUrl });
  await admin.query('DROP SCHEMA silo_fra CASCADE');
  await admin.close();
});

describe("France's subgraph over a PostgreSQL server answers as over PGlite", () => {
  for (const [who, principal] of [['a US analyst cleared SECRET', US_SECRET], ['a German analyst cleared CONFIDENTIAL', GERMAN_CONFIDENTIAL]] as const) {
    it(`${who} gets the same answers, byte for byte, withheld and redacted fields included`, async () => {
      const [embedded, server] = await Promise.all([gatewayClient(silos.pglite!.url, 'FRA', keys, principal), gatewayClient(silos.server!.url, 'FRA', keys, principal)]);
      let objects = 0;
      for (const query of QUERIES) {
        const [a, b] = [await embedded(query), await server(query)];
        expect(a.status).toBe(200);
        objects += (a.data as any)[Object.keys(a.data as object)[0]!].edges.length;
        expect(JSON.stringify(b)).toBe(JSON.stringify(a));
      }
      console.info(`${who}: ${objects} objects, the same from both silos`);
      expect(objects).toBeGreaterThan(5);
    });
  }

  it('the answers are worth comparing: something is withheld from the US analyst and hidden from the German one', async () => {
    const us = await (await gatewayClient(silos.server!.url, 'FRA', keys, US_SECRET))(QUERIES[0]!);
    expect(us.errors?.some((e) => e.extensions?.code === 'WITHHELD')).toBe(true);
    const german = await (await gatewayClient(silos.server!.url, 'FRA', keys, GERMAN_CONFIDENTIAL))('{ indicators(first: 500) { edges { node { id } } } }');
    const american = await (await gatewayClient(silos.server!.url, 'FRA', keys, US_SECRET))('{ indicators(first: 500) { edges { node { id } } } }');
    expect((german.data as any).indicators.edges.length).not.toBe((american.data as any).indicators.edges.length);
  });
});
