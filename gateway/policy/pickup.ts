/**
 * The gateway's rules in force: the coalition's signed file, and every nation's, picked up from the
 * nation's own subgraph (`GET /policy`) every second, verified against the trust store and swapped
 * in without a restart. A request keeps the engine it started with, so a swap never fails one in
 * flight. The gateway holds public policy keys only: it can check rules, never make them.
 */
import { createPolicyEngine, createRuleStore, createShadowRecorder, type PolicyEngine, type PolicyTrustStore, type RuleFile, type RuleStore, type ShadowRecorder, type VerifiedRules } from '../../policies';
import type { NationEndpoint } from '../fanout/nations-source';

const COALITION = 'COALITION';

export interface GatewayPolicyOptions {
  trust: PolicyTrustStore;
  /** Signed files to start with (at least the coalition's). */
  signedRules: readonly string[];
  nations: readonly NationEndpoint[];
  /** Every type and its fields, from the contract. */
  schema: Record<string, readonly string[]>;
  /** How often each nation's published rules are read (default 1000 ms). */
  pollMs?: number;
}

export interface GatewayPolicy {
  store: RuleStore;
  /** The rules in force, with any shadows compared on the side. */
  engine(): PolicyEngine;
  shadows(): ShadowRecorder;
  /** The rules in force with one nation's file replaced by a draft (for a simulation; nothing is stored). */
  engineWithDraft(draft: RuleFile): PolicyEngine;
  /** Reads every nation's published rules once (start-up waits for this). */
  pollOnce(): Promise<void>;
  stop(): void;
}

export async function createGatewayPolicy(options: GatewayPolicyOptions): Promise<GatewayPolicy> {
  let inForce: PolicyEngine = compile([], options.schema);
  let recorder = createShadowRecorder([]);
  let engine = inForce;
  const rebuild = () => {
    inForce = compile(store.allInForce(), options.schema);
    const all = store.allInForce();
    recorder = createShadowRecorder(
      store.shadows().map((draft) => ({ nation: draft.nation, version: draft.version, engine: compile([...all.filter((f) => f.nation !== draft.nation), draft], options.schema) })),
      recorder,
    );
    engine = recorder.around(inForce);
  };
  const store = createRuleStore({ trust: options.trust, onChange: rebuild });
  for (const jws of options.signedRules) {
    const result = await store.offer(jws, 'the gateway start-up files');
    if (!result.accepted) console.error(`[gateway] refused a signed rule file at start: ${result.refusal.message}`);
  }
  if (!store.inForce(COALITION)) throw new Error("no signed coalition rules in force: start the gateway with the coalition's signed rule file");

  const seen = new Map<string, string>();
  const pollOnce = () => Promise.all(options.nations.map((n) => pickUp(store, n, seen))).then(() => undefined);
  let timer: NodeJS.Timeout | undefined;
  const loop = () => {
    timer = setTimeout(() => void pollOnce().finally(() => timer && loop()), options.pollMs ?? 1000);
    timer.unref();
  };
  loop();
  return {
    store,
    engine: () => engine,
    shadows: () => recorder,
    engineWithDraft: (draft) =>
      createPolicyEngine({ files: [...store.allInForce().filter((f) => f.nation !== draft.nation).map((f) => f.rules), draft], schema: options.schema }),
    pollOnce,
    stop() {
      clearTimeout(timer);
      timer = undefined;
    },
  };
}

function compile(files: VerifiedRules[], schema: Record<string, readonly string[]>): PolicyEngine {
  return createPolicyEngine({ files: files.map((f) => f.rules), schema });
}

interface Published {
  inForce?: Array<{ nation: string; version: number; jws: string }>;
  shadows?: Array<{ nation: string; version: number; jws: string }>;
}

/**
 * Takes from a nation only that nation's files: its rules in force and its shadow. A nation that is
 * down keeps the rules last picked up from it; one that publishes a bad file changes nothing.
 */
async function pickUp(store: RuleStore, endpoint: NationEndpoint, seen: Map<string, string>): Promise<void> {
  let published: Published;
  try {
    const response = await fetch(new URL('/policy', endpoint.url), { signal: AbortSignal.timeout(2000) });
    if (!response.ok) return;
    published = (await response.json()) as Published;
  } catch {
    return;
  }
  const own = (list: Published['inForce']) => (Array.isArray(list) ? list.filter((f) => f?.nation === endpoint.nation && typeof f.jws === 'string') : []);
  const source = `${endpoint.nation}'s subgraph`;
  for (const file of own(published.inForce)) {
    if (seen.get(`force:${endpoint.nation}`) === file.jws) continue;
    seen.set(`force:${endpoint.nation}`, file.jws);
    const result = await store.offer(file.jws, source);
    if (!result.accepted) console.error(`[gateway] refused ${endpoint.nation}'s published rules (${result.refusal.reason}): ${result.refusal.message}`);
  }
  const shadow = own(published.shadows)[0];
  if (!shadow) {
    if (seen.has(`shadow:${endpoint.nation}`)) store.dropShadow(endpoint.nation);
    seen.delete(`shadow:${endpoint.nation}`);
  } else if (seen.get(`shadow:${endpoint.nation}`) !== shadow.jws) {
    seen.set(`shadow:${endpoint.nation}`, shadow.jws);
    const result = await store.offerShadow(shadow.jws, source);
    if (!result.accepted) console.error(`[gateway] refused ${endpoint.nation}'s shadow rules (${result.refusal.reason}): ${result.refusal.message}`);
  }
}
