/**
 * The gateway's second enforcement, without processes: the operation rewrite, the walk over a
 * composed answer as Apollo Gateway would hand it back, the roll-up, and sealed cursors. The
 * misbehaving-nation and leak tests show the same over a running coalition.
 */
import { readFileSync } from 'node:fs';
import { buildASTSchema, GraphQLError, parse, print, validate, type GraphQLSchema } from 'graphql';
import { describe, expect, it } from 'vitest';
import { createPolicyEngine, DEFAULT_RULES_DIR, loadRuleFolder, type Marking, type Principal } from '../../policies';
import { createCursorSeal, enforceResult, policySchemaFromContract } from '../../gateway/enforcement';
import { injectPolicyInputs, reservedAliasesIn } from '../../gateway/enforcement/rewrite';
import { openCursorArguments } from '../../gateway/enforcement/cursors';

const CONTRACT = readFileSync(new URL('../../subgraphs/contract/nation.graphql', import.meta.url), 'utf8');
const STUBS = [
  'directive @link(url: String, import: [String]) repeatable on SCHEMA',
  'directive @key(fields: String!, resolvable: Boolean = true) repeatable on OBJECT | INTERFACE',
  'directive @shareable on OBJECT | FIELD_DEFINITION',
  'schema { query: Query }',
];
const schema: GraphQLSchema = buildASTSchema(parse(`${STUBS.join('\n')}\n${CONTRACT}`), { assumeValidSDL: true });
const engine = createPolicyEngine({ files: loadRuleFolder(DEFAULT_RULES_DIR), schema: policySchemaFromContract(CONTRACT) });

const AMERICAN: Principal = { subject: 'bob', nation: 'USA', clearance: 'SECRET', roles: ['analyst'], communities: ['NATO', 'FVEY'] };
const GERMAN_CONFIDENTIAL: Principal = { subject: 'ana', nation: 'DEU', clearance: 'CONFIDENTIAL', roles: ['analyst'], communities: ['NATO', 'EU'] };

const NATO_GREEN: Marking = { classification: 'RESTRICTED', tlp: 'GREEN', releasableTo: ['NATO'], caveats: [] };
const FRANCE_ONLY: Marking = { classification: 'RESTRICTED', tlp: 'AMBER', releasableTo: ['FRA'], caveats: [] };

/** A nation-owned object as the rewrite makes the nations send it. */
function injected(type: string, id: string, marking: Marking | undefined, fields: Record<string, unknown>, fieldMarkings: Record<string, Marking> = {}): Record<string, unknown> {
  return { ...fields, __sg_typename: type, __sg_id: id, __sg_markings: marking ? { object: marking, fields: fieldMarkings } : null };
}

function enforce(principal: Principal, query: string, data: Record<string, unknown>, errors: GraphQLError[] = []) {
  return enforceResult({ schema, engine, principal, document: parse(query), data, errors });
}

