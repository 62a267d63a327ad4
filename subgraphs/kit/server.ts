/**
 * One nation's subgraph over its own silo. It answers only requests carrying a principal assertion
 * the gateway signed for this nation; everything else is refused with 401 before any GraphQL runs.
 * The HTTP front is plain node:http around Apollo Server: this is the benchmark's hot path.
 */
import { createServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import { ApolloServer, HeaderMap } from '@apollo/server';
import { unwrapResolverError } from '@apollo/server/errors';
import {
  ApolloServerPluginCacheControlDisabled,
  ApolloServerPluginInlineTraceDisabled,
  ApolloServerPluginLandingPageDisabled,
  ApolloServerPluginSchemaReportingDisabled,
  ApolloServerPluginUsageReportingDisabled,
} from '@apollo/server/plugin/disabled';
import { GraphQLError, type GraphQLFormattedError } from 'graphql';
import {
  ASSERTION_HEADER,
  AssertionError,
  createAssertionVerifier,
  createPolicyEngine,
  DEFAULT_RULES_DIR,
  isNationCode,
  loadRuleFolder,
  type AssertionVerifier,
  type PolicyEngine,
} from '../../policies';
import { createHash } from 'node:crypto';
import { openAuditLog, type AuditLog } from '../audit';
import { openSilo, type SiloDb } from '../silo';
import { createNationContext, type NationContext } from './context';
import type { NationSubgraphConfig } from './config';
import { releaseExtensions, type ReleaseLog } from './releases';
import { buildNationSchema, policySchemaOf } from './schema';

export { loadNationConfig, readGatewayPublicKey, NationConfigError, type NationSubgraphConfig } from './config';

export interface RunningNationSubgraph {
  /** The GraphQL endpoint, e.g. `http://127.0.0.1:4101/graphql`. */
  url: string;
  db: SiloDb;
  /** The nation's audit log of releases (hash-chained, in the silo). */
  audit: AuditLog;
  /** Stops listening, drops open connections, closes the silo. */
  stop(): Promise<void>;
}

export const GRAPHQL_PATH = '/graphql';
const MAX_BODY_BYTES = 1 << 20;

export async function startNationSubgraph(config: NationSubgraphConfig): Promise<RunningNationSubgraph> {
  if (!isNationCode(config.nation)) throw new Error(`nation must be an ISO 3166 alpha-3 code such as "FRA" (got ${JSON.stringify(config.nation)})`);
  const host = config.host ?? '127.0.0.1';
  const db = await openSilo({ nation: config.nation, dataDir: config.dataDir, databaseUrl: config.databaseUrl });
  await refreshStatistics(db, config.nation);
  let apollo: ApolloServer<NationContext> | undefined;
  let audit: AuditLog | undefined;
  try {
    audit = await openAuditLog(db, { onError: (error) => console.error(`[nation ${config.nation}] audit: ${error.message}`) });
    const verify = await createAssertionVerifier({ publicJwk: config.gatewayPublicJwk, audience: `sovgraph:${config.nation}` });
    const enforcement = config.enforcement !== false;
    if (!enforcement) console.warn(`[nation ${config.nation}] POLICY ENFORCEMENT IS OFF: every caller sees the whole silo (benchmark baseline only)`);
    const policy = { engine: loadPolicy(config.rulesDir ?? DEFAULT_RULES_DIR) };
    apollo = createApolloServer(config.nation, enforcement, audit);
    await apollo.start();
    const http = createServer(requestHandler({ nation: config.nation, db, verify, apollo, policy, enforcement }));
    // Longer than the gateway's pooled connections idle, so the gateway never writes to a socket we just closed.
    http.keepAliveTimeout = 35_000;
    const port = await listen(http, config.port, host);
    const running = apollo;
    const runningAudit = audit;
    return {
      url: `http://${host.includes(':') ? `[${host}]` : host}:${port}${GRAPHQL_PATH}`,
      db,
      audit: runningAudit,
      async stop() {
        await new Promise<void>((resolve) => {
          http.close(() => resolve());
          http.closeAllConnections();
        });
        await running.stop();
        await runningAudit.close().catch((error: Error) => console.error(`[nation ${config.nation}] audit: ${error.message}`));
        await db.close();
      },
    };
  } catch (error) {
    await apollo?.stop();
    await audit?.close().catch(() => {});
    await db.close();
    throw error;
  }
}

/**
 * Embedded PostgreSQL has no autovacuum: without statistics the planner may sort a whole type to
 * serve a page of 20 instead of walking the list index. Fresh statistics at start (under a second
 * for 100,000 objects) fix that; a server that refuses (not the tables' owner) keeps its own.
 */
async function refreshStatistics(db: SiloDb, nation: string): Promise<void> {
  try {
    await db.query('ANALYZE stix_object, stix_link');
  } catch (error) {
    console.error(`[nation ${nation}] could not refresh the silo's planner statistics: ${(error as Error).message}`);
  }
}

/** The rules in force, compiled. A folder with an invalid file refuses to start: no rules, no data. */
function loadPolicy(rulesDir: string): PolicyEngine {
  return createPolicyEngine({ files: loadRuleFolder(rulesDir), schema: policySchemaOf() });
}

function createApolloServer(nation: string, enforcement: boolean, audit: AuditLog): ApolloServer<NationContext> {
  return new ApolloServer<NationContext>({
    schema: buildNationSchema(undefined, { enforcement }),
    // Nothing per field or per request that the coalition does not need; and no reporting to any
    // outside service, whatever the environment says: query shapes over a silo are sensitive too.
    plugins: [
      ApolloServerPluginLandingPageDisabled(),
      ApolloServerPluginCacheControlDisabled(),
      ApolloServerPluginInlineTraceDisabled(),
      ApolloServerPluginUsageReportingDisabled(),
      ApolloServerPluginSchemaReportingDisabled(),
      {
        async requestDidStart() {
          return {
            async willSendResponse({ contextValue, response, request }) {
              auditRelease(audit, contextValue, request.operationName ?? null, request.query ?? '');
              if (response.body.kind !== 'single') return;
              const released = releaseExtensions(nation, contextValue.releases);
              if (released) response.body.singleResult.extensions = { ...response.body.singleResult.extensions, sovgraph: released };
            },
          };
        },
      },
    ],
    includeStacktraceInErrorResponses: false,
    formatError: (formatted, error) => maskUnexpected(nation, formatted, error),
  });
}

/**
 * Every release goes to the owner's audit log: who asked, which operation, which objects, which
 * fields were withheld, redacted or generalised. A request that released nothing (the gateway
 * reading the schema) is not a release.
 */
function auditRelease(audit: AuditLog, { principal, releases }: NationContext, operationName: string | null, query: string): void {
  if (releases.released.size === 0 && releases.withheld.length === 0) return;
  const fields = (list: ReleaseLog['withheld']) => list.map(({ object, field, reason }) => ({ object, field, reason }));
  audit.record({
    principal: { subject: principal.subject, nation: principal.nation, clearance: principal.clearance, roles: principal.roles, communities: principal.communities },
    operation: { name: operationName, queryHash: createHash('sha256').update(query).digest('hex') },
    released: [...releases.released],
    withheld: fields(releases.withheld),
    redacted: fields(releases.redacted),
    transformed: releases.transformed.map(({ object, field, reason, transform }) => ({ object, field, reason, transform })),
  });
}

/**
 * Errors the kit raises on purpose (GraphQLErrors: bad input, …) go out as they are. Anything else
 * (a database failure, a bug) could carry SQL or silo details: it is logged here and masked.
 */
function maskUnexpected(nation: string, formatted: GraphQLFormattedError, error: unknown): GraphQLFormattedError {
  const original = unwrapResolverError(error);
  if (original instanceof GraphQLError || formatted.extensions?.code !== 'INTERNAL_SERVER_ERROR') return formatted;
  console.error(`[nation ${nation}] internal error at ${formatted.path?.join('.') ?? 'request'}:`, original);
  return { message: `internal error in the ${nation} subgraph`, path: formatted.path, locations: formatted.locations, extensions: { code: 'INTERNAL_SERVER_ERROR' } };
}

interface HandlerDeps {
  nation: string;
  db: SiloDb;
  verify: AssertionVerifier;
  apollo: ApolloServer<NationContext>;
  /** The rules in force; a request keeps the engine it started with. */
  policy: { engine: PolicyEngine };
  enforcement: boolean;
}

function requestHandler(deps: HandlerDeps) {
  return (req: IncomingMessage, res: ServerResponse) => {
    serve(deps, req, res).catch((error: unknown) => {
      console.error(`[nation ${deps.nation}] request failed:`, error);
      if (!res.headersSent) sendJson(res, 500, { errors: [{ message: `internal error in the ${deps.nation} subgraph`, extensions: { code: 'INTERNAL_SERVER_ERROR' } }] });
      else res.end();
    });
  };
}

async function serve({ nation, db, verify, apollo, policy, enforcement }: HandlerDeps, req: IncomingMessage, res: ServerResponse): Promise<void> {
  const url = req.url ?? '/';
  const queryAt = url.indexOf('?');
  const path = queryAt === -1 ? url : url.slice(0, queryAt);
  if (path !== GRAPHQL_PATH) return sendJson(res, 404, { errors: [{ message: `nothing at ${path}: the GraphQL endpoint is ${GRAPHQL_PATH}` }] });

  // Who asks is settled before the body is even read: no assertion, no work.
  let principal;
  try {
    principal = await verify(singleHeader(req.headers[ASSERTION_HEADER]));
  } catch (error) {
    if (!(error instanceof AssertionError)) throw error;
    return sendJson(res, 401, { errors: [{ message: `${error.message} (header ${ASSERTION_HEADER})`, extensions: { code: 'UNAUTHENTICATED' } }] });
  }

  const text = await readBody(req);
  if (text === undefined) return sendJson(res, 413, { errors: [{ message: `request body over ${MAX_BODY_BYTES} bytes`, extensions: { code: 'BAD_REQUEST' } }] });
  const headers = headerMapOf(req);
  let body: unknown;
  if (req.method === 'POST' && headers.get('content-type')?.startsWith('application/json')) {
    try {
      body = text ? JSON.parse(text) : {};
    } catch {
      return sendJson(res, 400, { errors: [{ message: 'request body is not valid JSON', extensions: { code: 'BAD_REQUEST' } }] });
    }
  }
  const response = await apollo.executeHTTPGraphQLRequest({
    httpGraphQLRequest: { method: req.method ?? 'GET', headers, search: queryAt === -1 ? '' : url.slice(queryAt), body },
    context: async () => createNationContext(db, nation, principal, policy.engine, { enforcement }),
  });
  res.statusCode = response.status ?? 200;
  for (const [key, value] of response.headers) res.setHeader(key, value);
  if (response.body.kind === 'complete') {
    // A known length spares chunked framing: the answer goes out in one write.
    const body = Buffer.from(response.body.string, 'utf8');
    res.setHeader('content-length', body.length);
    return void res.end(body);
  }
  for await (const chunk of response.body.asyncIterator) res.write(chunk);
  res.end();
}

function singleHeader(value: string | string[] | undefined): string | undefined {
  return Array.isArray(value) ? value[0] : value;
}

function headerMapOf(req: IncomingMessage): HeaderMap {
  const headers = new HeaderMap();
  for (const [key, value] of Object.entries(req.headers)) {
    if (value !== undefined) headers.set(key, Array.isArray(value) ? value.join(', ') : value);
  }
  return headers;
}

async function readBody(req: IncomingMessage): Promise<string | undefined> {
  const chunks: Buffer[] = [];
  let size = 0;
  for await (const chunk of req) {
    size += (chunk as Buffer).length;
    if (size > MAX_BODY_BYTES) return undefined;
    chunks.push(chunk as Buffer);
  }
  return chunks.length === 1 ? chunks[0]!.toString('utf8') : Buffer.concat(chunks).toString('utf8');
}

function sendJson(res: ServerResponse, status: number, value: unknown): void {
  const text = JSON.stringify(value);
  res.writeHead(status, { 'content-type': 'application/json; charset=utf-8', 'content-length': Buffer.byteLength(text) });
  res.end(text);
}

function listen(http: Server, port: number, host: string): Promise<number> {
  return new Promise((resolve, reject) => {
    http.once('error', reject);
    http.listen(port, host, () => {
      http.off('error', reject);
      resolve((http.address() as AddressInfo).port);
    });
  });
}
