/**
 * One nation's subgraph over its own silo. It answers only requests carrying a principal assertion
 * the gateway signed for this nation; everything else is refused with 401 before any GraphQL runs
 * (the HTTP front is http.ts). Every field it answers is decided by the rules in force.
 */
import { createServer } from 'node:http';
import { ApolloServer, type GraphQLResponse } from '@apollo/server';
import { unwrapResolverError } from '@apollo/server/errors';
import {
  ApolloServerPluginCacheControlDisabled,
  ApolloServerPluginInlineTraceDisabled,
  ApolloServerPluginLandingPageDisabled,
  ApolloServerPluginSchemaReportingDisabled,
  ApolloServerPluginUsageReportingDisabled,
} from '@apollo/server/plugin/disabled';
import { GraphQLError, type GraphQLFormattedError } from 'graphql';
import { createAssertionVerifier, isNationCode, type RuleStore } from '../../policies';
import { createHash } from 'node:crypto';
import { openAuditLog, type AuditLog } from '../audit';
import { openSilo, SiloUnavailableError, type SiloDb } from '../silo';
import { createNationContext, type NationContext } from './context';
import type { NationSubgraphConfig } from './config';
import { assertedRequestHandler, closeServer, listen } from './http';
import { releaseExtensions, withWithheldErrors } from './releases';
import { buildNationSchema } from './schema';
import { openNationPolicy } from './policy-publication';
import { auditFeed } from './audit-feed';

export { loadNationConfig, readGatewayPublicKey, readPolicyTrust, readSignedRules, NationConfigError, type NationSubgraphConfig } from './config';

export interface RunningNationSubgraph {
  /** The GraphQL endpoint, e.g. `http://127.0.0.1:4101/graphql`. */
  url: string;
  db: SiloDb;
  /** The nation's audit log of releases (hash-chained, in the silo). */
  audit: AuditLog;
  /** The signed rules in force here, their history and the refusals. */
  policy: RuleStore;
  /** Stops listening, drops open connections, closes the silo. */
  stop(): Promise<void>;
}

export const GRAPHQL_PATH = '/graphql';
/** Error codes of a nation's 503 answers: nothing was released, the request may be asked again. */
export const SILO_UNAVAILABLE = 'SILO_UNAVAILABLE';
export const AUDIT_UNAVAILABLE = 'AUDIT_UNAVAILABLE';

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
    const policy = await openNationPolicy(db, { nation: config.nation, trust: config.policyTrust, bootstrap: config.signedRules });
    apollo = createApolloServer(config.nation, enforcement, audit);
    await apollo.start();
    const front = { name: `${config.nation} subgraph`, path: GRAPHQL_PATH, verify, apollo };
    const graphql = assertedRequestHandler({ ...front, contextFor: (principal) => createNationContext(db, config.nation, principal, policy.engine(), { enforcement }) });
    const audited = auditFeed(db, audit, config.nation, verify);
    const http = createServer((req, res) => {
      if (!policy.handle(req, res) && !audited(req, res)) graphql(req, res);
    });
    // Longer than the gateway's pooled connections idle, so the gateway never writes to a socket we just closed.
    http.keepAliveTimeout = 35_000;
    const port = await listen(http, config.port, host);
    const running = apollo;
    const runningAudit = audit;
    return {
      url: `http://${host.includes(':') ? `[${host}]` : host}:${port}${GRAPHQL_PATH}`,
      db,
      audit: runningAudit,
      policy: policy.store,
      async stop() {
        await closeServer(http);
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
              if (response.body.kind !== 'single') return;
              const result = response.body.singleResult;
              if (result.errors?.some((e) => e.extensions?.code === SILO_UNAVAILABLE)) return unavailable(response, SILO_UNAVAILABLE, `${nation}'s silo is unavailable: nothing was released, ask again`);
              result.errors = withWithheldErrors(result.errors, contextValue.releases);
              const released = releaseExtensions(nation, contextValue.releases);
              if (released) result.extensions = { ...result.extensions, sovgraph: released };
              // No release without its record: the answer leaves once the record is committed, or not at all.
              try {
                await auditRelease(audit, contextValue, request.operationName ?? null, request.query ?? '');
              } catch {
                // The log told the operator, once per failed write.
                unavailable(response, AUDIT_UNAVAILABLE, `${nation}'s audit log could not record this release: nothing was released, ask again`);
              }
            },
          };
        },
      },
    ],
    includeStacktraceInErrorResponses: false,
    // The process stops the server itself, in order (see its stop()); Apollo's own signal handler
    // would stop it a second time and re-raise the signal into ours, and the process never exits.
    stopOnTerminationSignals: false,
    formatError: (formatted, error) => maskUnexpected(nation, formatted, error),
  });
}

/**
 * Every release goes to the owner's audit log: who asked, which operation, which objects, which
 * fields were withheld, redacted or generalised. A request that released nothing (the gateway
 * reading the schema) is not a release.
 */
async function auditRelease(audit: AuditLog, { principal, releases }: NationContext, operationName: string | null, query: string): Promise<void> {
  if (releases.released.size === 0 && releases.withheld.length === 0) return;
  // The log writes each entry's JSON at once, of the entry's own fields only (not the release's paths).
  await audit.record({
    principal,
    operation: { name: operationName, queryHash: queryHashOf(query) },
    released: [...releases.released],
    withheld: releases.withheld,
    redacted: releases.redacted,
    transformed: releases.transformed,
  });
}

/** The answer could not be given now, whole and recorded: 503 and one error, no data (the gateway says NATION_UNAVAILABLE). */
function unavailable(response: GraphQLResponse, code: string, message: string): void {
  response.http.status = 503;
  response.body = { kind: 'single', singleResult: { errors: [{ message, extensions: { code } }] } };
}

/** The gateway sends the same few query texts over and over: each is hashed once (a bounded memo). */
const queryHashes = new Map<string, string>();
function queryHashOf(query: string): string {
  let hash = queryHashes.get(query);
  if (hash === undefined) {
    hash = createHash('sha256').update(query).digest('hex');
    if (queryHashes.size >= 1000) queryHashes.clear();
    queryHashes.set(query, hash);
  }
  return hash;
}

/**
 * Errors the kit raises on purpose (GraphQLErrors: bad input, …) go out as they are. Anything else
 * (a database failure, a bug) could carry SQL or silo details: it is logged here and masked.
 */
function maskUnexpected(nation: string, formatted: GraphQLFormattedError, error: unknown): GraphQLFormattedError {
  const original = unwrapResolverError(error);
  if (original instanceof GraphQLError || formatted.extensions?.code !== 'INTERNAL_SERVER_ERROR') return formatted;
  const where = formatted.path?.join('.') ?? 'request';
  if (original instanceof SiloUnavailableError) {
    console.error(`[nation ${nation}] ${where}: ${original.message}`);
    return { message: original.message, extensions: { code: SILO_UNAVAILABLE } };
  }
  // One line, never the error object: a database error's fields may quote what the request sent.
  console.error(`[nation ${nation}] internal error at ${where}: ${describeInternal(original)}`);
  return { message: `internal error in the ${nation} subgraph`, path: formatted.path, locations: formatted.locations, extensions: { code: 'INTERNAL_SERVER_ERROR' } };
}

function describeInternal(error: unknown): string {
  if (!(error instanceof Error)) return typeof error;
  const frame = error.stack?.split('\n').find((line) => line.trimStart().startsWith('at '))?.trim();
  return `${error.name}: ${error.message.split('\n')[0]}${frame ? ` (${frame})` : ''}`;
}
