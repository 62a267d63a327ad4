/**
 * The policy engine: the marking baseline, then the owner nation's rules, then the coalition's;
 * the most restrictive effect wins and the coalition can only restrict. No marking, no matching
 * rule, an unknown type or field, an error while deciding: deny.
 *
 * Rules are compiled once into per-(type, field) candidate lists; decisions are cached per attribute
 * tuple (principal class, owner, marking, type, field, and only those field values some candidate
 * rule looks at), so a warm decision costs a string key and a map lookup.
 */
import { checkBaseline, type BaselineResult } from './baseline';
import {
  allOf,
  anyOf,
  classificationsAtLeast,
  classificationsAtMost,
  fieldValueHolds,
  NEVER,
  not,
  tlpsAtLeast,
  type ObjectCondition,
} from './conditions';
import { CLASSIFICATIONS, classificationRank, combineMarkings, isClassification, isTlp, TLP_LEVELS, tlpRank, type Marking } from './markings';
import type { Principal } from './principal';
import { restrictiveness, type Effect, type Rule, type RuleFile } from './rule-schema';
import type { TransformName } from './transforms';

export interface ObjectFacts {
  /** GraphQL type name, e.g. Indicator. */
  type: string;
  owner: string;
  /** The object's marking; undefined means unmarked, which is denied. */
  marking: Marking | undefined;
  /** Granular markings per field: each can only add restriction to the object's marking. */
  fieldMarkings?: Readonly<Record<string, Marking>>;
  /** Field values, for rules with `fieldValues` conditions. */
  values?: Readonly<Record<string, unknown>>;
}

export interface Decision {
  effect: Effect;
  transform?: TransformName;
  /** Why: the deciding rule id (`FRA/no-sources`), or the marking check that failed (`marking:clearance`). */
  reason: string;
}

export interface Explanation extends Decision {
  baseline: BaselineResult | undefined;
  /** Every rule that matched, with its file and effect; `ignored` when the coalition tried to release. */
  rules: Array<{ rule: string; effect: Effect; ignored?: string }>;
}

export interface PolicyEngineOptions {
  files: RuleFile[];
  /** Coalition communities and their member nations; default: those the coalition's rule file lists. */
  communities?: Record<string, readonly string[]>;
  /** Every type and its fields, from the contract: anything else is denied. */
  schema: Record<string, readonly string[]>;
  /** Bound on the decision cache (entries); it is cleared when full. */
  cacheSize?: number;
}

export interface PolicyEngine {
  decide(principal: Principal, object: ObjectFacts, field: string): Decision;
  explain(principal: Principal, object: ObjectFacts, field: string): Explanation;
  /**
   * May the principal know the object exists at all? Exactly when its `id` is allowed: the baseline
   * on the object's own marking, an owner rule releasing it, and no rule restricting it.
   */
  objectVisible(principal: Principal, object: ObjectFacts): boolean;
  /**
   * `objectVisible` for every object of one owner and type, as a condition on marking and field
   * values: storage compiles it to its query language and never reads an invisible object.
   */
  visibleWhen(principal: Principal, owner: string, type: string): ObjectCondition;
  /**
   * When one field of every object of one owner and type is released to the principal as it is
   * (allow: not redacted, generalised or withheld), on the object's own marking: a filter on that
   * field's value may match only such objects, or it would answer for a value the caller may not
   * see. A granular marking of the field is not in it: storage must leave marked fields out itself.
   */
  releasedWhen(principal: Principal, owner: string, type: string, field: string): ObjectCondition;
  /** The marking baseline alone, as a condition: for objects no rule speaks of (places, victims). */
  baselineWhen(principal: Principal, owner: string): ObjectCondition;
  /** The fields of a type whose values some rule's conditions look at (any owner's, or the coalition's). */
  fieldsLookedAt(type: string): readonly string[];
  /** The coalition's communities and their members, as the engine applies them. */
  readonly communities: Readonly<Record<string, readonly string[]>>;
  /** The versions in force, per file. */
  readonly versions: Record<string, number>;
  readonly stats: { decisions: number; cacheHits: number };
}

const COALITION = 'COALITION';
/** The field whose decision is the object's visibility. */
const ID = 'id';

interface CompiledFile {
  name: string;
  rules: Rule[];
  candidates: Map<string, Rule[]>;
}

