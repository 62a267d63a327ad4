/** Fair share of the gateway between callers and their nations (see fair-share.ts). */
export { DEFAULT_FAIR_SHARE, FairShare, validFairShareSettings, type Admission, type Caller, type FairShareScope, type FairShareSettings, type Refusal } from './fair-share';
export { admitRequest, RATE_LIMITED } from './http';