describe('the rewrite asks every nation-owned object for what the policy decides on', () => {
  it('adds type, id and markings (object and fields, one value) under reserved aliases, through fragments and interfaces, and still validates', () => {
    const query = `query Q($id: ID!) {
      indicators(first: 2) { edges { node { ...IndicatorBits } } }
      sighting(id: $id) { sightingOf { ... on NationObject { nation } } }
    }
    fragment IndicatorBits on Indicator { name pattern }`;
    const rewritten = injectPolicyInputs(schema, parse(query), () => []);
    expect(validate(schema, rewritten)).toEqual([]);
    const text = print(rewritten);
    // indicators' node, the fragment, the sighting and its sightingOf: each gets the whole set.
    expect(text.match(/__sg_markings: policyMarkings/g)?.length).toBeGreaterThanOrEqual(3);
    expect(text.match(/__sg_id: id/g)?.length).toBeGreaterThanOrEqual(3);
    expect(print(parse(query))).not.toContain('__sg_'); // the client's document is untouched
  });

  it('selects the values rules compare, per type', () => {
    const rewritten = print(injectPolicyInputs(schema, parse('{ incidents { edges { node { name } } } }'), (type) => (type === 'Incident' ? ['sector'] : [])));
    expect(rewritten).toContain('__sg_v_sector: sector');
  });

  it('does not ask twice for what the client selects plainly: id and policyMarkings (under any alias), and a concrete type; nor for the owner, which the id names', () => {
    const query = '{ indicators { edges { node { key: id nation m: policyMarkings name } } } }';
    const text = print(injectPolicyInputs(schema, parse(query), () => []));
    expect(text).not.toMatch(/__sg_(id|nation|markings|typename):/);
  });

  it('still injects what the client selects only under a directive; a marking the client selects as `marking` is not what the walk reads', () => {
    const conditional = print(injectPolicyInputs(schema, parse('query Q($with: Boolean!) { indicators { edges { node { id @include(if: $with) policyMarkings @include(if: $with) nation } } } }'), () => []));
    expect(conditional).toContain('__sg_id: id');
    expect(conditional).toContain('__sg_markings: policyMarkings');
    const marking = print(injectPolicyInputs(schema, parse('{ indicators { edges { node { id marking { classification tlp releasableTo caveats } } } } }'), () => []));
    expect(marking).toContain('__sg_markings: policyMarkings');
  });

  it("the walk decides on the client's own plainly selected inputs: an American analyst still loses a French source", () => {
    const node = { ref: 'FRA:indicator--1', nation: 'FRA', m: { object: { ...NATO_GREEN }, fields: {} }, name: 'C2', source: { name: 'FR sensor 21' } };
    const query = '{ indicators { edges { node { ref: id nation m: policyMarkings name source { name } } } } }';
    const result = enforce(AMERICAN, query, { indicators: { edges: [{ node }] } });
    expect((result.data as any).indicators.edges[0].node).toEqual({ ref: 'FRA:indicator--1', nation: 'FRA', m: { object: NATO_GREEN, fields: {} }, name: 'C2', source: null });
    expect(result.errors.map((e) => e.extensions?.reason)).toEqual(['FRA/sources-stay-in-france']);
    expect(result.marking).toMatchObject({ classification: 'RESTRICTED', tlp: 'GREEN', owners: ['FRA'] });
  });

  it("the client's own `marking` is not read as the policy's input: without the injected markings, the object is denied", () => {
    const node = { id: 'FRA:indicator--1', nation: 'FRA', marking: { classification: 'UNCLASSIFIED', tlp: 'CLEAR', releasableTo: ['NATO'], caveats: [] }, name: 'C2' };
    const query = '{ indicators { edges { node { id nation marking { classification tlp releasableTo caveats } name } } } }';
    const result = enforce(AMERICAN, query, { indicators: { edges: [{ node }] } });
    expect((result.data as any).indicators.edges).toEqual([]);
  });

  it("an object is its id's owner's, whatever its nation field says: a British indicator labelled French is decided by Britain's rules", () => {
    const node = injected('Indicator', 'GBR:indicator--9', NATO_GREEN, { nation: 'FRA', name: 'C2', source: { name: 'UK sensor 4' } });
    const result = enforce(AMERICAN, '{ indicators { edges { node { nation name source { name } } } } }', { indicators: { edges: [{ node }] } });
    expect(result.errors.map((e) => e.extensions?.reason)).toEqual(['GBR/sources-stay-in-uk']);
    expect(result.marking?.owners).toEqual(['GBR']);
  });

  it('a query the server parsed once and an American analyst sends twice, the source included the second time only: the source is still decided', () => {
    const document = parse('query Q($with: Boolean!) { indicators { edges { node { id name source @include(if: $with) { name } } } } }');
    const node = (withSource: boolean) => injected('Indicator', 'FRA:indicator--1', NATO_GREEN, { id: 'FRA:indicator--1', name: 'C2', ...(withSource && { source: { name: 'FR sensor 21' } }) });
    const walk = (withSource: boolean) => enforceResult({ schema, engine, principal: AMERICAN, document, variables: { with: withSource }, data: { indicators: { edges: [{ node: node(withSource) }] } }, errors: [] });
    expect(walk(false).errors).toEqual([]);
    const second = walk(true);
    expect((second.data as any).indicators.edges[0].node.source).toBeNull();
    expect(second.errors.map((e) => e.extensions?.reason)).toEqual(['FRA/sources-stay-in-france']);
  });

  it('finds a client alias that would collide with an injected one', () => {
    expect(reservedAliasesIn(parse('{ indicators { edges { node { __sg_id: name } } } }'))).toEqual(['__sg_id']);
  });
});

