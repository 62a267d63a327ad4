/**
 * Differential test of the policy engine: random principals × random objects and markings × random
 * rule sets × fields, the engine against a small reference evaluator written here, straight from the
 * spec text of issue 3 and DESIGN.md ("Markings and decisions"). The reference shares no code with
 * the engine: its own level orders, its own marking combination, its own rule matching.
 *
 * One reading the spec leaves open: a rule's object conditions on the marking (classificationAtLeast,
 * tlpAtLeast, caveatsAny) are taken on the field's effective marking (object + granular), the marking
 * that governs the value being decided.
 *
 * Cache correctness: each query is asked by three principals (one a near twin of another: one attribute
 * changed), for two fields, of the object and of a twin (other field values, field marking, object
 * marking, owner or type), in one warm engine, in a 2-entry engine and in a fresh one. Hand mutations
 * of the engine (dropping any part of the cache key, the AMBER+STRICT or community-membership check,
 * NOFORN, the coalition-allow guard, the tie order, the releasability intersection) each fail this test.
 */
import fc from 'fast-check';
import { afterAll, describe, expect, it } from 'vitest';
import { createPolicyEngine, evaluateCondition, ruleFileSchema, type Decision, type ObjectFacts, type PolicyEngine, type Principal, type RuleFile } from '../../policies';

// ---------------------------------------------------------------------------------------------
// The world the cases are drawn from.
// ---------------------------------------------------------------------------------------------

const NATIONS = ['USA', 'GBR', 'FRA', 'DEU', 'EST', 'POL'] as const;
const COMMUNITY_NAMES = ['NATO', 'EU', 'FVEY'] as const;
/** The coalition's word on membership. POL is deliberately in none of them: its claims must not count. */
const COMMUNITIES: Record<string, readonly string[]> = {
  NATO: ['USA', 'GBR', 'FRA', 'DEU', 'EST'],
  EU: ['FRA', 'DEU', 'EST'],
  FVEY: ['USA', 'GBR'],
};
const ROLES = ['analyst', 'policy-officer', 'operator'] as const;
const SCHEMA: Record<string, readonly string[]> = {
  Indicator: ['id', 'name', 'pattern', 'observable', 'indicatorTypes', 'source', 'confidence'],
  Incident: ['id', 'name', 'description', 'victim', 'sector', 'severity'],
  Sighting: ['id', 'count', 'firstSeen', 'whereSighted'],
};
const TYPES = Object.keys(SCHEMA);
/** Every field name of the schema, plus one no type has. */
const ANY_FIELDS = [...new Set(Object.values(SCHEMA).flat()), 'bogus'];
const VALUE_FIELDS = ['sector', 'indicatorTypes', 'severity', 'confidence', 'active', 'colour'] as const;
const OPERAND_STRINGS = ['energy', 'finance', 'health', 'malicious-activity', 'attribution', 'high', 'low'] as const;
const OPERAND_NUMBERS = [10, 50, 90] as const;

// The reference's own vocabulary, in increasing order of restriction (issue 3, DESIGN.md).
const CLASSIFICATION_ORDER = ['UNCLASSIFIED', 'RESTRICTED', 'CONFIDENTIAL', 'SECRET', 'TOP_SECRET'] as const;
const TLP_ORDER = ['CLEAR', 'GREEN', 'AMBER', 'AMBER_STRICT', 'RED'] as const;
const EFFECT_STRICTNESS = { allow: 0, transform: 1, redact: 2, deny: 3 } as const;
const TRANSFORMS = ['ipv4-slash24', 'timestamp-day', 'first-sentence', 'location-country'] as const;

type Classification = (typeof CLASSIFICATION_ORDER)[number];
type Tlp = (typeof TLP_ORDER)[number];
type Effect = keyof typeof EFFECT_STRICTNESS;
type Rule = RuleFile['rules'][number];
interface RefMarking {
  classification: Classification;
  tlp: Tlp;
  releasableTo: string[];
  caveats: string[];
}

// ---------------------------------------------------------------------------------------------
// The reference evaluator: obviously correct, slow, no cache.
// ---------------------------------------------------------------------------------------------

interface RefDecision {
  effect: Effect;
  transform?: string;
  /** `marking:<check>`, `marking:none`, `unknown-field`, `no-rule`, or the deciding rule as FILE/id. */
  reason: string;
  /** Rules that apply (owner's, then coalition's), as FILE/id; only when the baseline passed. */
  applying: Array<{ rule: string; effect: Effect }>;
}

