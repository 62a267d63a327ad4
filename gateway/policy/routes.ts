/**
 * The gateway's policy endpoints, for policy officers (a verified token with the `policy-officer`
 * role): the rules in force everywhere, the history seen here, the refusals, the shadow reports,
 * and publication of the coalition's signed file. The gateway verifies; it never signs.
 */
import type { IncomingMessage, ServerResponse } from 'node:http';
import { decodeProtectedHeader } from 'jose';
import { signedRulesOfBody, type Principal, type VerifiedRules } from '../../policies';
import { TokenRejected } from '../auth/trust-store';
import { sendJson, type Route } from '../http-adapter';
import type { GatewayPolicy } from './pickup';
import { simulate, SimulationRefused, type SimulationDeps } from './simulate';

export const POLICY_OFFICER_ROLE = 'policy-officer';
const COALITION = 'COALITION';

export interface PolicyRoutesOptions {
  policy: GatewayPolicy;
  verifyToken(token: string | undefined): Promise<Principal>;
  bearerToken(req: IncomingMessage): string | undefined;
  /** Runs a query through the gateway with the given context (principal, nations asked, rules). */
  execute: SimulationDeps['execute'];
}

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
    '/policy/shadow-report': officerOnly((_req, res) => sendJson(res, 200, { reports: policy.shadows().reports() })),
  };
}

function headerNation(jws: string): string | undefined {
  try {
    const nation = (decodeProtectedHeader(jws) as { nation?: unknown }).nation;
    return typeof nation === 'string' ? nation : undefined;
  } catch {
    return undefined;
  }
}
