/**
 * What the policy officers' command line tells them about rule files before they sign them: lint
 * warnings (rules that can never match, rules that can never decide) and the decisions that change
 * between two versions of a file. Pure functions over parsed rule files and the contract's types:
 * no Apollo, no database.
 */
import { LineCounter, parseDocument, isMap, isSeq, type Node } from 'yaml';
import { createPolicyEngine, type Decision } from './engine';
import { CLASSIFICATIONS, classificationRank, TLP_LEVELS, tlpRank, type Classification, type Marking } from './markings';
import type { Principal } from './principal';
import { restrictiveness, type FieldValueCondition, type Rule, type RuleFile } from './rule-schema';

const COALITION = 'COALITION';

export interface LintWarning {
  file: string;
  line: number;
  rule: string;
  message: string;
}

export function formatWarning(w: LintWarning): string {
  return `${w.file}:${w.line} (rule ${w.rule}): warning: ${w.message}`;
}

/** Each rule's line in the YAML text (by index in `rules`), 1 when it cannot be found. */
export function ruleLines(text: string): number[] {
  const counter = new LineCounter();
  const doc = parseDocument(text, { lineCounter: counter });
  const rules = isMap(doc.contents) ? (doc.contents.get('rules', true) as Node | undefined) : undefined;
  if (!isSeq(rules)) return [];
  return rules.items.map((item) => {
    const node = item as Node;
    return node?.range ? counter.linePos(node.range[0]).line : 1;
  });
}

/**
 * Warnings on a valid rule file: a rule that can never match (a type or field the contract does not
 * have, contradicting conditions, an owner that is not the file's nation), and a rule that another
 * rule of the same file always overrides (it matches whenever this one does and is more restrictive:
 * this one never decides anything). Only certain cases are flagged.
 */
export function lintRuleFile(file: RuleFile, text: string, fileName: string, schema: Record<string, readonly string[]>): LintWarning[] {
  const lines = ruleLines(text);
  const warnings: LintWarning[] = [];
  file.rules.forEach((rule, index) => {
    const warn = (message: string) => warnings.push({ file: fileName, line: lines[index] ?? 1, rule: rule.id, message });
    const never = neverMatches(rule, file, schema);
    for (const reason of never.reasons) warn(never.never ? `can never match: ${reason}` : reason);
    if (never.never) return;
    file.rules.forEach((other, otherIndex) => {
      if (otherIndex === index || neverMatches(other, file, schema).never) return;
      if (restrictiveness(other.effect) <= restrictiveness(rule.effect)) return;
      if (file.nation === COALITION && other.effect === 'allow') return;
      if (covers(other, rule, file)) {
        warn(`never decides anything: rule ${other.id} (line ${lines[otherIndex] ?? 1}) matches whenever it does and its effect "${other.effect}" is more restrictive than "${rule.effect}"`);
      }
    });
  });
  return warnings.sort((a, b) => a.line - b.line);
}

