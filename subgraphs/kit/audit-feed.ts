/**
 * The nation's own policy officers read its recent releases (`GET /audit/recent?limit=N`), through
 * the gateway's console: a principal assertion the gateway signed, for a principal of this nation
 * with the policy-officer role. Who asked what is itself sensitive: nobody else reads it.
 */
import type { IncomingMessage, ServerResponse } from 'node:http';
import { ASSERTION_HEADER, AssertionError, type AssertionVerifier } from '../../policies';
import { recentAuditRecords, type AuditLog } from '../audit';
import type { SiloQueryable } from '../silo';
import { sendJson } from './http';

export const POLICY_OFFICER_ROLE = 'policy-officer';
const MAX_RECORDS = 200;

/** `log`: the releases still queued are written first, so the feed shows everything released so far. */
export function auditFeed(db: SiloQueryable, log: AuditLog, nation: string, verify: AssertionVerifier) {
  return (req: IncomingMessage, res: ServerResponse): boolean => {
    const url = new URL(req.url ?? '/', 'http://nation.invalid');
    if (url.pathname !== '/audit/recent' || req.method !== 'GET') return false;
    serve(url).catch((error: unknown) => {
      console.error(`[nation ${nation}] audit feed failed:`, error);
      if (!res.headersSent) sendJson(res, 500, { error: { reason: 'internal', message: `internal error in the ${nation} subgraph` } });
    });
    return true;

    async function serve(url: URL): Promise<void> {
      let principal;
      try {
        const header = req.headers[ASSERTION_HEADER];
        principal = await verify(Array.isArray(header) ? header[0] : header);
      } catch (error) {
        if (!(error instanceof AssertionError)) throw error;
        return sendJson(res, 401, { error: { reason: 'unauthenticated', message: error.message } });
      }
      if (principal.nation !== nation || !principal.roles.includes(POLICY_OFFICER_ROLE)) {
        return sendJson(res, 403, { error: { reason: 'forbidden', message: `only ${nation}'s policy officers read ${nation}'s audit log` } });
      }
      const limit = Math.min(Number(url.searchParams.get('limit') ?? 50) || 50, MAX_RECORDS);
      await log.flush();
      const records = await recentAuditRecords(db, limit);
      sendJson(res, 200, { nation, records: records.map(({ seq, at, entry, hash }) => ({ seq, at, hash, entry })) });
    }
  };
}