export function createPolicyEngine(options: PolicyEngineOptions): PolicyEngine {
  const owners = new Map<string, CompiledFile>();
  let coalition: CompiledFile | undefined;
  for (const file of options.files) {
    const compiled: CompiledFile = { name: file.nation, rules: file.rules, candidates: new Map() };
    if (file.nation === COALITION) coalition = compiled;
    else owners.set(file.nation, compiled);
  }
  const communities = options.communities ?? options.files.find((f) => f.nation === COALITION)?.communities ?? {};
  const knownFields = new Map(Object.entries(options.schema).map(([type, fields]) => [type, new Set(fields)]));
  const cache = new Map<string, Decision>();
  const cacheSize = options.cacheSize ?? 100_000;
  const principalKeys = new WeakMap<Principal, string>();
  // Facts are not changed once decided on (callers build one per object): the object's part of
  // the key is built once, and deciding its next field costs a concatenation and a lookup.
  const objectKeys = new WeakMap<ObjectFacts, string>();
  const stats = { decisions: 0, cacheHits: 0 };

  function explain(principal: Principal, object: ObjectFacts, field: string): Explanation {
    if (!knownFields.get(object.type)?.has(field)) {
      return { effect: 'deny', reason: `unknown-field:${object.type}.${field}`, baseline: undefined, rules: [] };
    }
    if (!object.marking) return { effect: 'deny', reason: 'marking:none', baseline: undefined, rules: [] };
    const fieldMarking = object.fieldMarkings?.[field];
    if (!wellFormed(object.marking) || (fieldMarking && !wellFormed(fieldMarking)) || !isClassification(principal.clearance)) {
      return { effect: 'deny', reason: 'marking:unknown-level', baseline: undefined, rules: [] };
    }
    const marking = fieldMarking ? combineMarkings(object.marking, fieldMarking) : object.marking;
    const baseline = checkBaseline(principal, object.owner, marking, communities);
    if (!baseline.passed) {
      const failed = baseline.checks.find((c) => !c.held)!;
      return { effect: 'deny', reason: `marking:${failed.check}`, baseline, rules: [] };
    }
    const ownerFile = owners.get(object.owner);
    const matched: Explanation['rules'] = [];
    let decision: Decision | undefined;
    for (const rule of matching(ownerFile, principal, object, marking, field)) {
      matched.push({ rule: `${object.owner}/${rule.id}`, effect: rule.effect });
      decision = moreRestrictive(decision, ruleDecision(`${object.owner}/${rule.id}`, rule));
    }
    if (!decision) return { effect: 'deny', reason: `no-rule:${object.owner} has no rule releasing ${object.type}.${field}`, baseline, rules: matched };
    for (const rule of matching(coalition, principal, object, marking, field)) {
      const id = `${COALITION}/${rule.id}`;
      if (rule.effect === 'allow') {
        matched.push({ rule: id, effect: rule.effect, ignored: 'the coalition may only restrict' });
        continue;
      }
      matched.push({ rule: id, effect: rule.effect });
      decision = moreRestrictive(decision, ruleDecision(id, rule));
    }
    return { ...decision, baseline, rules: matched };
  }

  function matching(file: CompiledFile | undefined, principal: Principal, object: ObjectFacts, marking: Marking, field: string): Rule[] {
    if (!file) return [];
    return candidatesOf(file, object.type, field).filter((rule) => holds(rule, principal, object, marking));
  }

  // The common case — no granular marking on the field, no field value a rule compares — is looked
  // up through nested maps keyed by the principal's and the object's memoised keys and the field
  // name: no string is built per decision. Anything else takes the full string key below.
  const plain = new Map<string, Map<string, Map<string, Decision>>>();
  let plainSize = 0;
  // Where a facts object's plain decisions live, for the principal that last asked about it: the
  // next field of the same object costs two map lookups, not a walk through the nested keys.
  const plainOf = new WeakMap<ObjectFacts, { principal: Principal; byField: Map<string, Decision>; valueNames: Map<string, string[]> }>();

  function decide(principal: Principal, object: ObjectFacts, field: string): Decision {
    stats.decisions++;
    let memo = plainOf.get(object);
    if (memo?.principal !== principal) {
      try {
        memo = { principal, byField: plainDecisionsOf(principal, object), valueNames: valueNamesOf(object.owner, object.type) };
      } catch {
        return { effect: 'deny', reason: 'error:undecidable' };
      }
      plainOf.set(object, memo);
    }
    if (object.fieldMarkings?.[field] === undefined && (memo.valueNames.get(field) ?? valuesLookedAt(object.owner, object.type, field)).length === 0) {
      const hit = memo.byField.get(field);
      if (hit) {
        stats.cacheHits++;
        return hit;
      }
      const decision = decideUncached(principal, object, field);
      if (plainSize >= cacheSize) {
        plain.clear();
        plainSize = 0;
      }
      memo.byField.set(field, decision);
      plainSize++;
      return decision;
    }
    let key: string;
    try {
      key = cacheKey(principal, object, field);
    } catch {
      return { effect: 'deny', reason: 'error:undecidable' };
    }
    const hit = cache.get(key);
    if (hit) {
      stats.cacheHits++;
      return hit;
    }
    const decision = decideUncached(principal, object, field);
    if (cache.size >= cacheSize) cache.clear();
    cache.set(key, decision);
    return decision;
  }

  /** The plain decisions of one principal class about one object class (owner, type, marking). */
  function plainDecisionsOf(principal: Principal, object: ObjectFacts): Map<string, Decision> {
    const pk = principalKeyOf(principal);
    let byObject = plain.get(pk);
    if (!byObject) plain.set(pk, (byObject = new Map()));
    const ok = objectKeyOf(object);
    let byField = byObject.get(ok);
    if (!byField) byObject.set(ok, (byField = new Map()));
    return byField;
  }

  function decideUncached(principal: Principal, object: ObjectFacts, field: string): Decision {
    try {
      const { effect, transform, reason } = explain(principal, object, field);
      return transform ? { effect, transform, reason } : { effect, reason };
    } catch (error) {
      return { effect: 'deny', reason: `error:${(error as Error).message}` };
    }
  }

  function principalKeyOf(principal: Principal): string {
    let pk = principalKeys.get(principal);
    if (pk === undefined) {
      pk = [principal.nation, principal.clearance, [...principal.roles].sort().join(','), [...principal.communities].sort().join(',')].join('|');
      principalKeys.set(principal, pk);
    }
    return pk;
  }

  function objectKeyOf(object: ObjectFacts): string {
    let ok = objectKeys.get(object);
    if (ok === undefined) {
      ok = `${object.owner}\u0001${object.type}\u0001${markingKey(object.marking)}`;
      objectKeys.set(object, ok);
    }
    return ok;
  }

  function cacheKey(principal: Principal, object: ObjectFacts, field: string): string {
    const pk = principalKeyOf(principal);
    const ok = objectKeyOf(object);
    const fieldMarking = object.fieldMarkings?.[field];
    let key = `${pk}\u0001${ok}\u0001${field}\u0001${fieldMarking ? markingKey(fieldMarking) : ''}`;
    for (const name of valuesLookedAt(object.owner, object.type, field)) key += `\u0001${JSON.stringify(object.values?.[name] ?? null)}`;
    return key;
  }

  // owner → type → field → names: nested maps, so the hot path builds no string to look it up.
  const valuesLookedAtMemo = new Map<string, Map<string, Map<string, string[]>>>();
  function valueNamesOf(owner: string, type: string): Map<string, string[]> {
    let byType = valuesLookedAtMemo.get(owner);
    if (!byType) valuesLookedAtMemo.set(owner, (byType = new Map()));
    let byField = byType.get(type);
    if (!byField) byType.set(type, (byField = new Map()));
    return byField;
  }
  function valuesLookedAt(owner: string, type: string, field: string): string[] {
    const byField = valueNamesOf(owner, type);
    let names = byField.get(field);
    if (!names) {
      const rules = [...candidatesOf(owners.get(owner), type, field), ...candidatesOf(coalition, type, field)];
      names = [...new Set(rules.flatMap((r) => r.when?.object?.fieldValues?.map((c) => c.field) ?? []))].sort();
      byField.set(field, names);
    }
    return names;
  }

  // Conditions depend on the principal's attributes, the owner and the type only: built once each.
  const conditions = new Map<string, ObjectCondition>();
  function memoCondition(principal: Principal, owner: string, type: string, build: () => ObjectCondition): ObjectCondition {
    let key: string;
    try {
      key = `${principalKeyOf(principal)}\u0001${owner}\u0001${type}`;
    } catch {
      return NEVER;
    }
    let condition = conditions.get(key);
    if (!condition) {
      if (conditions.size >= cacheSize) conditions.clear();
      conditions.set(key, (condition = build()));
    }
    return condition;
  }

  function visibleWhen(principal: Principal, owner: string, type: string): ObjectCondition {
    return memoCondition(principal, owner, type, () => buildReleasedWhen(principal, owner, type, ID));
  }

  function releasedWhen(principal: Principal, owner: string, type: string, field: string): ObjectCondition {
    if (field === ID) return visibleWhen(principal, owner, type);
    return memoCondition(principal, owner, `${type}.${field}`, () => buildReleasedWhen(principal, owner, type, field));
  }

  /** Baseline, an owner rule allowing the field, and no rule restricting it (redact and transform included). */
  function buildReleasedWhen(principal: Principal, owner: string, type: string, field: string): ObjectCondition {
    if (!knownFields.get(type)?.has(field) || !isClassification(principal.clearance)) return NEVER;
    const ownerRules = candidatesOf(owners.get(owner), type, field).filter((rule) => principalHolds(rule, principal));
    const coalitionRules = candidatesOf(coalition, type, field).filter((rule) => rule.effect !== 'allow' && principalHolds(rule, principal));
    const released = anyOf(ownerRules.filter((r) => r.effect === 'allow').map((r) => objectConditionOf(r, owner)));
    const restricted = anyOf([...ownerRules.filter((r) => r.effect !== 'allow'), ...coalitionRules].map((r) => objectConditionOf(r, owner)));
    return allOf([baselineCondition(principal, owner, communities), released, not(restricted)]);
  }

  const fieldsLookedAtMemo = new Map<string, string[]>();
  function fieldsLookedAt(type: string): string[] {
    let names = fieldsLookedAtMemo.get(type);
    if (!names) {
      const files = [...owners.values(), ...(coalition ? [coalition] : [])];
      const rules = files.flatMap((file) => file.rules.filter((r) => r.match.types.includes('*') || r.match.types.includes(type)));
      names = [...new Set(rules.flatMap((r) => r.when?.object?.fieldValues?.map((c) => c.field) ?? []))].sort();
      fieldsLookedAtMemo.set(type, names);
    }
    return names;
  }

  return {
    decide,
    explain,
    // Visibility is the object's own marking: a granular marking of its id (should one come) does not count.
    objectVisible: (principal, object) => decide(principal, object.fieldMarkings?.[ID] ? { ...object, fieldMarkings: undefined } : object, ID).effect === 'allow',
    visibleWhen,
    releasedWhen,
    baselineWhen: (principal, owner) => memoCondition(principal, owner, '', () => (isClassification(principal.clearance) ? baselineCondition(principal, owner, communities) : NEVER)),
    fieldsLookedAt,
    communities,
    versions: Object.fromEntries(options.files.map((f) => [f.nation, f.version])),
    stats,
  };
}

