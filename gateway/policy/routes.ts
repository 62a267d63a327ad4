/**
 * The gateway's policy endpoints, for policy officers (a verified token with the `policy-officer`
 * role): the rules in force everywhere, the history seen here, the refusals, the shadow reports,
 * and publication of the coalition's signed file. The gateway verifies; it never signs.
 */
import type { IncomingMessage, ServerResponse } from 'node:http';
import { decodeProtectedHeader } from 'jose';
import {
  ASSERTION_HEADER,
  diffRuleFiles,
  lintRuleFile,
  parseRuleFile,
  RuleFileError,
  signedRulesOfBody,
  type AssertionSigner,
  type Principal,
  type RuleFile,
  type VerifiedRules,
} from '../../policies';
import type { NationEndpoint } from '../fanout/nations-source';
import { TokenRejected } from '../auth/trust-store';
import { sendJson, type Route } from '../http-adapter';
import type { GatewayPolicy } from './pickup';
import { simulate, SimulationRefused, type SimulationDeps } from './simulate';

export const POLICY_OFFICER_ROLE = 'policy-officer';
/** Publishes the coalition's own file from the console (beside the policy-officer role). */
export const COALITION_OFFICER_ROLE = 'coalition-policy-officer';
const COALITION = 'COALITION';

export interface PolicyRoutesOptions {
  policy: GatewayPolicy;
  verifyToken(token: string | undefined): Promise<Principal>;
  bearerToken(req: IncomingMessage): string | undefined;
  /** Runs a query through the gateway with the given context (principal, nations asked, rules). */
  execute: SimulationDeps['execute'];
  nations: readonly NationEndpoint[];
  /** Signs principal assertions: the officer's, to read its own nation's audit log. */
  sign: AssertionSigner;
  /** Every type and its fields, from the contract. */
  schema: Record<string, readonly string[]>;
}

const MAX_DIFF_ROWS = 500;

export function describeRules(rules: VerifiedRules) {
  return { nation: rules.nation, version: rules.version, signedBy: rules.signedBy, signedAt: rules.signedAt, kid: rules.kid, text: rules.text, jws: rules.jws };
}

