/**
 * An analyst (or a broken client) asks France for objects by ids that cannot name any: a NUL byte,
 * a hundred kilobytes of text, a lone surrogate, ids of the wrong shape. France answers each exactly as it
 * answers an id it does not hold, and its log stays quiet: the ids never reach PostgreSQL, whose
 * error would otherwise be printed whole.
 */
import { afterAll, beforeAll, describe, expect, it, vi } from 'vitest';
import { startNationSubgraph, type RunningNationSubgraph } from '../../subgraphs';
import { defaultMarkingFor, importBundle } from '../../subgraphs/stix';
import { gatewayClient, gatewayKeys, scenarioBundle, signedDemoRules, type GraphQLAnswer } from './nation-fixtures';

const KNOWN_UNKNOWN = 'FRA:indicator--00000000-0000-4000-8000-000000000000';
const INVALID_IDS: Record<string, string> = {
  'a NUL byte': 'FRA:indicator--\u0000',
  'a NUL byte inside a well-formed id': 'FRA:indicator--00000000-0000-4000-8000-00000000000\u0000',
  'a hundred kilobytes of text': `FRA:indicator--${'a'.repeat(100_000)}`,
  'a lone surrogate': 'FRA:indicator--\uD800',
  'no owner nation': 'indicator--00000000-0000-4000-8000-000000000000',
  'a lower-case owner': 'fra:indicator--00000000-0000-4000-8000-000000000000',
  'no uuid': 'FRA:indicator--',
  'an empty id': '',
};

let subgraph: RunningNationSubgraph;
let ask: (query: string, variables?: Record<string, unknown>) => Promise<GraphQLAnswer>;

beforeAll(async () => {
  const keys = await gatewayKeys();
  subgraph = await startNationSubgraph({ nation: 'FRA', port: 0, gatewayPublicJwk: keys.publicJwk, ...(await signedDemoRules()) });
  const report = await importBundle(subgraph.db, scenarioBundle(3).bundle, { nation: 'FRA', defaultMarking: defaultMarkingFor('FRA') });
  expect(report.rejected).toEqual([]);
  ask = await gatewayClient(subgraph.url, 'FRA', keys);
});

afterAll(async () => subgraph?.stop());

describe('France asked for objects by ids that cannot name one', () => {
  for (const [what, id] of Object.entries(INVALID_IDS)) {
    it(`${what}: answered like an unknown id, nothing logged, nothing sent to SQL`, async () => {
      const logged = vi.spyOn(console, 'error').mockImplementation(() => undefined);
      try {
        const unknown = await ask('query($id: ID!) { indicator(id: $id) { id } incident(id: $id) { id } }', { id: KNOWN_UNKNOWN });
        subgraph.db.statements.count = 0;
        const invalid = await ask('query($id: ID!) { indicator(id: $id) { id } incident(id: $id) { id } }', { id });
        expect(invalid).toEqual(unknown);
        expect(invalid).toEqual({ status: 200, data: { indicator: null, incident: null } });
        expect(subgraph.db.statements.count).toBe(0);
        expect(logged).not.toHaveBeenCalled();
      } finally {
        logged.mockRestore();
      }
    });
  }
});