/** A level the vocabulary does not know cannot be compared: such a marking decides nothing but deny. */
function wellFormed(marking: Marking): boolean {
  return isClassification(marking.classification) && isTlp(marking.tlp) && Array.isArray(marking.releasableTo) && Array.isArray(marking.caveats);
}

function candidatesOf(file: CompiledFile | undefined, type: string, field: string): Rule[] {
  if (!file) return [];
  const key = `${type}.${field}`;
  let rules = file.candidates.get(key);
  if (!rules) {
    rules = file.rules.filter((r) => (r.match.types.includes('*') || r.match.types.includes(type)) && (r.match.fields.includes('*') || r.match.fields.includes(field)));
    file.candidates.set(key, rules);
  }
  return rules;
}

function holds(rule: Rule, principal: Principal, object: ObjectFacts, marking: Marking): boolean {
  return principalHolds(rule, principal) && objectHolds(rule, object, marking);
}

function principalHolds(rule: Rule, principal: Principal): boolean {
  const p = rule.when?.principal;
  if (!p) return true;
  if (p.nations && !p.nations.includes(principal.nation)) return false;
  if (p.notNations && p.notNations.includes(principal.nation)) return false;
  if (p.clearanceAtLeast && classificationRank(principal.clearance) < classificationRank(p.clearanceAtLeast)) return false;
  if (p.clearanceBelow && classificationRank(principal.clearance) >= classificationRank(p.clearanceBelow)) return false;
  if (p.rolesAny && !p.rolesAny.some((r) => principal.roles.includes(r))) return false;
  if (p.rolesNone && p.rolesNone.some((r) => principal.roles.includes(r))) return false;
  if (p.communitiesAny && !p.communitiesAny.some((c) => principal.communities.includes(c))) return false;
  if (p.communitiesNone && p.communitiesNone.some((c) => principal.communities.includes(c))) return false;
  return true;
}