const higherClassification = (a: Classification, b: Classification) => (CLASSIFICATION_ORDER.indexOf(a) >= CLASSIFICATION_ORDER.indexOf(b) ? a : b);
const higherTlp = (a: Tlp, b: Tlp) => (TLP_ORDER.indexOf(a) >= TLP_ORDER.indexOf(b) ? a : b);
const atLeastClassification = (level: Classification, floor: Classification) => CLASSIFICATION_ORDER.indexOf(level) >= CLASSIFICATION_ORDER.indexOf(floor);

/** A field's marking combined with its object's: it can only be more restricted. */
function refEffectiveMarking(object: RefMarking, field: RefMarking | undefined): RefMarking {
  if (!field) return object;
  return {
    classification: higherClassification(object.classification, field.classification),
    tlp: higherTlp(object.tlp, field.tlp),
    releasableTo: object.releasableTo.filter((r) => field.releasableTo.includes(r)),
    caveats: [...new Set([...object.caveats, ...field.caveats])],
  };
}

/** The baseline, clause by clause as issue 3 writes it; returns the first clause that fails. */
function refBaselineFailure(principal: Principal, owner: string, m: RefMarking): string | undefined {
  if (!atLeastClassification(principal.clearance, m.classification)) return 'clearance';
  if (principal.nation === owner) return undefined;
  if (m.tlp === 'RED') return 'tlp-red';
  if (m.caveats.includes('NOFORN')) return 'noforn';
  const namedNation = m.releasableTo.includes(principal.nation);
  const viaCommunity =
    m.tlp !== 'AMBER_STRICT' &&
    m.releasableTo.some((community) => principal.communities.includes(community) && (COMMUNITIES[community] ?? []).includes(principal.nation));
  if (!namedNation && !viaCommunity) return 'releasability';
  return undefined;
}

function refValueCondition(condition: FieldValueCondition, value: unknown): boolean {
  if (condition.equals !== undefined) return value === condition.equals;
  if (condition.in !== undefined) return condition.in.some((candidate) => candidate === value);
  if (condition.contains !== undefined) return Array.isArray(value) && value.some((item) => item === condition.contains);
  return false;
}

/** Does the rule apply to this principal, object (with the field's effective marking) and field? */
function refApplies(rule: Rule, principal: Principal, object: ObjectFacts, m: RefMarking, field: string): boolean {
  const typeMatches = rule.match.types.some((t) => t === '*' || t === object.type);
  const fieldMatches = rule.match.fields.some((f) => f === '*' || f === field);
  if (!typeMatches || !fieldMatches) return false;
  const who = rule.when?.principal;
  if (who?.nations && !who.nations.includes(principal.nation)) return false;
  if (who?.notNations && who.notNations.includes(principal.nation)) return false;
  if (who?.clearanceAtLeast && !atLeastClassification(principal.clearance, who.clearanceAtLeast)) return false;
  if (who?.clearanceBelow && atLeastClassification(principal.clearance, who.clearanceBelow)) return false;
  if (who?.rolesAny && !who.rolesAny.some((r) => principal.roles.includes(r))) return false;
  if (who?.rolesNone && who.rolesNone.some((r) => principal.roles.includes(r))) return false;
  if (who?.communitiesAny && !who.communitiesAny.some((c) => principal.communities.includes(c))) return false;
  if (who?.communitiesNone && who.communitiesNone.some((c) => principal.communities.includes(c))) return false;
  const what = rule.when?.object;
  if (what?.owners && !what.owners.includes(object.owner)) return false;
  if (what?.classificationAtLeast && !atLeastClassification(m.classification, what.classificationAtLeast)) return false;
  if (what?.tlpAtLeast && TLP_ORDER.indexOf(m.tlp) < TLP_ORDER.indexOf(what.tlpAtLeast)) return false;
  if (what?.caveatsAny && !what.caveatsAny.some((c) => m.caveats.includes(c))) return false;
  if (what?.fieldValues && !what.fieldValues.every((c) => refValueCondition(c, object.values?.[c.field]))) return false;
  return true;
}

