/**
 * The reference subgraph's server: ATT&CK techniques and KEV vulnerabilities over HTTP. Public data,
 * but it answers only the coalition gateway: every request must carry a principal assertion the
 * gateway signed for `sovgraph:reference`, checked before the body is even read; anything else gets
 * 401 and an UNAUTHENTICATED error saying what was wrong. The front is plain node:http around Apollo
 * Server, as in the nation kit: it is one hop of every query that names a technique.
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
import type { JWK } from 'jose';
import { ASSERTION_HEADER, AssertionError, createAssertionVerifier, type AssertionVerifier } from '../../policies';
import { loadAttackBundle, type AttackCatalogue } from './attack';
import { loadKevCatalogue, type KevCatalogue } from './kev';
import { buildReferenceSchema, type ReferenceContext } from './resolvers';

/** The audience the gateway signs this subgraph's assertions for (`sovgraph:<subgraph name>`). */
export const REFERENCE_AUDIENCE = 'sovgraph:reference';
export const REFERENCE_GRAPHQL_PATH = '/graphql';
const MAX_BODY_BYTES = 1 << 20;

export interface ReferenceSubgraphOptions {
  /** 0 picks a free port. */
  port: number;
  /** Default 127.0.0.1. */
  host?: string;
  /** The gateway's Ed25519 public key: only assertions it signed are accepted. */
  gatewayPublicJwk: JWK;
  /** An ATT&CK STIX 2.1 bundle; default: the built-in technique set. */
  attackBundlePath?: string;
  /** A CISA KEV catalogue file; default: the built-in catalogue. */
  kevPath?: string;
}

export interface RunningReferenceSubgraph {
  /** The GraphQL endpoint, e.g. `http://127.0.0.1:4100/graphql`. */
  url: string;
  /** What was loaded, with what was rejected or skipped, for the operator to see. */
  attack: AttackCatalogue;
  kev: KevCatalogue;
  /** Stops listening and drops open connections. */
  stop(): Promise<void>;
}

export async function startReferenceSubgraph(options: ReferenceSubgraphOptions): Promise<RunningReferenceSubgraph> {
  const host = options.host ?? '127.0.0.1';
  const attack = loadAttackBundle(options.attackBundlePath);
  const kev = loadKevCatalogue(options.kevPath);
  const verify = await createVerifier(options.gatewayPublicJwk);
  const apollo = createApolloServer(attack, kev);
  await apollo.start();
  const http = createServer(requestHandler({ verify, apollo }));
  // Longer than the gateway's pooled connections idle, so the gateway never writes to a socket we just closed.
  http.keepAliveTimeout = 35_000;
  let port: number;
  try {
    port = await listen(http, options.port, host);
  } catch (error) {
    await apollo.stop();
    throw error;
  }
  return {
    url: `http://${host.includes(':') ? `[${host}]` : host}:${port}${REFERENCE_GRAPHQL_PATH}`,
    attack,
    kev,
    stop: () => stopBoth(http, apollo),
  };
}

/** A key jose cannot import is an operator's mistake: say so, rather than jose's bare message. */
async function createVerifier(publicJwk: JWK): Promise<AssertionVerifier> {
  if (publicJwk.d !== undefined) throw new Error("the gateway key given to the reference subgraph holds a private key (\"d\"): give it the gateway's public key only");
  try {
    return await createAssertionVerifier({ publicJwk, audience: REFERENCE_AUDIENCE });
  } catch (error) {
    throw new Error(`the gateway public key is not a usable Ed25519 JWK: ${(error as Error).message}`);
  }
}

function createApolloServer(attack: AttackCatalogue, kev: KevCatalogue): ApolloServer<ReferenceContext> {
  return new ApolloServer<ReferenceContext>({
    schema: buildReferenceSchema(attack, kev),
    // Introspection stays on (behind the assertion, like everything); nothing is reported to any
    // outside service, whatever the environment says.
    plugins: [
      ApolloServerPluginLandingPageDisabled(),
      ApolloServerPluginCacheControlDisabled(),
      ApolloServerPluginInlineTraceDisabled(),
      ApolloServerPluginUsageReportingDisabled(),
      ApolloServerPluginSchemaReportingDisabled(),
    ],
    includeStacktraceInErrorResponses: false,
    formatError: maskUnexpected,
  });
}