function objectHolds(rule: Rule, object: ObjectFacts, marking: Marking): boolean {
  const o = rule.when?.object;
  if (!o) return true;
  if (o.owners && !o.owners.includes(object.owner)) return false;
  if (o.classificationAtLeast && classificationRank(marking.classification) < classificationRank(o.classificationAtLeast)) return false;
  if (o.tlpAtLeast && tlpRank(marking.tlp) < tlpRank(o.tlpAtLeast)) return false;
  if (o.caveatsAny && !o.caveatsAny.some((c) => marking.caveats.includes(c))) return false;
  if (o.fieldValues && !o.fieldValues.every((c) => fieldValueHolds(c, object.values?.[c.field]))) return false;
  return true;
}

/** A rule's object conditions as data (the same tests as `objectHolds`), for an object of `owner`. */
function objectConditionOf(rule: Rule, owner: string): ObjectCondition {
  const o = rule.when?.object;
  if (!o) return allOf([]);
  if (o.owners && !o.owners.includes(owner)) return NEVER;
  return allOf([
    ...(o.classificationAtLeast ? [{ kind: 'classification-in', levels: classificationsAtLeast(CLASSIFICATIONS, o.classificationAtLeast) } as const] : []),
    ...(o.tlpAtLeast ? [{ kind: 'tlp-in', levels: tlpsAtLeast(TLP_LEVELS, o.tlpAtLeast) } as const] : []),
    ...(o.caveatsAny ? [{ kind: 'caveats-any', caveats: o.caveatsAny } as const] : []),
    ...(o.fieldValues ?? []).map((condition) => ({ kind: 'field-value', condition }) as const),
  ]);
}

