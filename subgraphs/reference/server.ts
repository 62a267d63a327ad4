/**
 * The reference subgraph's server: ATT&CK techniques and KEV vulnerabilities over HTTP. Public data,
 * but it answers only the coalition gateway: every request must carry a principal assertion the
 * gateway signed for `sovgraph:reference`, checked before the body is even read; anything else gets
 * 401 and an UNAUTHENTICATED error saying what was wrong. The front is plain node:http around Apollo
 * Server, as in the nation kit: it is one hop of every query that names a technique.
 */
import { createServer, type Server } from 'node:http';
import { ApolloServer } from '@apollo/server';
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
import { createAssertionVerifier, type AssertionVerifier } from '../../policies';
import { assertedRequestHandler, closeServer, listen } from '../kit/http';
import { loadAttackBundle, type AttackCatalogue } from './attack';
import { loadKevCatalogue, type KevCatalogue } from './kev';
import { buildReferenceSchema, type ReferenceContext } from './resolvers';

/** The audience the gateway signs this subgraph's assertions for (`sovgraph:<subgraph name>`). */
export const REFERENCE_AUDIENCE = 'sovgraph:reference';
export const REFERENCE_GRAPHQL_PATH = '/graphql';

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
  const http = createServer(assertedRequestHandler({ name: 'reference subgraph', path: REFERENCE_GRAPHQL_PATH, verify, apollo, contextFor: (principal) => ({ principal }) }));
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
    // The process stops the server itself (its CLI handles the signals).
    stopOnTerminationSignals: false,
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


async function stopBoth(http: Server, apollo: ApolloServer<ReferenceContext>): Promise<void> {
  await closeServer(http);
  await apollo.stop();
}