function neverMatches(rule: Rule, file: RuleFile, schema: Record<string, readonly string[]>): { never: boolean; reasons: string[] } {
  const reasons: string[] = [];
  let never = false;
  const knownTypes = Object.keys(schema);
  const types = rule.match.types.includes('*') ? knownTypes : rule.match.types.filter((t) => t in schema);
  const unknownTypes = rule.match.types.filter((t) => t !== '*' && !(t in schema));
  if (unknownTypes.length) {
    if (!types.length) never = true;
    reasons.push(`the contract has no type ${unknownTypes.join(', ')}`);
  }
  if (types.length && !rule.match.fields.includes('*')) {
    const unknownFields = rule.match.fields.filter((f) => !types.some((t) => schema[t]!.includes(f)));
    if (unknownFields.length) {
      if (unknownFields.length === rule.match.fields.length) never = true;
      reasons.push(`no matched type (${rule.match.types.includes('*') ? 'any' : types.join(', ')}) has field ${unknownFields.join(', ')}`);
    }
  }
  const p = rule.when?.principal;
  if (p) {
    if (p.nations && p.notNations && p.nations.every((n) => p.notNations!.includes(n))) {
      never = true;
      reasons.push(`nations ${p.nations.join(', ')} are all excluded by notNations`);
    }
    if (p.clearanceBelow === 'UNCLASSIFIED') {
      never = true;
      reasons.push('no clearance is below UNCLASSIFIED');
    }
    if (p.clearanceAtLeast && p.clearanceBelow && classificationRank(p.clearanceAtLeast) >= classificationRank(p.clearanceBelow)) {
      never = true;
      reasons.push(`clearanceAtLeast ${p.clearanceAtLeast} and clearanceBelow ${p.clearanceBelow} contradict`);
    }
    if (p.rolesAny && p.rolesNone && p.rolesAny.every((r) => p.rolesNone!.includes(r))) {
      never = true;
      reasons.push(`roles ${p.rolesAny.join(', ')} are all excluded by rolesNone`);
    }
    if (p.communitiesAny && p.communitiesNone && p.communitiesAny.every((c) => p.communitiesNone!.includes(c))) {
      never = true;
      reasons.push(`communities ${p.communitiesAny.join(', ')} are all excluded by communitiesNone`);
    }
  }
  const o = rule.when?.object;
  if (o?.owners && file.nation !== COALITION && !o.owners.includes(file.nation)) {
    never = true;
    reasons.push(`${file.nation}'s rules only decide on objects ${file.nation} owns, and owners names ${o.owners.join(', ')}`);
  }
  for (const [i, a] of (o?.fieldValues ?? []).entries()) {
    for (const b of (o?.fieldValues ?? []).slice(i + 1)) {
      if (a.field === b.field && a.equals !== undefined && b.equals !== undefined && a.equals !== b.equals) {
        never = true;
        reasons.push(`field ${a.field} cannot equal both ${JSON.stringify(a.equals)} and ${JSON.stringify(b.equals)}`);
      }
    }
  }
  return { never, reasons };
}

/** Does `wide` match (type, field, principal, object) whenever `narrow` does? Sound, not complete. */
export function covers(wide: Rule, narrow: Rule, file: RuleFile): boolean {
  const listCovers = (w: string[], n: string[]) => w.includes('*') || (!n.includes('*') && n.every((x) => w.includes(x)));
  if (!listCovers(wide.match.types, narrow.match.types) || !listCovers(wide.match.fields, narrow.match.fields)) return false;
  const wp = wide.when?.principal ?? {};
  const np = narrow.when?.principal ?? {};
  const subset = (w: string[] | undefined, n: string[] | undefined) => w === undefined || (n !== undefined && n.every((x) => w.includes(x)));
  const superset = (w: string[] | undefined, n: string[] | undefined) => w === undefined || (n !== undefined && w.every((x) => n.includes(x)));
  if (!subset(wp.nations, np.nations)) return false;
  if (!(superset(wp.notNations, np.notNations) || (np.nations !== undefined && np.nations.every((n) => !wp.notNations!.includes(n))))) return false;
  if (wp.clearanceAtLeast && !(np.clearanceAtLeast && classificationRank(np.clearanceAtLeast) >= classificationRank(wp.clearanceAtLeast))) return false;
  if (wp.clearanceBelow && !(np.clearanceBelow && classificationRank(np.clearanceBelow) <= classificationRank(wp.clearanceBelow))) return false;
  if (!subset(wp.rolesAny, np.rolesAny) || !superset(wp.rolesNone, np.rolesNone)) return false;
  if (!subset(wp.communitiesAny, np.communitiesAny) || !superset(wp.communitiesNone, np.communitiesNone)) return false;
  const wo = wide.when?.object ?? {};
  const no = narrow.when?.object ?? {};
  if (wo.owners && !(subset(wo.owners, no.owners) || (file.nation !== COALITION && wo.owners.includes(file.nation)))) return false;
  if (wo.classificationAtLeast && !(no.classificationAtLeast && classificationRank(no.classificationAtLeast) >= classificationRank(wo.classificationAtLeast))) return false;
  if (wo.tlpAtLeast && !(no.tlpAtLeast && tlpRank(no.tlpAtLeast) >= tlpRank(wo.tlpAtLeast))) return false;
  if (!subset(wo.caveatsAny, no.caveatsAny)) return false;
  if (wo.fieldValues && !wo.fieldValues.every((c) => (no.fieldValues ?? []).some((d) => sameCondition(c, d)))) return false;
  return true;
}

function sameCondition(a: FieldValueCondition, b: FieldValueCondition): boolean {
  return JSON.stringify([a.field, a.equals, a.in, a.contains]) === JSON.stringify([b.field, b.equals, b.in, b.contains]);
}

// ---------------------------------------------------------------------------------------------------
// diff

