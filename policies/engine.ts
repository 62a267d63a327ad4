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
import { classificationRank, combineMarkings, isClassification, isTlp, tlpRank, type Marking } from './markings';
import type { Principal } from './principal';
import { restrictiveness, type Effect, type FieldValueCondition, type Rule, type RuleFile } from './rule-schema';
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
  /** Coalition communities and their member nations. */
  communities: Record<string, readonly string[]>;
  /** Every type and its fields, from the contract: anything else is denied. */
  schema: Record<string, readonly string[]>;
  /** Bound on the decision cache (entries); it is cleared when full. */
  cacheSize?: number;
}

export interface PolicyEngine {
  decide(principal: Principal, object: ObjectFacts, field: string): Decision;
  explain(principal: Principal, object: ObjectFacts, field: string): Explanation;
  /** May the principal know the object exists at all? The baseline on its object marking. */
  objectVisible(principal: Principal, object: Pick<ObjectFacts, 'owner' | 'marking'>): boolean;
  /** The versions in force, per file. */
  readonly versions: Record<string, number>;
  readonly stats: { decisions: number; cacheHits: number };
}

const COALITION = 'COALITION';

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
  const knownFields = new Map(Object.entries(options.schema).map(([type, fields]) => [type, new Set(fields)]));
  const cache = new Map<string, Decision>();
  const cacheSize = options.cacheSize ?? 100_000;
  const principalKeys = new WeakMap<Principal, string>();
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
    const baseline = checkBaseline(principal, object.owner, marking, options.communities);
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

  function decide(principal: Principal, object: ObjectFacts, field: string): Decision {
    stats.decisions++;
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
    let decision: Decision;
    try {
      const { effect, transform, reason } = explain(principal, object, field);
      decision = transform ? { effect, transform, reason } : { effect, reason };
    } catch (error) {
      decision = { effect: 'deny', reason: `error:${(error as Error).message}` };
    }
    if (cache.size >= cacheSize) cache.clear();
    cache.set(key, decision);
    return decision;
  }

  function cacheKey(principal: Principal, object: ObjectFacts, field: string): string {
    let pk = principalKeys.get(principal);
    if (pk === undefined) {
      pk = [principal.nation, principal.clearance, [...principal.roles].sort().join(','), [...principal.communities].sort().join(',')].join('|');
      principalKeys.set(principal, pk);
    }
    const fieldMarking = object.fieldMarkings?.[field];
    let key = `${pk}\u0001${object.owner}\u0001${object.type}\u0001${field}\u0001${markingKey(object.marking)}\u0001${fieldMarking ? markingKey(fieldMarking) : ''}`;
    for (const name of valuesLookedAt(object.owner, object.type, field)) key += `\u0001${JSON.stringify(object.values?.[name] ?? null)}`;
    return key;
  }

  const valuesLookedAtMemo = new Map<string, string[]>();
  function valuesLookedAt(owner: string, type: string, field: string): string[] {
    const memoKey = `${owner}\u0001${type}\u0001${field}`;
    let names = valuesLookedAtMemo.get(memoKey);
    if (!names) {
      const rules = [...candidatesOf(owners.get(owner), type, field), ...candidatesOf(coalition, type, field)];
      names = [...new Set(rules.flatMap((r) => r.when?.object?.fieldValues?.map((c) => c.field) ?? []))].sort();
      valuesLookedAtMemo.set(memoKey, names);
    }
    return names;
  }

  return {
    decide,
    explain,
    objectVisible: (principal, object) =>
      object.marking !== undefined && wellFormed(object.marking) && isClassification(principal.clearance) && checkBaseline(principal, object.owner, object.marking, options.communities).passed,
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
  const p = rule.when?.principal;
  if (p) {
    if (p.nations && !p.nations.includes(principal.nation)) return false;
    if (p.notNations && p.notNations.includes(principal.nation)) return false;
    if (p.clearanceAtLeast && classificationRank(principal.clearance) < classificationRank(p.clearanceAtLeast)) return false;
    if (p.clearanceBelow && classificationRank(principal.clearance) >= classificationRank(p.clearanceBelow)) return false;
    if (p.rolesAny && !p.rolesAny.some((r) => principal.roles.includes(r))) return false;
    if (p.rolesNone && p.rolesNone.some((r) => principal.roles.includes(r))) return false;
    if (p.communitiesAny && !p.communitiesAny.some((c) => principal.communities.includes(c))) return false;
    if (p.communitiesNone && p.communitiesNone.some((c) => principal.communities.includes(c))) return false;
  }
  const o = rule.when?.object;
  if (o) {
    if (o.owners && !o.owners.includes(object.owner)) return false;
    if (o.classificationAtLeast && classificationRank(marking.classification) < classificationRank(o.classificationAtLeast)) return false;
    if (o.tlpAtLeast && tlpRank(marking.tlp) < tlpRank(o.tlpAtLeast)) return false;
    if (o.caveatsAny && !o.caveatsAny.some((c) => marking.caveats.includes(c))) return false;
    if (o.fieldValues && !o.fieldValues.every((c) => valueHolds(c, object.values?.[c.field]))) return false;
  }
  return true;
}

function valueHolds(condition: FieldValueCondition, value: unknown): boolean {
  if (condition.equals !== undefined) return value === condition.equals;
  if (condition.in !== undefined) return condition.in.includes(value as string | number);
  if (condition.contains !== undefined) return Array.isArray(value) && value.includes(condition.contains);
  return false;
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