export function policyRoutes(options: PolicyRoutesOptions): Record<string, Route> {
  const { policy } = options;
  const officerOnly = (route: (req: IncomingMessage, res: ServerResponse, body: string, officer: Principal) => Promise<void> | void): Route => async (req, res, body) => {
    let principal: Principal;
    try {
      principal = await options.verifyToken(options.bearerToken(req));
    } catch (error) {
      if (!(error instanceof TokenRejected)) throw error;
      res.setHeader('www-authenticate', 'Bearer');
      return sendJson(res, 401, { error: { reason: 'unauthenticated', message: error.message } });
    }
    if (!principal.roles.includes(POLICY_OFFICER_ROLE)) return sendJson(res, 403, { error: { reason: 'forbidden', message: `only principals with the ${POLICY_OFFICER_ROLE} role may use the policy endpoints` } });
    return route(req, res, body, principal);
  };
  return {
    '/policy': officerOnly(async (req, res, body) => {
      if (req.method === 'GET') {
        return sendJson(res, 200, { inForce: policy.store.allInForce().map(describeRules), shadows: policy.store.shadows().map(describeRules), alerts: policy.store.alerts() });
      }
      if (req.method !== 'POST') return sendJson(res, 405, { error: { reason: 'method', message: 'GET the rules in force, or POST the coalition\'s signed file' } });
      const jws = signedRulesOfBody(body);
      // Nations publish at their own subgraph; the gateway takes only the coalition's file directly.
      if (headerNation(jws) !== COALITION) return sendJson(res, 409, { error: { reason: 'nation-mismatch', message: "the gateway takes only the coalition's signed rules: publish a nation's rules at that nation's subgraph" } });
      const result = await policy.store.offer(jws, 'a publish request to the gateway');
      if (!result.accepted) return sendJson(res, 409, { error: { reason: result.refusal.reason, message: result.refusal.message } });
      const { jws: _signed, text: _text, ...header } = describeRules(result.rules);
      sendJson(res, result.unchanged ? 200 : 201, { accepted: true, unchanged: result.unchanged ?? false, ...header });
    }),
    '/policy/history': officerOnly((_req, res) => sendJson(res, 200, { versions: policy.store.history() })),
    '/policy/simulate': officerOnly(async (req, res, body, officer) => {
      if (req.method !== 'POST') return sendJson(res, 405, { error: { reason: 'method', message: 'POST { as, query, variables?, draft? }' } });
      let request;
      try {
        request = JSON.parse(body);
      } catch {
        return sendJson(res, 400, { error: { reason: 'bad-request', message: 'the body must be JSON: { as: { nation, clearance, roles, communities }, query, variables?, draft? }' } });
      }
      try {
        const result = await simulate(officer, request, {
          execute: options.execute,
          engineWithDraft: (draft) => policy.engineWithDraft(draft),
          communities: () => policy.engine().communities,
        });
        sendJson(res, 200, result);
      } catch (error) {
        if (!(error instanceof SimulationRefused)) throw error;
        sendJson(res, 400, { error: { reason: 'bad-request', message: error.message, issues: error.issues } });
      }
    }),
    '/policy/validate': officerOnly((req, res, body) => {
      const draft = draftOf(body);
      if (draft === undefined) return sendJson(res, 400, { error: { reason: 'bad-request', message: 'POST { "text": "<YAML of a rule file>" }' } });
      const parsed = parseDraft(draft);
      if ('issues' in parsed) return sendJson(res, 200, { valid: false, issues: parsed.issues, warnings: [] });
      const coalitionReleases = parsed.file.nation === COALITION ? parsed.file.rules.filter((r) => r.effect === 'allow').map((r) => r.id) : [];
      const issues = coalitionReleases.map((rule) => ({ file: 'draft', line: 1, rule, message: 'the coalition may only restrict: this rule allows' }));
      sendJson(res, 200, { valid: issues.length === 0, nation: parsed.file.nation, version: parsed.file.version, issues, warnings: lintRuleFile(parsed.file, draft, 'draft', options.schema) });
    }),
    '/policy/diff': officerOnly((req, res, body, officer) => {
      const draft = draftOf(body);
      if (draft === undefined) return sendJson(res, 400, { error: { reason: 'bad-request', message: 'POST { "text": "<YAML of a rule file>" }' } });
      const parsed = parseDraft(draft);
      if ('issues' in parsed) return sendJson(res, 400, { error: { reason: 'invalid-rules', message: 'the draft is not a valid rule file', issues: parsed.issues } });
      const inForce = policy.store.inForce(parsed.file.nation);
      if (!inForce) return sendJson(res, 404, { error: { reason: 'not-found', message: `no rules of ${parsed.file.nation} in force to compare with` } });
      const changes = diffRuleFiles(inForce.rules, parsed.file, { context: policy.store.allInForce().map((f) => f.rules), schema: options.schema });
      sendJson(res, 200, { nation: parsed.file.nation, from: inForce.version, to: parsed.file.version, total: changes.length, changes: changes.slice(0, MAX_DIFF_ROWS), officer: officer.nation });
    }),
    '/policy/publish': officerOnly(async (req, res, body, officer) => {
      if (req.method !== 'POST') return sendJson(res, 405, { error: { reason: 'method', message: 'POST { "jws": "<signed rule file>", "shadow"?: true }' } });
      const jws = signedRulesOfBody(body);
      const asShadow = shadowRequested(body);
      const nation = headerNation(jws);
      if (nation !== officer.nation && !(nation === COALITION && officer.roles.includes(COALITION_OFFICER_ROLE))) {
        return sendJson(res, 403, { error: { reason: 'forbidden', message: `a ${officer.nation} policy officer publishes ${officer.nation}'s rules only${nation ? ` (this file is ${nation}'s)` : ''}` } });
      }
      if (nation === COALITION) {
        const result = asShadow ? await policy.store.offerShadow(jws, 'the policy console') : await policy.store.offer(jws, 'the policy console');
        if (!result.accepted) return sendJson(res, 409, { error: { reason: result.refusal.reason, message: result.refusal.message } });
        return sendJson(res, 201, { accepted: true, nation, version: result.rules.version });
      }
      // The gateway carries the signed file to the nation, which verifies and keeps it; the gateway
      // then picks it up from there like any other publication.
      const answer = await relay(options, nation, asShadow ? '/policy/shadow' : '/policy', { method: 'POST', body: jws, headers: { 'content-type': 'application/jose' } });
      if (answer.status === 201 || answer.status === 200) await policy.pollOnce();
      sendJson(res, answer.status, answer.body);
    }),
    '/policy/nation-history': officerOnly(async (req, res) => {
      const nation = new URL(req.url ?? '/', 'http://gateway.invalid').searchParams.get('nation') ?? '';
      const answer = await relay(options, nation, '/policy/history');
      sendJson(res, answer.status, answer.body);
    }),
    '/policy/audit': officerOnly(async (req, res, _body, officer) => {
      const limit = new URL(req.url ?? '/', 'http://gateway.invalid').searchParams.get('limit') ?? '50';
      const assertion = await options.sign(officer, `sovgraph:${officer.nation}`);
      const answer = await relay(options, officer.nation, `/audit/recent?limit=${encodeURIComponent(limit)}`, { headers: { [ASSERTION_HEADER]: assertion } });
      sendJson(res, answer.status, answer.body);
    }),
    '/policy/shadow-report': officerOnly((_req, res) => sendJson(res, 200, { reports: policy.shadows().reports() })),
  };
}

function shadowRequested(body: string): boolean {
  try {
    return (JSON.parse(body) as { shadow?: unknown }).shadow === true;
  } catch {
    return false;
  }
}

function draftOf(body: string): string | undefined {
  try {
    const text = (JSON.parse(body) as { text?: unknown }).text;
    return typeof text === 'string' ? text : undefined;
  } catch {
    return undefined;
  }
}

function parseDraft(text: string): { file: RuleFile } | { issues: RuleFileError['issues'] } {
  try {
    return { file: parseRuleFile(text, 'draft') };
  } catch (error) {
    if (error instanceof RuleFileError) return { issues: error.issues };
    throw error;
  }
}

async function relay(options: PolicyRoutesOptions, nation: string, path: string, init: RequestInit = {}): Promise<{ status: number; body: unknown }> {
  const endpoint = options.nations.find((n) => n.nation === nation);
  if (!endpoint) return { status: 404, body: { error: { reason: 'not-found', message: `${nation || 'no nation'} is not a member of the coalition` } } };
  try {
    const response = await fetch(new URL(path, endpoint.url), { ...init, signal: AbortSignal.timeout(5000) });
    return { status: response.status, body: await response.json() };
  } catch (error) {
    return { status: 502, body: { error: { reason: 'nation-unavailable', message: `${nation}'s subgraph did not answer: ${(error as Error).message}` } } };
  }
}

function headerNation(jws: string): string | undefined {
  try {
    const nation = (decodeProtectedHeader(jws) as { nation?: unknown }).nation;
    return typeof nation === 'string' ? nation : undefined;
  } catch {
    return undefined;
  }
}
