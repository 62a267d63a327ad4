/**
 * "See as": a policy officer runs a query as a described partner principal and sees, field by
 * field, what would be released, redacted, generalised or withheld, and why. Only the officer's
 * own nation is asked: an officer may see what its nation gives a partner, never what other
 * nations give that partner. The nation's audit log records the simulation under the officer's
 * name. A draft (unsigned YAML of the officer's nation) can replace the rules in force at the
 * gateway for the simulation; at source the rules in force still apply, so a draft that releases
 * more than them shows its effect only once published.
 */
import { CLASSIFICATIONS, parseRuleFile, RuleFileError, type Classification, type PolicyEngine, type Principal, type RuleFileIssue } from '../../policies';

export interface SeeAs {
  nation: string;
  clearance: Classification;
  roles: string[];
  communities: string[];
}

export interface SimulationRequest {
  as: SeeAs;
  query: string;
  variables?: Record<string, unknown>;
  /** YAML of the officer's own nation's rules, to simulate instead of those in force. */
  draft?: string;
}

export interface Executed {
  data?: Record<string, unknown> | null;
  errors?: ReadonlyArray<{ message: string; path?: ReadonlyArray<string | number>; extensions?: Record<string, unknown> }>;
  extensions?: Record<string, unknown>;
}

export interface SimulationContext {
  principal: Principal;
  /** The only nations the fan-out may ask. */
  onlyNations: readonly string[];
  /** The rules the gateway enforces for this request. */
  engine?: PolicyEngine;
}

export interface SimulationDeps {
  execute(query: string, variables: Record<string, unknown>, context: SimulationContext): Promise<Executed>;
  /** The rules in force with one nation's file replaced by a draft. */
  engineWithDraft(draft: ReturnType<typeof parseRuleFile>): PolicyEngine;
  communities(): Readonly<Record<string, readonly string[]>>;
}

export type Path = Array<string | number>;

export interface SimulationResult {
  as: Principal;
  onlyNation: string;
  draft: { version: number } | null;
  data: Record<string, unknown> | null;
  released: Array<{ path: Path; value: unknown }>;
  redacted: Array<{ path: Path; reason: string; value: unknown }>;
  transformed: Array<{ path: Path; reason: string; transform?: string; value: unknown }>;
  withheld: Array<{ path: Path; reason: string }>;
  errors: Array<{ message: string; path?: Path; code?: unknown }>;
  marking: unknown;
}

export class SimulationRefused extends Error {
  constructor(
    message: string,
    readonly issues: RuleFileIssue[] = [],
  ) {
    super(message);
  }
}

export async function simulate(officer: Principal, request: SimulationRequest, deps: SimulationDeps): Promise<SimulationResult> {
  const seeAs = checkedSeeAs(request.as);
  if (typeof request.query !== 'string' || !request.query.trim()) throw new SimulationRefused('"query" must be a GraphQL query');
  let engine: PolicyEngine | undefined;
  let draft: SimulationResult['draft'] = null;
  if (request.draft !== undefined) {
    const file = parseDraft(request.draft, officer.nation);
    engine = deps.engineWithDraft(file);
    draft = { version: file.version };
  }
  const confirmed = deps.communities();
  const principal: Principal = {
    // The nation's audit log names who really looked.
    subject: `${officer.subject} (${officer.nation} policy officer, seeing as ${seeAs.nation})`,
    nation: seeAs.nation,
    clearance: seeAs.clearance,
    roles: seeAs.roles,
    // As the trust store would: a community counts only when the coalition lists the nation in it.
    communities: seeAs.communities.filter((c) => confirmed[c]?.includes(seeAs.nation)),
  };
  const executed = await deps.execute(request.query, request.variables ?? {}, { principal, onlyNations: [officer.nation], ...(engine && { engine }) });
  return classify(executed, principal, officer.nation, draft);
}

function checkedSeeAs(as: unknown): SeeAs {
  const candidate = as as Partial<SeeAs> | undefined;
  if (!candidate || typeof candidate !== 'object') throw new SimulationRefused('"as" must describe the partner: { nation, clearance, roles, communities }');
  if (typeof candidate.nation !== 'string' || !/^[A-Z]{3}$/.test(candidate.nation)) throw new SimulationRefused('"as.nation" must be an ISO 3166 alpha-3 code such as DEU');
  if (!CLASSIFICATIONS.includes(candidate.clearance as Classification)) throw new SimulationRefused(`"as.clearance" must be one of ${CLASSIFICATIONS.join(', ')}`);
  const strings = (value: unknown, name: string) => {
    if (value === undefined) return [];
    if (!Array.isArray(value) || value.some((v) => typeof v !== 'string')) throw new SimulationRefused(`"as.${name}" must be a list of names`);
    return value as string[];
  };
  return { nation: candidate.nation, clearance: candidate.clearance as Classification, roles: strings(candidate.roles, 'roles'), communities: strings(candidate.communities, 'communities') };
}

function parseDraft(text: string, nation: string) {
  if (typeof text !== 'string') throw new SimulationRefused('"draft" must be the YAML text of a rule file');
  try {
    const file = parseRuleFile(text, `${nation}.yaml (draft)`);
    if (file.nation !== nation) throw new SimulationRefused(`a ${nation} officer simulates ${nation}'s rules only (the draft says ${file.nation})`);
    return file;
  } catch (error) {
    if (error instanceof RuleFileError) throw new SimulationRefused('the draft is not a valid rule file', error.issues);
    throw error;
  }
}

/** Every leaf of the answer, as released, redacted, generalised or withheld (with the reason). */
function classify(executed: Executed, principal: Principal, onlyNation: string, draft: SimulationResult['draft']): SimulationResult {
  const sovgraph = (executed.extensions?.sovgraph ?? {}) as { redacted?: Array<{ path: Path; reason: string }>; transformed?: Array<{ path: Path; reason: string; transform?: string }> };
  const key = (path: ReadonlyArray<string | number>) => path.join('.');
  const redacted = new Map((sovgraph.redacted ?? []).map((r) => [key(r.path), r]));
  const transformed = new Map((sovgraph.transformed ?? []).map((t) => [key(t.path), t]));
  const withheldErrors = (executed.errors ?? []).filter((e) => e.extensions?.code === 'WITHHELD' && e.path);
  const withheld = new Set(withheldErrors.map((e) => key(e.path!)));
  const result: SimulationResult = {
    as: principal,
    onlyNation,
    draft,
    data: executed.data ?? null,
    released: [],
    redacted: [],
    transformed: [],
    withheld: withheldErrors.map((e) => ({ path: [...e.path!], reason: String(e.extensions?.reason ?? 'withheld') })),
    errors: (executed.errors ?? []).filter((e) => e.extensions?.code !== 'WITHHELD').map((e) => ({ message: e.message, ...(e.path && { path: [...e.path] }), code: e.extensions?.code })),
    marking: executed.extensions?.marking ?? null,
  };
  const visit = (value: unknown, path: Path) => {
    const at = key(path);
    if (redacted.has(at)) return void result.redacted.push({ path, reason: redacted.get(at)!.reason, value });
    if (transformed.has(at)) return void result.transformed.push({ path, reason: transformed.get(at)!.reason, transform: transformed.get(at)!.transform, value });
    if (withheld.has(at)) return;
    if (Array.isArray(value)) return value.forEach((item, i) => visit(item, [...path, i]));
    if (value !== null && typeof value === 'object') return Object.entries(value).forEach(([k, v]) => visit(v, [...path, k]));
    if (value !== null && value !== undefined) result.released.push({ path, value });
  };
  if (executed.data) visit(executed.data, []);
  return result;
}
