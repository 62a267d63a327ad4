/**
 * An embedded silo runs its reads as named prepared statements (subgraphs/silo/prepared.ts). They
 * must answer as plain statements do, wait for another caller's open transaction instead of
 * running inside it, survive the statement cache turning over, and fail cleanly.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { openSilo, type SiloDb } from '../../subgraphs/silo';

let silo: SiloDb;

beforeAll(async () => {
  silo = await openSilo({ nation: 'FRA' });
  await silo.query('CREATE TABLE reading (n integer PRIMARY KEY, label text NOT NULL, tags text[] NOT NULL)');
  await silo.query("INSERT INTO reading SELECT n, 'r' || n, CASE WHEN n % 2 = 0 THEN ARRAY['even'] ELSE ARRAY['odd'] END FROM generate_series(1, 50) AS n");
});
afterAll(() => silo.close());

describe('the silo prepares its reads', () => {
  it('and a prepared read answers as the same statement sent plainly, for every value bound', async () => {
    const sql = 'SELECT n, label FROM reading WHERE n <= $1 AND tags && $2::text[] ORDER BY n';
    for (const [limit, tags] of [[10, ['even']], [3, ['odd']], [50, ['even', 'odd']], [0, ['even']]] as const) {
      const prepared = await silo.query<{ n: number; label: string }>(sql, [limit, tags]);
      // In parentheses the same query is not taken for a read to prepare: it goes as plain text.
      const plain = await silo.query<{ n: number; label: string }>(`(${sql})`, [limit, tags]);
      expect(prepared).toEqual(plain);
      expect(prepared.every((row) => row.n <= limit && row.label === `r${row.n}`)).toBe(true);
    }
  });

  it("and a read waits for another caller's open transaction, then sees only what it committed", async () => {
    let finish!: () => void;
    const held = new Promise<void>((resolve) => (finish = resolve));
    let opened!: () => void;
    const inside = new Promise<void>((resolve) => (opened = resolve));
    const transaction = silo.transaction(async (tx) => {
      await tx.query("INSERT INTO reading VALUES (1001, 'rolled back', '{}')");
      opened();
      await held;
      throw new Error('the import fails');
    });
    try {
      await inside;
      let answered = false;
      const read = silo.query<{ count: number }>('SELECT count(*)::int AS count FROM reading WHERE n > $1', [1000]).then((rows) => {
        answered = true;
        return rows;
      });
      await new Promise((resolve) => setTimeout(resolve, 50));
      expect(answered).toBe(false);
      finish();
      await expect(transaction).rejects.toThrow('the import fails');
      expect(await read).toEqual([{ count: 0 }]);
    } finally {
      finish();
      await transaction.catch(() => {});
    }
  });

  it('and keeps working once more texts were read than it keeps prepared', async () => {
    const first = await silo.query<{ n: number }>('SELECT n FROM reading WHERE n = $1', [7]);
    for (let i = 0; i < 300; i++) await silo.query(`SELECT n, ${i} AS variant FROM reading WHERE n = $1`, [i % 50]);
    expect(await silo.query<{ n: number }>('SELECT n FROM reading WHERE n = $1', [7])).toEqual(first);
  });

  it('and a read that fails says why, and the next read runs', async () => {
    await expect(silo.query('SELECT n FROM reading WHERE n = $1::integer', ['not a number'])).rejects.toThrow(/invalid input syntax for type integer/);
    await expect(silo.query('SELECT no_such_column FROM reading')).rejects.toThrow(/no_such_column/);
    expect(await silo.query<{ n: number }>('SELECT n FROM reading WHERE n = $1', [3])).toEqual([{ n: 3 }]);
  });
});

it('a closed silo refuses a read, saying so', async () => {
  const closed = await openSilo({ nation: 'EST' });
  await closed.close();
  await expect(closed.query('SELECT 1 AS one')).rejects.toThrow(/closed/);
});