describe('the walk decides every field again, whatever the nation sent', () => {
  it('an American analyst gets a French indicator that France wrongly sent with its source: the gateway withholds the source', () => {
    const data = { indicators: { edges: [{ node: injected('Indicator', 'FRA:indicator--1', NATO_GREEN, { id: 'FRA:indicator--1', name: 'C2', source: { name: 'FR sensor 21' } }) }] } };
    const result = enforce(AMERICAN, '{ indicators { edges { node { id name source { name } } } } }', data);
    const node = (result.data as any).indicators.edges[0].node;
    expect(node).toEqual({ id: 'FRA:indicator--1', name: 'C2', source: null });
    expect(result.errors.map((e) => ({ path: e.path, ...e.extensions }))).toEqual([
      { path: ['indicators', 'edges', 0, 'node', 'source'], code: 'WITHHELD', owner: 'FRA', reason: 'FRA/sources-stay-in-france' },
    ]);
    expect(JSON.stringify(result)).not.toContain('FR sensor 21');
  });

  it('a German analyst cleared CONFIDENTIAL gets a French incident with the victim redacted, listed with its path', () => {
    const data = { incident: injected('Incident', 'FRA:incident--1', NATO_GREEN, { name: 'Intrusion', victim: 'Ministry X' }) };
    const result = enforce(GERMAN_CONFIDENTIAL, '{ incident(id: "FRA:incident--1") { name victim } }', data);
    expect(result.data).toEqual({ incident: { name: 'Intrusion', victim: '[REDACTED]' } });
    expect(result.redacted).toEqual([{ path: ['incident', 'victim'], owner: 'FRA', reason: 'FRA/victims-below-secret' }]);
  });

  it('an American analyst outside the EU gets a German IPv4 generalised to its /24', () => {
    const data = { indicator: injected('Indicator', 'DEU:indicator--1', NATO_GREEN, { observable: '198.51.100.77' }) };
    const result = enforce(AMERICAN, '{ indicator(id: "DEU:indicator--1") { observable } }', data);
    expect(result.data).toEqual({ indicator: { observable: '198.51.100.0/24' } });
    expect(result.transformed[0]).toMatchObject({ owner: 'DEU', transform: 'ipv4-slash24', reason: 'DEU/partner-ips-outside-eu' });
  });

  it('an object the caller may not see is dropped from a list, and the errors of the items after it follow their new index', () => {
    const data = {
      incident: injected('Incident', 'DEU:incident--1', NATO_GREEN, {
        indicators: [
          injected('Indicator', 'FRA:indicator--hidden', FRANCE_ONLY, { name: 'secret' }),
          null,
          injected('Indicator', 'FRA:indicator--2', NATO_GREEN, { name: null }),
        ],
      }),
    };
    const errors = [
      new GraphQLError('the referenced object is withheld by GBR, or GBR does not hold it', { path: ['incident', 'indicators', 1], extensions: { code: 'WITHHELD', owner: 'GBR' } }),
      new GraphQLError('withheld', { path: ['incident', 'indicators', 2, 'name'], extensions: { code: 'WITHHELD', owner: 'FRA' } }),
    ];
    const result = enforce(AMERICAN, '{ incident(id: "DEU:incident--1") { indicators { name } } }', data, errors);
    expect(result.data).toEqual({ incident: { indicators: [{ name: null }] } });
    expect(result.errors.map((e) => e.path)).toEqual([['incident', 'indicators', 0, 'name']]);
    expect(JSON.stringify(result)).not.toContain('hidden');
  });

  it('a single reference to an object the caller may not see is null with WITHHELD, never its id', () => {
    const data = { sighting: injected('Sighting', 'DEU:sighting--1', NATO_GREEN, { sightingOf: injected('Indicator', 'FRA:indicator--hidden', FRANCE_ONLY, { id: 'FRA:indicator--hidden' }) }) };
    const result = enforce(AMERICAN, '{ sighting(id: "DEU:sighting--1") { sightingOf { id } } }', data);
    expect(result.data).toEqual({ sighting: { sightingOf: null } });
    expect(result.errors[0]?.extensions).toMatchObject({ code: 'WITHHELD', owner: 'FRA', reason: 'object-not-visible' });
    expect(JSON.stringify(result.data) + result.errors.map((e) => e.message).join()).not.toContain('hidden');
  });

  it("a nation's error below an object the caller may not see goes with it: the object's id is not told by its field's error", () => {
    const data = { sighting: injected('Sighting', 'DEU:sighting--1', NATO_GREEN, { sightingOf: injected('Indicator', 'FRA:indicator--hidden', FRANCE_ONLY, { id: 'FRA:indicator--hidden', source: null }) }) };
    const errors = [new GraphQLError('Indicator.source of FRA:indicator--hidden is withheld by FRA (FRA/sources-stay-in-france)', { path: ['sighting', 'sightingOf', 'source'], extensions: { code: 'WITHHELD', owner: 'FRA' } })];
    const result = enforce(AMERICAN, '{ sighting(id: "DEU:sighting--1") { sightingOf { id source { name } } } }', data, errors);
    expect(result.data).toEqual({ sighting: { sightingOf: null } });
    expect(result.errors.map((e) => e.path)).toEqual([['sighting', 'sightingOf']]);
    expect(JSON.stringify(result)).not.toContain('hidden');
  });

  it('asked by id at the root, an object the caller may not see takes the errors below it along: it answers like one that does not exist', () => {
    const data = { indicator: injected('Indicator', 'FRA:indicator--hidden', FRANCE_ONLY, { id: 'FRA:indicator--hidden', source: null }) };
    const errors = [new GraphQLError('Indicator.source of FRA:indicator--hidden is withheld by FRA (FRA/sources-stay-in-france)', { path: ['indicator', 'source'], extensions: { code: 'WITHHELD', owner: 'FRA' } })];
    const result = enforce(AMERICAN, '{ indicator(id: "FRA:indicator--hidden") { id source { name } } }', data, errors);
    expect(result.data).toEqual({ indicator: null });
    expect(result.errors).toEqual([]);
  });

  it('an object whose markings did not arrive whole is treated as unmarked: nothing of it is released', () => {
    const malformed: unknown[] = [
      null,
      { object: NATO_GREEN },
      { object: NATO_GREEN, fields: null },
      { object: NATO_GREEN, fields: { description: { classification: 'SECRET' } } },
      { object: NATO_GREEN, fields: { description: { ...FRANCE_ONLY, releasableTo: [7] } } },
      { object: { ...NATO_GREEN, caveats: 'NOFORN' }, fields: {} },
      { fields: {} },
      'RESTRICTED',
    ];
    for (const markings of malformed) {
      const object = { ...injected('Indicator', 'FRA:indicator--1', NATO_GREEN, { name: 'C2' }), __sg_markings: markings };
      const result = enforce(AMERICAN, '{ indicator(id: "FRA:indicator--1") { name } }', { indicator: object });
      expect(result.data, JSON.stringify(markings)).toEqual({ indicator: null });
    }
    // The same object with its markings whole is released: the cases above fail on their markings alone.
    const whole = enforce(AMERICAN, '{ indicator(id: "FRA:indicator--1") { name } }', { indicator: injected('Indicator', 'FRA:indicator--1', NATO_GREEN, { name: 'C2' }) });
    expect(whole.data).toEqual({ indicator: { name: 'C2' } });
  });

  it('a field marked more restrictively than its object is withheld alone, with the marking check that failed', () => {
    const data = { indicator: injected('Indicator', 'FRA:indicator--1', NATO_GREEN, { name: 'C2', description: 'secret words' }, { description: FRANCE_ONLY }) };
    const result = enforce(AMERICAN, '{ indicator(id: "FRA:indicator--1") { name description } }', data);
    expect(result.data).toEqual({ indicator: { name: 'C2', description: null } });
    expect(result.errors[0]?.extensions).toMatchObject({ code: 'WITHHELD', reason: 'marking:releasability' });
  });

  it('rolls up what was released for the banner: highest levels, releasability intersected, caveats joined, owners listed', () => {
    const secretish: Marking = { classification: 'CONFIDENTIAL', tlp: 'AMBER', releasableTo: ['NATO', 'USA'], caveats: ['ORCON'] };
    const data = {
      indicators: {
        edges: [
          { node: injected('Indicator', 'FRA:indicator--1', NATO_GREEN, { name: 'a' }) },
          { node: injected('Indicator', 'GBR:indicator--2', secretish, { name: 'b' }) },
        ],
      },
    };
    const result = enforce(AMERICAN, '{ indicators { edges { node { name } } } }', data);
    expect(result.marking).toEqual({ classification: 'CONFIDENTIAL', tlp: 'AMBER', releasableTo: ['NATO'], caveats: ['ORCON'], owners: ['FRA', 'GBR'] });
    expect(enforce(AMERICAN, '{ indicators { edges { node { name } } } }', { indicators: { edges: [] } }).marking).toBeNull();
  });
});

describe('cursors are sealed', () => {
  const seal = createCursorSeal();

  it('round-trip, but a tampered, foreign or plain cursor is refused naming the argument', () => {
    const cursor = '2025-03-03T19:25:26.167000Z|FRA:incident--1';
    const sealed = seal.seal(cursor);
    expect(sealed).not.toContain('2025');
    expect(seal.open(sealed)).toBe(cursor);
    const tampered = sealed.slice(0, -2) + (sealed.endsWith('A') ? 'BB' : 'AA');
    expect(seal.open(tampered)).toBeUndefined();
    expect(createCursorSeal().open(sealed)).toBeUndefined();
    const document = parse('query($a: String) { indicators(after: $a) { edges { cursor } } }');
    expect(openCursorArguments(document, { a: sealed }, seal).variables).toEqual({ a: cursor });
    expect(() => openCursorArguments(document, { a: cursor }, seal)).toThrow(/variable "\$a": not a cursor this gateway issued/);
    expect(() => openCursorArguments(parse(`{ indicators(after: "${cursor}") { edges { cursor } } }`), {}, seal)).toThrow(/argument "after"/);
  });
});