function refDecide(files: RuleFile[], principal: Principal, object: ObjectFacts, field: string): RefDecision {
  const deny = (reason: string): RefDecision => ({ effect: 'deny', reason, applying: [] });
  if (!(SCHEMA[object.type] ?? []).includes(field)) return deny('unknown-field');
  if (!object.marking) return deny('marking:none');
  const m = refEffectiveMarking(object.marking, object.fieldMarkings?.[field]);
  const failed = refBaselineFailure(principal, object.owner, m);
  if (failed) return deny(`marking:${failed}`);

  // The owner's rules release (nothing releases without one); the coalition's can only restrict.
  const ownerRules = files
    .filter((f) => f.nation === object.owner)
    .flatMap((f) => f.rules.filter((r) => refApplies(r, principal, object, m, field)).map((r) => ({ rule: `${f.nation}/${r.id}`, r })));
  if (ownerRules.length === 0) return deny('no-rule');
  const coalitionRules = files
    .filter((f) => f.nation === 'COALITION')
    .flatMap((f) => f.rules.filter((r) => refApplies(r, principal, object, m, field)).map((r) => ({ rule: `COALITION/${r.id}`, r })));
  const applying = [...ownerRules, ...coalitionRules];
  const counted = [...ownerRules, ...coalitionRules.filter((c) => c.r.effect !== 'allow')];
  // Most restrictive wins; among equals, the first in file order (owner before coalition).
  let winner = counted[0]!;
  for (const candidate of counted) if (EFFECT_STRICTNESS[candidate.r.effect] > EFFECT_STRICTNESS[winner.r.effect]) winner = candidate;
  return {
    effect: winner.r.effect,
    ...(winner.r.effect === 'transform' ? { transform: winner.r.transform } : {}),
    reason: winner.rule,
    applying: applying.map((a) => ({ rule: a.rule, effect: a.r.effect })),
  };
}

// ---------------------------------------------------------------------------------------------
// Arbitraries.
// ---------------------------------------------------------------------------------------------

/** A record holding at most `max` of the given keys (rules with many conditions almost never apply). */
function sparse<T extends Record<string, fc.Arbitrary<unknown>>>(arbs: T, max: number): fc.Arbitrary<Partial<{ [K in keyof T]: T[K] extends fc.Arbitrary<infer V> ? V : never }>> {
  const keys = Object.keys(arbs);
  return fc.subarray(keys, { maxLength: max }).chain((chosen) => fc.record(Object.fromEntries(chosen.map((k) => [k, arbs[k]!]))) as never);
}

const classification = fc.constantFrom(...CLASSIFICATION_ORDER);
const tlp = fc.constantFrom(...TLP_ORDER);
const nations = fc.subarray([...NATIONS], { minLength: 1 });
const roles = fc.subarray([...ROLES], { minLength: 1 });
const communities = fc.subarray([...COMMUNITY_NAMES], { minLength: 1 });

const principalArb: fc.Arbitrary<Principal> = fc.record({
  subject: fc.constantFrom('alice', 'bob'),
  nation: fc.constantFrom(...NATIONS),
  // Mostly well cleared, so that many cases get past the clearance check to the rules.
  clearance: fc.oneof({ weight: 3, arbitrary: fc.constantFrom<Classification>('SECRET', 'TOP_SECRET') }, { weight: 2, arbitrary: classification }),
  roles: fc.subarray([...ROLES]),
  // Claims, confirmed or not: the baseline must only count what the coalition confirms.
  communities: fc.shuffledSubarray([...COMMUNITY_NAMES]),
});

const markingArb: fc.Arbitrary<RefMarking> = fc.record({
  classification: fc.oneof({ weight: 3, arbitrary: fc.constantFrom<Classification>('UNCLASSIFIED', 'RESTRICTED', 'CONFIDENTIAL') }, { weight: 2, arbitrary: classification }),
  tlp: fc.oneof({ weight: 4, arbitrary: fc.constantFrom<Tlp>('CLEAR', 'GREEN', 'AMBER') }, { weight: 2, arbitrary: tlp }),
  releasableTo: fc.oneof(
    { weight: 2, arbitrary: fc.shuffledSubarray([...NATIONS, ...COMMUNITY_NAMES]) },
    { weight: 3, arbitrary: fc.shuffledSubarray([...NATIONS, ...COMMUNITY_NAMES], { minLength: 5 }) },
  ),
  caveats: fc.oneof(
    { weight: 5, arbitrary: fc.constant<string[]>([]) },
    { weight: 2, arbitrary: fc.constant<string[]>(['ORCON']) },
    { weight: 2, arbitrary: fc.shuffledSubarray(['NOFORN', 'ORCON']) },
  ),
});