/** The marking baseline (see baseline.ts) as a condition, for one principal and owner. */
function baselineCondition(principal: Principal, owner: string, communities: Record<string, readonly string[]>): ObjectCondition {
  const cleared: ObjectCondition = { kind: 'classification-in', levels: classificationsAtMost(CLASSIFICATIONS, principal.clearance) };
  if (principal.nation === owner) return allOf([cleared, { kind: 'tlp-in', levels: [...TLP_LEVELS] }]);
  const viaCommunity = principal.communities.filter((c) => communities[c]?.includes(principal.nation));
  return allOf([
    cleared,
    { kind: 'tlp-in', levels: TLP_LEVELS.filter((l) => l !== 'RED') },
    not({ kind: 'caveats-any', caveats: ['NOFORN'] }),
    anyOf([
      { kind: 'releasable-to-any', names: [principal.nation] },
      viaCommunity.length
        ? allOf([{ kind: 'tlp-in', levels: TLP_LEVELS.filter((l) => l !== 'RED' && l !== 'AMBER_STRICT') }, { kind: 'releasable-to-any', names: viaCommunity }])
        : NEVER,
    ]),
  ]);
}

function ruleDecision(id: string, rule: Rule): Decision {
  return rule.transform ? { effect: rule.effect, transform: rule.transform, reason: id } : { effect: rule.effect, reason: id };
}

function moreRestrictive(current: Decision | undefined, next: Decision): Decision {
  if (!current) return next;
  return restrictiveness(next.effect) > restrictiveness(current.effect) ? next : current;
}

function markingKey(marking: Marking | undefined): string {
  if (!marking) return '-';
  return `${marking.classification}/${marking.tlp}/${marking.releasableTo.join(',')}/${marking.caveats.join(',')}`;
}
