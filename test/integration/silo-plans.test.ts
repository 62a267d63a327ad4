/**
 * A page of a nation's list walks the list index and stops once it has its rows, whatever the
 * caller's visibility predicate: the planner must not trade it for a scan of the whole silo, every
 * row's JSON built, then a sort. Checked on the plans PostgreSQL itself reports (EXPLAIN ANALYZE),
 * and on the generic plans the silo's prepared reads run on (EXPLAIN (GENERIC_PLAN): the caller's
 * values unknown, as when the plan was made for every caller alike).
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

/**
 * The plans the silo's prepared statements keep for a read's statements: each prepared, then
 * explained as executed (with NULLs, which a generic plan never looks at; bound as values over the
 * protocol, the planner would fold them in).
 */
async function genericPlansOf(read: (db: SiloQueryable) => Promise<unknown>): Promise<PlanNode[]> {
  const plans: PlanNode[] = [];
  const explaining: SiloQueryable = {
    async query(sql, params = []) {
      await silo.query(`PREPARE plan_check AS ${sql}`);
      try {
        const nulls = params.map(() => 'NULL').join(', ');
        const [row] = await silo.query<{ 'QUERY PLAN': Array<{ Plan: PlanNode }> }>(`EXPLAIN (FORMAT JSON) EXECUTE plan_check${nulls ? `(${nulls})` : ''}`);
        plans.push(row!['QUERY PLAN'][0]!.Plan);
      } finally {
        await silo.query('DEALLOCATE plan_check');
      }
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

  it('and the plans its prepared reads keep, made without its values, walk the same indexes: the page, the probe, and the sightings of the page', async () => {
    const reads: Array<[string, (db: SiloQueryable) => Promise<unknown>, string]> = [
      ['page', (db) => reader(db).page({ types: ['indicator'], first: 18 }), 'stix_object_list'],
      ['probe', (db) => reader(db).pageCursors({ types: ['indicator'], first: 50 }), 'stix_object_list'],
      ['sightings', (db) => reader(db).linksTo(['GBR:indicator--1', 'GBR:indicator--2'], ['sighting-of']), 'stix_link_target'],
    ];
    for (const [name, read, index] of reads) {
      const plans = await genericPlansOf(read);
      expect(plans.length, name).toBeGreaterThan(0);
      const nodes = plans.flatMap(nodesOf);
      expect(nodes.filter((n) => n['Node Type'] === 'Seq Scan' || n['Node Type'] === 'Sort'), `${name}: ${JSON.stringify(plans)}`).toEqual([]);
      expect(nodes.some((n) => n['Index Name'] === index), `${name}: ${JSON.stringify(plans)}`).toBe(true);
    }
  });
});
