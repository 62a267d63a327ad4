/**
 * The rules in force, one signed file per nation (and the coalition's), and how a new one gets in:
 * verified against the trust store, newer than the one in force, kept first (when the holder keeps
 * history), then swapped in. A refused file changes nothing and leaves an alert. Shadows are
 * signed drafts evaluated beside the rules in force without changing what is released.
 */
import { PolicyRefusal, verifySignedRules, type PolicyTrustStore, type RefusalReason, type VerifiedRules } from './signed-rules';

export interface PolicyAlert {
  at: string;
  nation?: string;
  reason: RefusalReason;
  message: string;
  /** Where the file came from (a publish request, a poll of a nation…). */
  source: string;
}

/** One accepted version as the history lists it. */
export interface AcceptedVersion {
  nation: string;
  version: number;
  signedBy: string;
  signedAt: string;
  acceptedAt: string;
  kid: string;
}

export type OfferResult = { accepted: true; rules: VerifiedRules; unchanged?: boolean } | { accepted: false; refusal: PolicyRefusal };

export interface RuleStoreOptions {
  trust: PolicyTrustStore;
  /** Which nations' files this holder takes (default: every nation the trust store knows). */
  accepts?: (nation: string) => boolean;
  /** Called before a verified file goes into force; if it throws, the file is refused and nothing changes. */
  keep?: (rules: VerifiedRules, acceptedAt: string) => Promise<void>;
  /** Called after the rules in force (or the shadows) changed. */
  onChange?: () => void;
  /** How many alerts to remember (default 50). */
  alertLimit?: number;
}

export interface RuleStore {
  /** Verifies and, when newer than the one in force, puts a signed file in force. Never throws. */
  offer(jws: string, source: string): Promise<OfferResult>;
  /** Verifies a signed draft and evaluates it as a shadow of its nation's rules (replacing any earlier shadow). */
  offerShadow(jws: string, source: string): Promise<OfferResult>;
  dropShadow(nation: string): boolean;
  inForce(nation: string): VerifiedRules | undefined;
  /** Every file in force, coalition included. */
  allInForce(): VerifiedRules[];
  shadows(): VerifiedRules[];
  /** Accepted versions this store saw, oldest first (the holder may keep a longer history). */
  history(nation?: string): AcceptedVersion[];
  /** Recent refusals, newest first. */
  alerts(): PolicyAlert[];
}

export function createRuleStore(options: RuleStoreOptions): RuleStore {
  const inForce = new Map<string, VerifiedRules>();
  const shadows = new Map<string, VerifiedRules>();
  const history: AcceptedVersion[] = [];
  const alerts: PolicyAlert[] = [];
  const limit = options.alertLimit ?? 50;
  // One offer at a time: two publications racing must not both pass the version check.
  let queue: Promise<unknown> = Promise.resolve();

  const refuse = (refusal: PolicyRefusal, source: string): OfferResult => {
    alerts.unshift({ at: new Date().toISOString(), nation: refusal.nation, reason: refusal.reason, message: refusal.message, source });
    alerts.length = Math.min(alerts.length, limit);
    return { accepted: false, refusal };
  };

  const verify = async (jws: string, source: string): Promise<VerifiedRules | OfferResult> => {
    try {
      const verified = await verifySignedRules(jws, options.trust);
      if (options.accepts && !options.accepts(verified.nation)) {
        return refuse(new PolicyRefusal('nation-mismatch', `${verified.nation}'s rules are not held here`, verified.nation), source);
      }
      return verified;
    } catch (error) {
      if (error instanceof PolicyRefusal) return refuse(error, source);
      return refuse(new PolicyRefusal('malformed', `the signed rule file could not be read: ${(error as Error).message}`), source);
    }
  };

  const accept = async (jws: string, source: string): Promise<OfferResult> => {
    const verified = await verify(jws, source);
    if ('accepted' in verified) return verified;
    const current = inForce.get(verified.nation);
    // The same rules signed again (a deployment re-signing its start-up files) change nothing: the
    // file in force stays, and nothing is refused. Other rules under the same version are a rollback.
    if (current && (current.jws === verified.jws || (current.version === verified.version && current.text === verified.text))) {
      return { accepted: true, rules: current, unchanged: true };
    }
    if (current && verified.version <= current.version) {
      return refuse(new PolicyRefusal('rollback', `${verified.nation} version ${verified.version} is not newer than version ${current.version}, which is in force`, verified.nation), source);
    }
    const acceptedAt = new Date().toISOString();
    try {
      await options.keep?.(verified, acceptedAt);
    } catch (error) {
      return refuse(new PolicyRefusal('malformed', `${verified.nation} version ${verified.version} could not be kept: ${(error as Error).message}`, verified.nation), source);
    }
    inForce.set(verified.nation, verified);
    history.push({ nation: verified.nation, version: verified.version, signedBy: verified.signedBy, signedAt: verified.signedAt, acceptedAt, kid: verified.kid });
    // A shadow that is now in force, or older than it, has nothing left to show.
    const shadow = shadows.get(verified.nation);
    if (shadow && shadow.version <= verified.version) shadows.delete(verified.nation);
    options.onChange?.();
    return { accepted: true, rules: verified };
  };

  const acceptShadow = async (jws: string, source: string): Promise<OfferResult> => {
    const verified = await verify(jws, source);
    if ('accepted' in verified) return verified;
    shadows.set(verified.nation, verified);
    options.onChange?.();
    return { accepted: true, rules: verified };
  };

  const serially = <T>(work: () => Promise<T>): Promise<T> => {
    const next = queue.then(work, work);
    queue = next.catch(() => undefined);
    return next;
  };

  return {
    offer: (jws, source) => serially(() => accept(jws, source)),
    offerShadow: (jws, source) => serially(() => acceptShadow(jws, source)),
    dropShadow(nation) {
      const dropped = shadows.delete(nation);
      if (dropped) options.onChange?.();
      return dropped;
    },
    inForce: (nation) => inForce.get(nation),
    allInForce: () => [...inForce.values()],
    shadows: () => [...shadows.values()],
    history: (nation) => history.filter((h) => nation === undefined || h.nation === nation),
    alerts: () => [...alerts],
  };
}
