/**
 * Shadow mode: a signed draft of one nation's rules decides beside the rules in force, on the same
 * live decisions, and changes nothing that is released. What it would have changed is counted per
 * draft rule and per (type, field, partner nation), so an officer sees a draft's effect before
 * enforcing it.
 */
import type { Decision, ObjectFacts, PolicyEngine } from './engine';
import type { Principal } from './principal';

export interface ShadowChange {
  type: string;
  field: string;
  /** The asking principal's nation. */
  partner: string;
  from: Decision['effect'];
  to: Decision['effect'];
  count: number;
}

export interface ShadowReport {
  nation: string;
  version: number;
  since: string;
  /** Decisions on this nation's objects the draft was compared on. */
  compared: number;
  changed: number;
  /** Draft rule (or marking check) that decided differently → the decisions it changed. */
  byRule: Record<string, ShadowChange[]>;
}

export interface Shadow {
  nation: string;
  version: number;
  engine: PolicyEngine;
}

export interface ShadowRecorder {
  reports(): ShadowReport[];
  /** The live report of one shadow (kept when the recorder is rebuilt around newer rules in force). */
  reportOf(nation: string, version: number): ShadowReport | undefined;
  /** The engine to decide with: the rules in force, with every shadow compared on the side. */
  around(inForce: PolicyEngine): PolicyEngine;
}

const ID = 'id';
const MAX_CASES_PER_RULE = 200;

/** `previous`: the recorder this one replaces; a shadow it already compared keeps counting where it was. */
export function createShadowRecorder(shadows: readonly Shadow[], previous?: ShadowRecorder): ShadowRecorder {
  const byNation = new Map(shadows.map((s) => [s.nation, { shadow: s, report: previous?.reportOf(s.nation, s.version) ?? emptyReport(s) }]));
  const record = (report: ShadowReport, principal: Principal, object: ObjectFacts, field: string, from: Decision, to: Decision) => {
    report.compared++;
    if (from.effect === to.effect && from.transform === to.transform) return;
    report.changed++;
    const cases = (report.byRule[to.reason] ??= []);
    const same = cases.find((c) => c.type === object.type && c.field === field && c.partner === principal.nation && c.from === from.effect && c.to === to.effect);
    if (same) same.count++;
    else if (cases.length < MAX_CASES_PER_RULE) cases.push({ type: object.type, field, partner: principal.nation, from: from.effect, to: to.effect, count: 1 });
  };
  return {
    reports: () => [...byNation.values()].map(({ report }) => structuredClone(report)),
    reportOf: (nation, version) => {
      const entry = byNation.get(nation);
      return entry?.shadow.version === version ? entry.report : undefined;
    },
    around(inForce) {
      if (byNation.size === 0) return inForce;
      // The in-force engine answers everything else (visibleWhen, versions…): shadows never touch storage.
      return Object.assign(Object.create(inForce) as PolicyEngine, {
        decide(principal: Principal, object: ObjectFacts, field: string) {
          const decision = inForce.decide(principal, object, field);
          const entry = byNation.get(object.owner);
          if (entry) record(entry.report, principal, object, field, decision, safely(() => entry.shadow.engine.decide(principal, object, field)));
          return decision;
        },
        objectVisible(principal: Principal, object: ObjectFacts) {
          const visible = inForce.objectVisible(principal, object);
          const entry = byNation.get(object.owner);
          if (entry) record(entry.report, principal, object, ID, inForce.decide(principal, object, ID), safely(() => entry.shadow.engine.decide(principal, object, ID)));
          return visible;
        },
      });
    },
  };
}

function emptyReport(shadow: Shadow): ShadowReport {
  return { nation: shadow.nation, version: shadow.version, since: new Date().toISOString(), compared: 0, changed: 0, byRule: {} };
}

/** A draft that fails to decide is reported as denying, never allowed to break the live decision. */
function safely(decide: () => Decision): Decision {
  try {
    return decide();
  } catch {
    return { effect: 'deny', reason: 'shadow:error-while-deciding' } as Decision;
  }
}