const valuesArb = fc.record(
  {
    sector: fc.constantFrom('energy', 'finance', 'health'),
    indicatorTypes: fc.subarray(['malicious-activity', 'anomalous-activity', 'attribution']),
    severity: fc.constantFrom('low', 'high'),
    confidence: fc.constantFrom(10, 50, 90),
    active: fc.boolean(),
  },
  { requiredKeys: [] },
);

const objectArb: fc.Arbitrary<ObjectFacts> = fc
  .record({
    type: fc.oneof({ weight: 9, arbitrary: fc.constantFrom(...TYPES) }, { weight: 1, arbitrary: fc.constant('Malware') }),
    owner: fc.constantFrom(...NATIONS),
    marking: fc.option(markingArb, { freq: 15, nil: undefined }),
    granular: fc.option(fc.tuple(fc.constantFrom(...ANY_FIELDS), markingArb), { freq: 2, nil: undefined }),
    values: fc.option(valuesArb, { freq: 6, nil: undefined }),
  })
  .map(({ type, owner, marking, granular, values }) => ({
    type,
    owner,
    marking,
    ...(granular ? { fieldMarkings: { [granular[0]]: granular[1] } } : {}),
    ...(values ? { values } : {}),
  }));

/** A field of the object's type most of the time, else any field name (unknown for this type). */
const fieldFor = (object: ObjectFacts): fc.Arbitrary<string> =>
  fc.oneof(
    { weight: 10, arbitrary: fc.constantFrom(...(SCHEMA[object.type] ?? ANY_FIELDS)) },
    { weight: 1, arbitrary: fc.constantFrom(...ANY_FIELDS) },
    // A field with a granular marking, when there is one, so that combination is exercised often.
    { weight: 2, arbitrary: fc.constantFrom(...Object.keys(object.fieldMarkings ?? {}), ...(SCHEMA[object.type] ?? ANY_FIELDS).slice(0, 1)) },
  );

/** Any condition at all (often one that can never hold: contains on a scalar, equals on a list, an absent field)… */
type FieldValueCondition = NonNullable<NonNullable<NonNullable<Rule['when']>['object']>['fieldValues']>[number];
const anyFieldValueConditionArb = fc.tuple(fc.constantFrom(...VALUE_FIELDS), fc.nat(2)).chain(([field, op]): fc.Arbitrary<FieldValueCondition> => {
  const scalar = fc.oneof(fc.constantFrom(...OPERAND_STRINGS), fc.constantFrom(...OPERAND_NUMBERS));
  if (op === 0) return fc.record({ field: fc.constant(field), equals: fc.oneof(scalar, fc.boolean()) });
  if (op === 1) return fc.record({ field: fc.constant(field), in: fc.uniqueArray(scalar, { minLength: 1, maxLength: 3 }) });
  return fc.record({ field: fc.constant(field), contains: fc.constantFrom(...OPERAND_STRINGS) });
});
/** …or, more often, one that fits its field and holds for some objects and not for others. */
const fittingFieldValueConditionArb = fc.oneof(
  fc.record({ field: fc.constant('sector'), equals: fc.constantFrom('energy', 'finance', 'health') }),
  fc.record({ field: fc.constant('sector'), in: fc.subarray(['energy', 'finance', 'health'], { minLength: 1 }) }),
  fc.record({ field: fc.constant('indicatorTypes'), contains: fc.constantFrom('malicious-activity', 'anomalous-activity', 'attribution') }),
  fc.record({ field: fc.constant('severity'), equals: fc.constantFrom('low', 'high') }),
  fc.record({ field: fc.constant('confidence'), in: fc.subarray([10, 50, 90], { minLength: 1 }) }),
  fc.record({ field: fc.constant('confidence'), equals: fc.constantFrom(10, 50, 90) }),
  fc.record({ field: fc.constant('active'), equals: fc.boolean() }),
);
const fieldValueConditionArb = fc.oneof({ weight: 1, arbitrary: anyFieldValueConditionArb }, { weight: 3, arbitrary: fittingFieldValueConditionArb });

