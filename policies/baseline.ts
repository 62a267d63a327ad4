/**
 * The marking baseline, applied before any rule: clearance must reach the classification, and a
 * principal from another nation also needs the value to be releasable to them.
 */
import { classificationRank, type Marking } from './markings';
import type { Principal } from './principal';

export type BaselineCheck = 'clearance' | 'tlp-red' | 'noforn' | 'releasability';

export interface BaselineResult {
  passed: boolean;
  /** Every check that was made, in order, and whether it held. */
  checks: Array<{ check: BaselineCheck | 'owner'; held: boolean; detail: string }>;
}

/** `communities` maps each community to its member nations: the coalition's word, not the token's. */
export function checkBaseline(principal: Principal, owner: string, marking: Marking, communities: Record<string, readonly string[]>): BaselineResult {
  const checks: BaselineResult['checks'] = [];
  const cleared = classificationRank(principal.clearance) >= classificationRank(marking.classification);
  checks.push({ check: 'clearance', held: cleared, detail: `clearance ${principal.clearance} ${cleared ? '>=' : '<'} ${marking.classification}` });
  if (principal.nation === owner) {
    checks.push({ check: 'owner', held: true, detail: `the principal's nation ${principal.nation} owns it` });
    return { passed: cleared, checks };
  }
  const notRed = marking.tlp !== 'RED';
  checks.push({ check: 'tlp-red', held: notRed, detail: notRed ? `TLP:${marking.tlp} may leave ${owner}` : 'TLP:RED never leaves its owner' });
  const noNoforn = !marking.caveats.includes('NOFORN');
  checks.push({ check: 'noforn', held: noNoforn, detail: noNoforn ? 'no NOFORN caveat' : 'NOFORN: not releasable to foreign nationals' });
  const releasable = isReleasableTo(principal, marking, communities);
  checks.push({ check: 'releasability', held: releasable, detail: releasabilityDetail(principal, marking, releasable) });
  return { passed: cleared && notRed && noNoforn && releasable, checks };
}

function isReleasableTo(principal: Principal, marking: Marking, communities: Record<string, readonly string[]>): boolean {
  if (marking.releasableTo.includes(principal.nation)) return true;
  // AMBER+STRICT: only nations named explicitly, never a community.
  if (marking.tlp === 'AMBER_STRICT') return false;
  return marking.releasableTo.some((c) => principal.communities.includes(c) && (communities[c]?.includes(principal.nation) ?? false));
}

function releasabilityDetail(principal: Principal, marking: Marking, releasable: boolean): string {
  const list = marking.releasableTo.join(', ') || 'nobody';
  if (releasable) return `releasable to ${list}, which includes ${principal.nation}`;
  const strict = marking.tlp === 'AMBER_STRICT' ? ' (TLP:AMBER+STRICT counts named nations only)' : '';
  return `releasable to ${list}, which does not include ${principal.nation}${strict}`;
}