/** Errors raised on purpose (GraphQLErrors) go out as they are; anything else is a bug: logged, then masked. */
function maskUnexpected(formatted: GraphQLFormattedError, error: unknown): GraphQLFormattedError {
  const original = unwrapResolverError(error);
  if (original instanceof GraphQLError || formatted.extensions?.code !== 'INTERNAL_SERVER_ERROR') return formatted;
  console.error(`[reference] internal error at ${formatted.path?.join('.') ?? 'request'}:`, original);
  return { message: 'internal error in the reference subgraph', path: formatted.path, locations: formatted.locations, extensions: { code: 'INTERNAL_SERVER_ERROR' } };
}

interface HandlerDeps {
  verify: AssertionVerifier;
  apollo: ApolloServer<ReferenceContext>;
}

/** Whatever goes wrong in one request ends as an answer to that request, never as a crash. */
function requestHandler(deps: HandlerDeps) {
  return (req: IncomingMessage, res: ServerResponse) => {
    serve(deps, req, res).catch((error: unknown) => {
      console.error('[reference] request failed:', error);
      if (!res.headersSent) sendError(res, 500, 'internal error in the reference subgraph', 'INTERNAL_SERVER_ERROR');
      else res.end();
    });
  };
}

async function serve({ verify, apollo }: HandlerDeps, req: IncomingMessage, res: ServerResponse): Promise<void> {
  const url = req.url ?? '/';
  const queryAt = url.indexOf('?');
  const path = queryAt === -1 ? url : url.slice(0, queryAt);
  if (path !== REFERENCE_GRAPHQL_PATH) return sendError(res, 404, `nothing at ${path}: the GraphQL endpoint is ${REFERENCE_GRAPHQL_PATH}`, 'NOT_FOUND');

  // Who asks is settled before the body is read: no assertion, no work.
  let principal;
  try {
    principal = await verify(singleHeader(req.headers[ASSERTION_HEADER]));
  } catch (error) {
    if (!(error instanceof AssertionError)) throw error;
    return sendError(res, 401, `${error.message} (header ${ASSERTION_HEADER})`, 'UNAUTHENTICATED');
  }

  const text = await readBody(req);
  if (text === undefined) return sendError(res, 413, `request body over ${MAX_BODY_BYTES} bytes`, 'BAD_REQUEST');
  const headers = headerMapOf(req);
  let body: unknown;
  if (req.method === 'POST' && headers.get('content-type')?.startsWith('application/json')) {
    try {
      body = text ? JSON.parse(text) : {};
    } catch {
      return sendError(res, 400, 'request body is not valid JSON', 'BAD_REQUEST');
    }
  }
  const response = await apollo.executeHTTPGraphQLRequest({
    httpGraphQLRequest: { method: req.method ?? 'GET', headers, search: queryAt === -1 ? '' : url.slice(queryAt), body },
    context: async () => ({ principal }),
  });
  res.statusCode = response.status ?? 200;
  for (const [key, value] of response.headers) res.setHeader(key, value);
  if (response.body.kind === 'complete') return void res.end(response.body.string);
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

/** The body as text, or undefined once it passes the limit (nothing here needs a large request). */
async function readBody(req: IncomingMessage): Promise<string | undefined> {
  const chunks: Buffer[] = [];
  let size = 0;
  for await (const chunk of req) {
    size += (chunk as Buffer).length;
    if (size > MAX_BODY_BYTES) return undefined;
    chunks.push(chunk as Buffer);
  }
  return Buffer.concat(chunks).toString('utf8');
}

function sendError(res: ServerResponse, status: number, message: string, code: string): void {
  const text = JSON.stringify({ errors: [{ message, extensions: { code } }] });
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

async function stopBoth(http: Server, apollo: ApolloServer<ReferenceContext>): Promise<void> {
  await new Promise<void>((resolve) => {
    http.close(() => resolve());
    http.closeAllConnections();
  });
  await apollo.stop();
}