const whenArb = fc.record(
  {
    principal: sparse(
      {
        nations,
        notNations: nations,
        clearanceAtLeast: classification,
        clearanceBelow: classification,
        rolesAny: roles,
        rolesNone: roles,
        communitiesAny: communities,
        communitiesNone: communities,
      },
      2,
    ),
    object: sparse(
      {
        owners: nations,
        classificationAtLeast: classification,
        tlpAtLeast: tlp,
        caveatsAny: fc.subarray(['NOFORN', 'ORCON'], { minLength: 1 }),
        fieldValues: fc.array(fieldValueConditionArb, { minLength: 1, maxLength: 2 }),
      },
      2,
    ),
  },
  { requiredKeys: [] },
);

const ruleBodyArb = fc.record({
  match: fc.record({
    types: fc.oneof(fc.constant(['*']), fc.subarray([...TYPES, '*', 'Malware'], { minLength: 1 })),
    fields: fc.oneof({ weight: 2, arbitrary: fc.constant(['*']) }, { weight: 3, arbitrary: fc.subarray([...ANY_FIELDS, '*'], { minLength: 1, maxLength: 3 }) }),
  }),
  when: fc.option(whenArb, { freq: 3, nil: undefined }),
  effect: fc.constantFrom<Effect>('allow', 'allow', 'transform', 'redact', 'deny'),
  transform: fc.constantFrom(...TRANSFORMS),
});

const catchAllAllow = { match: { types: ['*'], fields: ['*'] }, when: undefined, effect: 'allow' as Effect, transform: TRANSFORMS[0] };

/** Random rules, often after a catch-all `allow` as the demo files have, anywhere in the list. */
const rulesArb = (maxLength: number, catchAll = 0) =>
  fc.tuple(fc.array(ruleBodyArb, { maxLength }), fc.nat(catchAll), fc.nat()).map(([random, withCatchAll, at]) => {
    const bodies = [...random];
    if (withCatchAll) bodies.splice(at % (bodies.length + 1), 0, catchAllAllow);
    return bodies.map(({ match, when, effect, transform }, i) => ({
      id: `r${i}`,
      description: `random rule ${i}`,
      match,
      ...(when ? { when } : {}),
      effect,
      ...(effect === 'transform' ? { transform } : {}),
    }));
  });

/** One file per owner nation for a random subset of nations, and sometimes the coalition's (which tries to allow too). */
const filesArb: fc.Arbitrary<RuleFile[]> = fc
  .record({
    owners: fc.subarray([...NATIONS], { minLength: 3 }),
    ownerRules: fc.array(rulesArb(5, 2), { minLength: NATIONS.length, maxLength: NATIONS.length }),
    coalition: fc.option(rulesArb(4), { freq: 4, nil: undefined }),
    coalitionAt: fc.nat(),
  })
  .map(({ owners, ownerRules, coalition, coalitionAt }) => {
    const files: unknown[] = owners.map((nation, i) => ({ nation, version: 1, rules: ownerRules[i] }));
    if (coalition) files.splice(coalitionAt % (files.length + 1), 0, { nation: 'COALITION', version: 1, rules: coalition });
    // Every generated file must be one a policy officer could have written.
    return files.map((f) => ruleFileSchema.parse(f));
  });

interface Query {
  /** Which of the three principals asks first (all three ask, in the same warm engine). */
  principal: number;
  copyPrincipal: boolean;
  object: ObjectFacts;
  field: string;
  /** A second field asked of the same objects, by the same principals. */
  otherField: string;
  /**
   * The same object with other field values, another granular marking on the asked field, another
   * object marking, another owner or another type: asked right after it in the same engine, it must not get its cached decision.
   */
  twin: ObjectFacts | undefined;
}

const twinOf = (object: ObjectFacts, field: string): fc.Arbitrary<ObjectFacts | undefined> =>
  fc.oneof(
    { weight: 1, arbitrary: fc.constant(undefined) },
    { weight: 3, arbitrary: valuesArb.map((values) => ({ ...object, values })) },
    { weight: 2, arbitrary: fc.option(markingArb, { nil: undefined }).map((m) => ({ ...object, fieldMarkings: m ? { ...object.fieldMarkings, [field]: m } : {} })) },
    { weight: 1, arbitrary: markingArb.map((marking) => ({ ...object, marking })) },
    { weight: 1, arbitrary: fc.constantFrom(...NATIONS).map((owner) => ({ ...object, owner })) },
    { weight: 1, arbitrary: fc.constantFrom(...TYPES).map((type) => ({ ...object, type })) },
  );

