/**
 * The SQL a silo filters on says exactly what the policy engine says: random object conditions over
 * random rows, each condition compiled to SQL and run by the embedded PostgreSQL, against
 * `evaluateCondition` in memory. A row the engine would hide that SQL lets through is a leak; a row
 * SQL hides that the engine would show is a page with holes.
 */
import fc from 'fast-check';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { CLASSIFICATIONS, evaluateCondition, fieldsReadBy, TLP_LEVELS, type Marking, type ObjectCondition } from '../../policies';
import { conditionSql, openSilo, type SiloDb } from '../../subgraphs/silo';

const NAMES = ['FRA', 'DEU', 'USA', 'NATO', 'EU'];
const CAVEATS = ['NOFORN', 'ORCON', 'PROPIN'];
const SECTORS = ['energy', 'finance', 'health'];

interface Row {
  id: string;
  marking: Marking;
  values: { sector: string; tags: string[]; confidence: number };
}

const subsetOf = <T>(items: readonly T[]) => fc.subarray([...items]);
const rowArbitrary = fc.record({
  classification: fc.constantFrom(...CLASSIFICATIONS),
  tlp: fc.constantFrom(...TLP_LEVELS),
  releasableTo: subsetOf(NAMES),
  caveats: subsetOf(CAVEATS),
  sector: fc.constantFrom(...SECTORS),
  tags: subsetOf(SECTORS),
  confidence: fc.integer({ min: 0, max: 3 }),
});

const leaf: fc.Arbitrary<ObjectCondition> = fc.oneof(
  fc.constant<ObjectCondition>({ kind: 'always' }),
  fc.constant<ObjectCondition>({ kind: 'never' }),
  subsetOf(CLASSIFICATIONS).map((levels): ObjectCondition => ({ kind: 'classification-in', levels })),
  subsetOf(TLP_LEVELS).map((levels): ObjectCondition => ({ kind: 'tlp-in', levels })),
  subsetOf(CAVEATS).map((caveats): ObjectCondition => ({ kind: 'caveats-any', caveats })),
  subsetOf(NAMES).map((names): ObjectCondition => ({ kind: 'releasable-to-any', names })),
  fc.constantFrom(...SECTORS).map((equals): ObjectCondition => ({ kind: 'field-value', condition: { field: 'sector', equals } })),
  fc.constantFrom(...SECTORS).map((contains): ObjectCondition => ({ kind: 'field-value', condition: { field: 'tags', contains } })),
  fc.subarray([0, 1, 2, 3]).map((values): ObjectCondition => ({ kind: 'field-value', condition: { field: 'confidence', in: values } })),
  // A field the silo cannot compare: SQL must fail closed on it, whatever surrounds it.
  fc.constant<ObjectCondition>({ kind: 'field-value', condition: { field: 'unknownField', equals: 'x' } }),
);
const conditionArbitrary: fc.Arbitrary<ObjectCondition> = fc.letrec<{ c: ObjectCondition }>((tie) => ({
  c: fc.oneof(
    { depthSize: 'small', withCrossShrink: true },
    leaf,
    fc.array(tie('c'), { maxLength: 3 }).map((of): ObjectCondition => ({ kind: 'all', of })),
    fc.array(tie('c'), { maxLength: 3 }).map((of): ObjectCondition => ({ kind: 'any', of })),
    tie('c').map((condition): ObjectCondition => ({ kind: 'not', condition })),
  ),
})).c;

let silo: SiloDb;
const rows: Row[] = [];

beforeAll(async () => {
  silo = await openSilo({ nation: 'FRA' });
  const sample = fc.sample(rowArbitrary, { numRuns: 200, seed: 7 });
  for (const [i, r] of sample.entries()) {
    const row: Row = { id: `FRA:indicator--${i}`, marking: { classification: r.classification, tlp: r.tlp, releasableTo: r.releasableTo, caveats: r.caveats }, values: { sector: r.sector, tags: r.tags, confidence: r.confidence } };
    rows.push(row);
    await silo.query(
      `INSERT INTO stix_object (id, stix_id, type, nation, created, modified, sort_time, classification, tlp, releasable_to, caveats, doc)
       VALUES ($1, $2, 'indicator', 'FRA', now(), now(), now(), $3, $4, $5, $6, $7)`,
      [row.id, `indicator--${i}`, CLASSIFICATIONS.indexOf(r.classification), TLP_LEVELS.indexOf(r.tlp), r.releasableTo, r.caveats, JSON.stringify({ sector: r.sector, tags: r.tags, confidence: r.confidence })],
    );
  }
});
afterAll(() => silo.close());

async function idsWhere(condition: ObjectCondition): Promise<string[]> {
  const values: unknown[] = [];
  const where = conditionSql(condition, 'o', (value) => `$${values.push(value)}`, (field) => (['sector', 'tags', 'confidence'].includes(field) ? field : undefined));
  const found = await silo.query<{ id: string }>(`SELECT o.id FROM stix_object o WHERE ${where} ORDER BY o.id`, values);
  return found.map((r) => r.id);
}

describe('a silo filters its rows in SQL exactly as the engine decides them in memory', () => {
  it('for random conditions over 200 random rows', async () => {
    await fc.assert(
      fc.asyncProperty(conditionArbitrary, async (condition) => {
        const inSql = await idsWhere(condition);
        const inMemory = rows.filter((r) => evaluateCondition(condition, r.marking, r.values)).map((r) => r.id);
        if (!readsUnknown(condition)) expect(inSql).toEqual(inMemory.sort());
        // A field the silo cannot compare is NULL in SQL: never more than the engine lets through.
        else {
          expect(inSql.filter((id) => !inMemory.includes(id))).toEqual([]);
          expect(inSql).toEqual(rows.filter((r) => kleene(condition, r) === true).map((r) => r.id).sort());
        }
      }),
      { numRuns: 400, seed: 11 },
    );
  });

  it('a level outside the vocabulary matches no level condition, not even "every level"', async () => {
    await silo.query(`UPDATE stix_object SET classification = 9, tlp = 9 WHERE id = 'FRA:indicator--0'`);
    try {
      expect(await idsWhere({ kind: 'classification-in', levels: [...CLASSIFICATIONS] })).not.toContain('FRA:indicator--0');
      expect(await idsWhere({ kind: 'tlp-in', levels: [...TLP_LEVELS] })).not.toContain('FRA:indicator--0');
    } finally {
      await silo.query(`UPDATE stix_object SET classification = $1, tlp = $2 WHERE id = 'FRA:indicator--0'`, [CLASSIFICATIONS.indexOf(rows[0]!.marking.classification), TLP_LEVELS.indexOf(rows[0]!.marking.tlp)]);
    }
  });
});

/** SQL's three-valued reading of a condition: a field it cannot compare is unknown (null). */
function kleene(condition: ObjectCondition, row: Row): boolean | null {
  switch (condition.kind) {
    case 'all': {
      const parts = condition.of.map((c) => kleene(c, row));
      return parts.includes(false) ? false : parts.includes(null) ? null : true;
    }
    case 'any': {
      const parts = condition.of.map((c) => kleene(c, row));
      return parts.includes(true) ? true : parts.includes(null) ? null : false;
    }
    case 'not': {
      const inner = kleene(condition.condition, row);
      return inner === null ? null : !inner;
    }
    case 'field-value':
      if (condition.condition.field === 'unknownField') return null;
      return evaluateCondition(condition, row.marking, row.values);
    default:
      return evaluateCondition(condition, row.marking, row.values);
  }
}

function readsUnknown(condition: ObjectCondition): boolean {
  return fieldsReadBy(condition).includes('unknownField');
}
