/**
 * The audit chain's arithmetic: a record's body is canonical JSON that anyone can recompute, and
 * each hash covers the one before it.
 */
import { createHash } from 'node:crypto';
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { summarizeAuditRecord } from '../../subgraphs/audit';
import { auditEntryJson, canonicalJson, chainAfter, chainHash, GENESIS_HASH, type AuditEntry } from '../../subgraphs/audit/chain';

describe('canonical JSON', () => {
  it('sorts keys at every depth, keeps array order and has no whitespace', () => {
    expect(canonicalJson({ b: [{ z: 1, a: null }, 'x'], a: { d: true, c: 'é\n' } })).toBe('{"a":{"c":"é\\n","d":true},"b":[{"a":null,"z":1},"x"]}');
  });

  it('sorts integer-like keys as text too, which plain JSON.stringify of a re-keyed object would not', () => {
    expect(canonicalJson({ b: 1, 10: 2, 9: 3 })).toBe('{"10":2,"9":3,"b":1}');
  });

  it('drops undefined members as JSON.stringify does, and refuses what JSON cannot hold', () => {
    expect(canonicalJson({ a: undefined, b: [undefined] })).toBe('{"b":[null]}');
    expect(() => canonicalJson({ n: 1n })).toThrow(TypeError);
  });

  it('is a fixed point: parsing canonical JSON and writing it again gives the same text', () => {
    fc.assert(
      fc.property(fc.jsonValue(), (value) => {
        const text = canonicalJson(value);
        expect(canonicalJson(JSON.parse(text))).toBe(text);
      }),
    );
  });
});

describe("an audit entry's JSON", () => {
  const text = fc.string({ unit: 'binary' });
  const field = fc.record({ object: text, field: text, reason: text });
  const entry: fc.Arbitrary<AuditEntry> = fc.record({
    principal: fc.record({ subject: text, nation: text, clearance: text, roles: fc.array(text), communities: fc.array(text) }),
    operation: fc.record({ name: fc.option(text, { nil: null }), queryHash: text }),
    released: fc.array(text),
    withheld: fc.array(field),
    redacted: fc.array(field),
    transformed: fc.array(fc.record({ object: text, field: text, reason: text, transform: text })),
  });

  it('written for its one shape, is exactly the canonical JSON of it, whatever the text inside', () => {
    fc.assert(
      fc.property(entry, (e) => {
        expect(auditEntryJson(e)).toBe(canonicalJson(e));
      }),
      { numRuns: 500 },
    );
  });
});

describe('the chain', () => {
  const entries = [
    { at: '2025-05-01T10:00:00.000Z', entryJson: canonicalJson({ released: ['FRA:indicator--1'], withheld: [] }) },
    { at: '2025-05-01T10:00:00.001Z', entryJson: canonicalJson({ released: [], withheld: [{ object: 'FRA:indicator--2', field: 'pattern', reason: 'r1' }] }) },
  ];

  it('starts from 64 zeros, and a body is canonicalJson({ seq, at, entry })', () => {
    const [first, second] = chainAfter(null, entries);
    expect(first!.prevHash).toBe(GENESIS_HASH);
    expect(first!.seq).toBe(1);
    expect(first!.body).toBe(canonicalJson({ seq: 1, at: entries[0]!.at, entry: JSON.parse(entries[0]!.entryJson) }));
    expect(first!.hash).toBe(createHash('sha256').update(`${GENESIS_HASH}\n${first!.body}`).digest('hex'));
    expect(second).toMatchObject({ seq: 2, prevHash: first!.hash, hash: chainHash(first!.hash, second!.body) });
  });

  it('continues after an existing head', () => {
    const rows = chainAfter({ seq: 41, hash: 'f'.repeat(64) }, entries);
    expect(rows.map((r) => r.seq)).toEqual([42, 43]);
    expect(rows[0]!.prevHash).toBe('f'.repeat(64));
  });
});

describe('a record in one line', () => {
  it('names who asked and the operation, and counts what was released and held back, without object ids', () => {
    const line = summarizeAuditRecord({
      seq: 8,
      at: '2025-05-01T10:00:00.000Z',
      prevHash: GENESIS_HASH,
      hash: 'c0ffee'.repeat(10) + 'abcd',
      entry: {
        principal: { subject: 'analyst-8@bund.de', nation: 'DEU', clearance: 'SECRET', roles: ['analyst'], communities: ['NATO'] },
        operation: { name: null, queryHash: '1234abcd'.repeat(8) },
        released: ['FRA:indicator--1', 'FRA:indicator--2'],
        withheld: [{ object: 'FRA:indicator--1', field: 'pattern', reason: 'r1' }],
        redacted: [],
        transformed: [{ object: 'FRA:indicator--2', field: 'validFrom', transform: 'day', reason: 'r2' }],
      },
    });
    expect(line).toBe('#8  2025-05-01T10:00:00.000Z  DEU/analyst-8@bund.de SECRET  (anonymous) [query 1234abcd]  released 2, withheld 1, redacted 0, transformed 1  hash c0ffeec0ffee');
  });
});