const queryArb: fc.Arbitrary<Query> = objectArb
  .chain((object) => fc.tuple(fc.constant(object), fieldFor(object)))
  .chain(([object, field]) =>
    fc.record({
      principal: fc.nat(2),
      copyPrincipal: fc.boolean(),
      object: fc.constant(object),
      field: fc.constant(field),
      otherField: fieldFor(object),
      twin: twinOf(object, field),
    }),
  );

/** Three principals: one, a near twin of it (one attribute changed), and another. */
const principalsArb: fc.Arbitrary<Principal[]> = fc.tuple(principalArb, principalArb, fc.constantFrom('nation', 'clearance', 'roles', 'communities'), principalArb).map(([one, other, changed, third]) => [
  one,
  { ...one, [changed]: other[changed as keyof Principal] },
  third,
]);

const scenarioArb = fc.record({
  files: filesArb,
  principals: principalsArb,
  queries: fc.array(queryArb, { minLength: 1, maxLength: 6 }),
});

// ---------------------------------------------------------------------------------------------
// The property.
// ---------------------------------------------------------------------------------------------

const tally = { visibility: { visible: 0, invisible: 0 }, cases: 0, effects: { allow: 0, transform: 0, redact: 0, deny: 0 } as Record<Effect, number>, reasons: new Map<string, number>() };

function engineFor(files: RuleFile[], cacheSize?: number): PolicyEngine {
  return createPolicyEngine({ files, communities: COMMUNITIES, schema: SCHEMA, ...(cacheSize ? { cacheSize } : {}) });
}

function kindOf(reason: string): string {
  if (reason.startsWith('marking:') || reason === 'unknown-field' || reason === 'no-rule') return reason;
  return reason.startsWith('COALITION/') ? 'coalition-rule' : 'owner-rule';
}

/** The engine's reason, in the reference's terms (unknown-field:T.f → unknown-field, no-rule:… → no-rule). */
function engineReason(decision: Decision): string {
  if (decision.reason.startsWith('unknown-field:')) return 'unknown-field';
  if (decision.reason.startsWith('no-rule:')) return 'no-rule';
  return decision.reason;
}

function expectAgrees(decision: Decision, expected: RefDecision, where: string): void {
  expect({ effect: decision.effect, transform: decision.transform, reason: engineReason(decision) }, where).toEqual({
    effect: expected.effect,
    transform: expected.transform,
    reason: expected.reason,
  });
}

