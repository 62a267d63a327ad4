/**
 * A nation's rules in force at its own subgraph: signed files only (its own and the coalition's),
 * kept in the silo with who signed them and when, put back in force on restart after verifying each
 * again, and published over HTTP: the gateway reads them from here, an officer publishes here.
 */
import type { IncomingMessage, ServerResponse } from 'node:http';
import { decodeProtectedHeader } from 'jose';
import { createPolicyEngine, createRuleStore, signedRulesOfBody, type PolicyEngine, type PolicyTrustStore, type RuleStore, type VerifiedRules } from '../../policies';
import type { SiloQueryable } from '../silo';
import { policySchemaOf } from './schema';
import { readBody, sendJson } from './http';

const COALITION = 'COALITION';
const MAX_FILE_BYTES = 256 * 1024;

export interface NationPolicy {
  store: RuleStore;
  /** The rules in force, compiled; a request keeps the engine it started with. */
  engine(): PolicyEngine;
  /** Answers the policy routes (`/policy…`, `/health`); false for any other path. */
  handle(req: IncomingMessage, res: ServerResponse): boolean;
}

export interface NationPolicyOptions {
  nation: string;
  trust: PolicyTrustStore;
  /** Signed files offered at start (the nation's own, the coalition's); older than what is kept: ignored. */
  bootstrap?: readonly string[];
}

export async function openNationPolicy(db: SiloQueryable, options: NationPolicyOptions): Promise<NationPolicy> {
  const { nation } = options;
  let engine: PolicyEngine | undefined;
  const store = createRuleStore({
    trust: options.trust,
    accepts: (holder) => holder === nation || holder === COALITION,
    keep: (rules, acceptedAt) => keepVersion(db, rules, acceptedAt),
    onChange: () => {
      engine = compile(store.allInForce());
    },
  });
  const kept = await keptVersions(db);
  for (const jws of kept) await offerAtStart(store, jws, 'the silo');
  for (const jws of options.bootstrap ?? []) {
    const header = safeHeader(jws);
    const current = header && store.inForce(header.nation);
    if (current && header.version <= current.version) continue; // kept already, or newer kept
    await offerAtStart(store, jws, 'the start-up files');
  }
  if (!store.inForce(nation)) {
    throw new Error(`no signed rules of ${nation} in force: start with ${nation}'s signed rule file (nothing is released without rules)`);
  }
  engine ??= compile(store.allInForce());
  return { store, engine: () => engine!, handle: (req, res) => route(store, nation, db, req, res) };
}

async function offerAtStart(store: RuleStore, jws: string, source: string): Promise<void> {
  const result = await store.offer(jws, source);
  if (!result.accepted) console.error(`[policy] refused a signed rule file from ${source}: ${result.refusal.message}`);
}

function compile(files: VerifiedRules[]): PolicyEngine {
  return createPolicyEngine({ files: files.map((f) => f.rules), schema: policySchemaOf() });
}

/** The newest kept version of each nation's file: the one to put back in force. */
async function keptVersions(db: SiloQueryable): Promise<string[]> {
  const rows = await db.query<{ jws: string }>('SELECT DISTINCT ON (nation) jws FROM policy_version ORDER BY nation, version DESC');
  return rows.map((r) => r.jws);
}

async function keepVersion(db: SiloQueryable, rules: VerifiedRules, acceptedAt: string): Promise<void> {
  await db.query(
    `INSERT INTO policy_version (nation, version, signed_by, signed_at, accepted_at, kid, jws) VALUES ($1, $2, $3, $4, $5, $6, $7)
     ON CONFLICT (nation, version) DO NOTHING`,
    [rules.nation, rules.version, rules.signedBy, rules.signedAt, acceptedAt, rules.kid, rules.jws],
  );
}

export async function policyHistory(db: SiloQueryable, nation?: string): Promise<Array<Record<string, unknown>>> {
  return db.query(
    `SELECT nation, version, signed_by AS "signedBy", signed_at AS "signedAt", accepted_at AS "acceptedAt", kid, jws
       FROM policy_version WHERE $1::text IS NULL OR nation = $1 ORDER BY nation, version`,
    [nation ?? null],
  );
}

function safeHeader(jws: string): { nation: string; version: number } | undefined {
  try {
    const header = decodeProtectedHeader(jws.trim()) as { nation?: unknown; version?: unknown };
    return typeof header.nation === 'string' && typeof header.version === 'number' ? { nation: header.nation, version: header.version } : undefined;
  } catch {
    return undefined;
  }
}

// ---------------------------------------------------------------------------------------------------
// HTTP

/** What a reader of the rules gets about one file: the signed file itself and its header. */
export function describe(rules: VerifiedRules) {
  return { nation: rules.nation, version: rules.version, signedBy: rules.signedBy, signedAt: rules.signedAt, kid: rules.kid, jws: rules.jws };
}

function route(store: RuleStore, nation: string, db: SiloQueryable, req: IncomingMessage, res: ServerResponse): boolean {
  const path = (req.url ?? '/').split('?')[0];
  const method = req.method ?? 'GET';
  const answer = (work: () => Promise<void>) => {
    work().catch((error: unknown) => {
      console.error(`[nation ${nation}] policy route ${method} ${path} failed:`, error);
      if (!res.headersSent) sendJson(res, 500, { error: { reason: 'internal', message: `internal error in the ${nation} subgraph` } });
      else res.end();
    });
    return true;
  };
  if (path === '/health' && method === 'GET') {
    return answer(async () => sendJson(res, 200, health(store, nation)));
  }
  if (path === '/policy' && method === 'GET') {
    return answer(async () => sendJson(res, 200, { nation, inForce: store.allInForce().map(describe), shadows: store.shadows().map(describe), alerts: store.alerts() }));
  }
  if (path === '/policy/history' && method === 'GET') {
    return answer(async () => sendJson(res, 200, { nation, versions: await policyHistory(db) }));
  }
  if ((path === '/policy' || path === '/policy/shadow') && method === 'POST') {
    return answer(async () => {
      const jws = await readSignedFile(req);
      if (jws === undefined) return sendJson(res, 413, { error: { reason: 'too-large', message: `a signed rule file is at most ${MAX_FILE_BYTES} bytes` } });
      const source = `a publish request to ${path}`;
      const result = path === '/policy' ? await store.offer(jws, source) : await store.offerShadow(jws, source);
      if (!result.accepted) {
        console.error(`[nation ${nation}] refused a signed rule file (${result.refusal.reason}): ${result.refusal.message}`);
        return sendJson(res, 409, { error: { reason: result.refusal.reason, message: result.refusal.message } });
      }
      const { jws: _signed, ...header } = describe(result.rules);
      sendJson(res, result.unchanged ? 200 : 201, { accepted: true, shadow: path !== '/policy', unchanged: result.unchanged ?? false, ...header });
    });
  }
  if (path === '/policy/shadow' && method === 'DELETE') {
    return answer(async () => sendJson(res, 200, { dropped: store.dropShadow(nation) }));
  }
  return false;
}

function health(store: RuleStore, nation: string) {
  const alerts = store.alerts();
  const rules = store.inForce(nation);
  return {
    status: alerts.length ? 'alert' : 'ok',
    nation,
    rules: rules && { version: rules.version, signedBy: rules.signedBy, signedAt: rules.signedAt },
    alerts,
  };
}

/** The body is the compact JWS itself, or JSON `{ "jws": "…" }`. */
async function readSignedFile(req: IncomingMessage): Promise<string | undefined> {
  const body = await readBody(req, MAX_FILE_BYTES);
  return body === undefined ? undefined : signedRulesOfBody(body);
}