export const DEMO_NATIONS = ['USA', 'GBR', 'FRA', 'DEU', 'EST'] as const;

export interface DiffOptions {
  /** The other rule files in force beside the one compared (the coalition's, other nations'). */
  context: RuleFile[];
  schema: Record<string, readonly string[]>;
  /** The nations principals come from (default: the demo nations). */
  nations?: readonly string[];
}

export interface DecisionChange {
  type: string;
  field: string;
  /** e.g. `USA SECRET analyst [NATO,FVEY]`. */
  principal: string;
  /** The objects it changes for, e.g. `FRA NATO GREEN UNCLASSIFIED`. */
  objects: string[];
  before: Decision;
  after: Decision;
}

/**
 * Every decision that differs between two versions of one file, over a grid of principal classes
 * (each nation with the communities the coalition confirms for it, every clearance, with and without
 * the roles rules name) and representative objects (markings, and the field values rules look at).
 */
export function diffRuleFiles(before: RuleFile, after: RuleFile, options: DiffOptions): DecisionChange[] {
  if (before.nation !== after.nation) throw new Error(`the files are not of the same nation: ${before.nation} and ${after.nation}`);
  const context = options.context.filter((f) => f.nation !== before.nation);
  const old = createPolicyEngine({ files: [...context, before], schema: options.schema });
  const next = createPolicyEngine({ files: [...context, after], schema: options.schema });
  // The rules that can decide on the owners' objects: the compared file's, the coalition's (and
  // every owner's when the coalition's file is compared): their levels and values make the grid.
  const relevant = before.nation === COALITION ? [before, after, ...context] : [before, after, ...context.filter((f) => f.nation === COALITION)];
  const rules = relevant.flatMap((f) => f.rules);
  const nations = [...new Set([...(options.nations ?? DEMO_NATIONS), ...(before.nation === COALITION ? [] : [before.nation])])];
  const owners = before.nation === COALITION ? nations : [before.nation];
  const communities = after.nation === COALITION ? (after.communities ?? {}) : next.communities;
  const roleSets = [[], ...[...new Set(['analyst', ...rules.flatMap((r) => [...(r.when?.principal?.rolesAny ?? []), ...(r.when?.principal?.rolesNone ?? [])])])].map((r) => [r])];
  const principals: Principal[] = nations.flatMap((nation) =>
    CLASSIFICATIONS.flatMap((clearance) =>
      roleSets.map((roles) => ({ subject: 'grid', nation, clearance, roles, communities: Object.keys(communities).filter((c) => communities[c]!.includes(nation)) })),
    ),
  );
  const markings = representativeMarkings(rules, nations);
  const byKey = new Map<string, DecisionChange>();
  for (const owner of owners) {
    for (const [type, fields] of Object.entries(options.schema)) {
      const valueSets = valueCombinations(type, rules);
      for (const marking of markings) {
        for (const values of valueSets) {
          const object = { type, owner, marking, values };
          const objectLabel = `${owner} ${markingLabel(marking)}${Object.keys(values).length ? ` ${Object.entries(values).map(([k, v]) => `${k}=${JSON.stringify(v)}`).join(' ')}` : ''}`;
          for (const principal of principals) {
            for (const field of fields) {
              const a = old.decide(principal, object, field);
              const b = next.decide(principal, object, field);
              if (a.effect === b.effect && a.transform === b.transform && a.reason === b.reason) continue;
              const label = principalLabel(principal);
              const key = JSON.stringify([type, field, label, a, b]);
              const found = byKey.get(key);
              if (found) found.objects.push(objectLabel);
              else byKey.set(key, { type, field, principal: label, objects: [objectLabel], before: a, after: b });
            }
          }
        }
      }
    }
  }
  return [...byKey.values()];
}

/** A change of reason alone (same effect) counts: who decides changed. Effects are compared first in the output. */
export function formatDiff(changes: DecisionChange[]): string {
  if (!changes.length) return 'no decision changes';
  const groups = new Map<string, DecisionChange[]>();
  for (const c of changes) {
    const key = `${c.type}.${c.field}`;
    groups.set(key, [...(groups.get(key) ?? []), c]);
  }
  const out: string[] = [];
  for (const [key, rows] of [...groups].sort(([a], [b]) => a.localeCompare(b))) {
    out.push(`${key}`);
    for (const c of rows) {
      out.push(`  ${c.principal}: ${decisionLabel(c.before)} -> ${decisionLabel(c.after)}   on ${c.objects.join('; ')}`);
    }
  }
  const effects = changes.filter((c) => c.before.effect !== c.after.effect || c.before.transform !== c.after.transform).length;
  out.push(`${changes.length} change(s) over ${groups.size} field(s); ${effects} change the effect, ${changes.length - effects} only the deciding rule`);
  return out.join('\n');
}