describe('the policy engine agrees with a reference evaluator written from the spec', () => {
  afterAll(() => {
    const reasons = [...tally.reasons.entries()].sort((a, b) => b[1] - a[1]).map(([k, v]) => `${k} ${v}`);
    console.log(`policy differential: ${tally.cases} cases; visibility ${JSON.stringify(tally.visibility)}; effects ${JSON.stringify(tally.effects)}; reasons ${reasons.join(', ')}`);
  });

  it('on random principals × markings × rule sets × fields, cold, warm, through a tiny cache and in explain()', () => {
    fc.assert(
      fc.property(scenarioArb, ({ files, principals, queries }) => {
        const warm = engineFor(files);
        const tiny = engineFor(files, 2);
        for (const query of queries) {
          // Every principal asks, the query's own first; sometimes the very same principal object (its
          // key is memoised), sometimes an equal copy with its lists in another order.
          const askers = [...principals.slice(query.principal), ...principals.slice(0, query.principal)].map((shared) =>
            query.copyPrincipal ? { ...shared, roles: [...shared.roles].reverse(), communities: [...shared.communities].reverse() } : shared,
          );
          const objects = query.twin ? [query.object, query.twin] : [query.object];
          const asks = [query.field, query.otherField].flatMap((field) => objects.flatMap((object) => askers.map((principal) => ({ principal, object, field }))));
          for (const { principal, object, field } of asks) {
            const expected = refDecide(files, principal, object, field);
            const where = JSON.stringify({ principal, object, field });
            tally.cases++;
            tally.effects[expected.effect]++;
            tally.reasons.set(kindOf(expected.reason), (tally.reasons.get(kindOf(expected.reason)) ?? 0) + 1);

            const fresh = engineFor(files).decide(principal, object, field);
            expectAgrees(fresh, expected, `fresh engine: ${where}`);
            // The warm engine has seen the other queries (and the twin): its cache must not mix them up.
            expectAgrees(warm.decide(principal, object, field), expected, `warm engine, first call: ${where}`);
            expectAgrees(warm.decide(principal, object, field), expected, `warm engine, cached: ${where}`);
            expectAgrees(tiny.decide(principal, object, field), expected, `engine with a 2-entry cache: ${where}`);

            const explanation = warm.explain(principal, object, field);
            expect({ effect: explanation.effect, transform: explanation.transform, reason: explanation.reason }, `explain vs decide: ${where}`).toEqual({
              effect: fresh.effect,
              transform: fresh.transform,
              reason: fresh.reason,
            });
            if (expected.reason.startsWith('marking:') && expected.reason !== 'marking:none') {
              const failed = explanation.baseline?.checks.find((c) => !c.held);
              expect(failed?.check, `explain names the failed marking check: ${where}`).toBe(expected.reason.slice('marking:'.length));
            }
            if (expected.applying.length) {
              // Every rule that applies is listed, with its effect; the coalition's allow is marked ignored.
              expect(
                explanation.rules.map((r) => ({ rule: r.rule, effect: r.effect, ignored: r.ignored !== undefined })),
                `explain lists the rules: ${where}`,
              ).toEqual(expected.applying.map((a) => ({ rule: a.rule, effect: a.effect, ignored: a.rule.startsWith('COALITION/') && a.effect === 'allow' })));
            }
          }
        }
        // An object is visible exactly when its id is allowed (its own marking, no granular one); and
        // the condition the engine hands to storage says the same, object by object.
        for (const query of queries) {
          for (const principal of principals) {
            const { fieldMarkings: _granular, ...object } = query.object;
            const visible = refDecide(files, principal, object, 'id').effect === 'allow';
            expect(warm.objectVisible(principal, query.object)).toBe(visible);
            tally.visibility[visible ? 'visible' : 'invisible']++;
            if (object.marking) {
              const condition = warm.visibleWhen(principal, object.owner, object.type);
              expect(evaluateCondition(condition, object.marking, object.values), `visibleWhen: ${JSON.stringify({ principal, object })}`).toBe(visible);
              // A filter on a field's value matches only objects whose field is released as stored.
              const released = refDecide(files, principal, object, query.field).effect === 'allow';
              const releasedWhen = warm.releasedWhen(principal, object.owner, object.type, query.field);
              expect(evaluateCondition(releasedWhen, object.marking, object.values), `releasedWhen ${query.field}: ${JSON.stringify({ principal, object })}`).toBe(released);
            }
          }
        }
      }),
      { numRuns: 400 },
    );
    expect(tally.cases).toBeGreaterThanOrEqual(2000);
    // Not a vacuous pass: every effect and every way to decide shows up.
    for (const effect of ['allow', 'transform', 'redact', 'deny'] as const) expect(tally.effects[effect]).toBeGreaterThan(50);
    for (const kind of ['unknown-field', 'marking:none', 'marking:clearance', 'marking:tlp-red', 'marking:noforn', 'marking:releasability', 'no-rule', 'owner-rule', 'coalition-rule']) {
      expect(tally.reasons.get(kind) ?? 0, kind).toBeGreaterThan(10);
    }
  }, 120_000);

  it('the coalition can only restrict: adding a coalition file never releases more', () => {
    fc.assert(
      fc.property(filesArb, rulesArb(4), principalArb, objectArb.chain((o) => fc.tuple(fc.constant(o), fieldFor(o))), (files, coalitionRules, principal, [object, field]) => {
        const owners = files.filter((f) => f.nation !== 'COALITION');
        const withCoalition = [...owners, ruleFileSchema.parse({ nation: 'COALITION', version: 1, rules: coalitionRules })];
        const without = engineFor(owners).decide(principal, object, field);
        const withIt = engineFor(withCoalition).decide(principal, object, field);
        expect(EFFECT_STRICTNESS[withIt.effect]).toBeGreaterThanOrEqual(EFFECT_STRICTNESS[without.effect]);
      }),
      { numRuns: 500 },
    );
  }, 60_000);
});
