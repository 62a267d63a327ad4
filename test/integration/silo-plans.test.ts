/**
 * A page of a nation's list walks the list index and stops once it has its rows, whatever the
 * caller's visibility predicate: the planner must not trade it for a scan of the whole silo, every
 * row's JSON built, then a sort. Checked on the plans PostgreSQL itself reports (EXPLAIN ANALYZE).
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createPolicyEngine, loadRuleFolder, DEFAULT_RULES_DIR, type Principal } from '../../policies';
import { createNationContext } from '../../subgraphs/kit';
import { policySchemaOf } from '../../subgraphs/kit/schema';
import { generateNationBundle } from '../../subgraphs/seed/generate';
import { openSilo, type SiloDb, type SiloQueryable } from '../../subgraphs/silo';
import { defaultMarkingFor, importBundle } from '../../subgraphs/stix';

interface PlanNode {
  'Node Type': string;
  'Relation Name'?: string;
  'Index Name'?: string;
  'Actual Rows': number;
  Plans?: PlanNode[];
}

const frenchAnalyst: Principal = { subject: 'analyst@fr', nation: 'FRA', clearance: 'TOP_SECRET', roles: ['analyst'], communities: ['NATO', 'EU'] };
let silo: SiloDb;

beforeAll(async () => {
  silo = await openSilo({ nation: 'GBR' });
  const report = await importBundle(silo, generateNationBundle('GBR', { size: 400 }), { nation: 'GBR', defaultMarking: defaultMarkingFor('GBR') });
  expect(report.rejected).toEqual([]);
  await silo.query('ANALYZE stix_object, stix_link');
});
afterAll(() => silo.close());

/** The plans of the statements a read sends, in order, instead of running them. */
async function plansOf(read: (db: SiloQueryable) => Promise<unknown>): Promise<PlanNode[]> {
  const plans: PlanNode[] = [];
  const explaining: SiloQueryable = {
    async query(sql, params) {
      const [row] = await silo.query<{ 'QUERY PLAN': Array<{ Plan: PlanNode }> }>(`EXPLAIN (ANALYZE, FORMAT JSON) ${sql}`, params);
      plans.push(row!['QUERY PLAN'][0]!.Plan);
      return [];
    },
  };
  await read(explaining);
  return plans;
}

function nodesOf(plan: PlanNode): PlanNode[] {
  return [plan, ...(plan.Plans ?? []).flatMap(nodesOf)];
}

describe("a French analyst pages through Britain's indicators, many of which are not releasable to France", () => {
  const engine = createPolicyEngine({ files: loadRuleFolder(DEFAULT_RULES_DIR), schema: policySchemaOf() });
  const reader = (db: SiloQueryable) => createNationContext(db, 'GBR', frenchAnalyst, engine).silo;

  it('and a page of 18 reads 19 rows down the list index, not the whole silo', async () => {
    const [plan] = await plansOf((db) => reader(db).page({ types: ['indicator'], first: 18 }));
    const nodes = nodesOf(plan!);
    expect(nodes.filter((n) => n['Node Type'] === 'Seq Scan')).toEqual([]);
    const scan = nodes.find((n) => n['Index Name'] === 'stix_object_list');
    expect(scan, JSON.stringify(plan)).toBeDefined();
    expect(scan!['Actual Rows']).toBe(19);
  });

  it('and the gateway\'s cursor probe does the same', async () => {
    const [plan] = await plansOf((db) => reader(db).pageCursors({ types: ['indicator'], first: 50 }));
    const nodes = nodesOf(plan!);
    expect(nodes.filter((n) => n['Node Type'] === 'Seq Scan')).toEqual([]);
    expect(nodes.find((n) => n['Index Name'] === 'stix_object_list')?.['Actual Rows']).toBe(51);
  });
});