function decisionLabel(d: Decision): string {
  return `${d.effect}${d.transform ? `(${d.transform})` : ''} [${d.reason}]`;
}

function principalLabel(p: Principal): string {
  return `${p.nation} ${p.clearance}${p.roles.length ? ` ${p.roles.join(',')}` : ' no-role'}${p.communities.length ? ` [${p.communities.join(',')}]` : ''}`;
}

function markingLabel(m: Marking): string {
  return `${m.releasableTo.join(',') || '-'} ${m.tlp} ${m.classification}${m.caveats.length ? ` ${m.caveats.join(',')}` : ''}`;
}

/** A few markings every grid has, and the levels and caveats rules name (at, and just below). */
function representativeMarkings(rules: Rule[], nations: readonly string[]): Marking[] {
  const mk = (classification: Classification, tlp: Marking['tlp'], releasableTo: string[], caveats: string[] = []): Marking => ({ classification, tlp, releasableTo, caveats });
  const list: Marking[] = [
    mk('UNCLASSIFIED', 'CLEAR', ['NATO']),
    mk('UNCLASSIFIED', 'GREEN', ['NATO']),
    mk('CONFIDENTIAL', 'GREEN', ['NATO']),
    mk('SECRET', 'AMBER', ['EU']),
    mk('SECRET', 'AMBER', ['NATO']),
    mk('TOP_SECRET', 'AMBER_STRICT', [...nations]),
  ];
  for (const rule of rules) {
    const o = rule.when?.object;
    const p = rule.when?.principal;
    for (const level of [o?.classificationAtLeast, p?.clearanceAtLeast, p?.clearanceBelow]) {
      if (!level) continue;
      const rank = classificationRank(level);
      list.push(mk(level, 'GREEN', ['NATO']));
      if (rank > 0) list.push(mk(CLASSIFICATIONS[rank - 1]!, 'GREEN', ['NATO']));
    }
    if (o?.tlpAtLeast) {
      const rank = tlpRank(o.tlpAtLeast);
      list.push(mk('UNCLASSIFIED', o.tlpAtLeast, o.tlpAtLeast === 'AMBER_STRICT' || o.tlpAtLeast === 'RED' ? [...nations] : ['NATO']));
      if (rank > 0) list.push(mk('UNCLASSIFIED', TLP_LEVELS[rank - 1]!, ['NATO']));
    }
    for (const caveat of o?.caveatsAny ?? []) list.push(mk('UNCLASSIFIED', 'GREEN', ['NATO'], [caveat]));
  }
  const seen = new Set<string>();
  return list.filter((m) => !seen.has(markingLabel(m)) && seen.add(markingLabel(m)));
}

/** The values rules name for the fields looked at, each field also absent: their product, bounded. */
function valueCombinations(type: string, rules: Rule[]): Array<Record<string, unknown>> {
  const applicable = rules.filter((r) => r.match.types.includes('*') || r.match.types.includes(type));
  const fields = [...new Set(applicable.flatMap((r) => r.when?.object?.fieldValues?.map((c) => c.field) ?? []))].sort();
  let combos: Array<Record<string, unknown>> = [{}];
  for (const field of fields) {
    const values: unknown[] = [undefined];
    for (const rule of rules) {
      if (!(rule.match.types.includes('*') || rule.match.types.includes(type))) continue;
      for (const c of rule.when?.object?.fieldValues ?? []) {
        if (c.field !== field) continue;
        if (c.equals !== undefined) values.push(c.equals);
        for (const v of c.in ?? []) values.push(v);
        if (c.contains !== undefined) values.push([c.contains]);
      }
    }
    const distinct = [...new Map(values.map((v) => [JSON.stringify(v) ?? 'undefined', v])).values()];
    combos = combos.flatMap((combo) => distinct.map((v) => (v === undefined ? combo : { ...combo, [field]: v })));
    if (combos.length > 64) combos = combos.slice(0, 64);
  }
  return combos;
}
