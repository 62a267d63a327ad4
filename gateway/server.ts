/**
 * The coalition gateway: verifies the caller's national token, composes the supergraph from the
 * subgraphs' own SDL, and serves it with the nations fan-out data source.
 */
import type { AddressInfo } from 'node:net';
import type { IncomingMessage } from 'node:http';
import { ApolloGateway } from '@apollo/gateway';
import { ApolloServer } from '@apollo/server';
import { ApolloServerPluginLandingPageDisabled } from '@apollo/server/plugin/disabled';
import type { JWK } from 'jose';
import { createAssertionSigner, type AssertionSigner, type PolicyEngine, type PolicyTrustStore, type Principal, type RuleStore } from '../policies';
import { createGatewayPolicy } from './policy/pickup';
import { policyRoutes } from './policy/routes';
import { consoleRoutes } from './console';
import { createCursorSeal, EnforcingGateway, policySchemaFromContract } from './enforcement';
import { createTokenVerifier, TokenRejected, type TrustStoreConfig } from './auth/trust-store';
import { NationsDataSource, type FanoutContext, type NationEndpoint } from './fanout/nations-source';
import { AssertedSubgraphSource } from './fanout/subgraph-source';
import { SubgraphClient, SubgraphUnavailable, type ClientCircuit } from './fanout/subgraph-client';
import type { CircuitSettings } from './fanout/circuit';
import { admitRequest, FairShare, type FairShareSettings } from './admission';
import { composeSupergraph, type SubgraphSdl } from './supergraph/compose';
import { NATIONS_SUBGRAPH, NATION_LINKS_SUBGRAPH } from './supergraph/nation-views';
import { createHttpServer, sendJson } from './http-adapter';
import { ASSERTION_HEADER } from '../policies';
import { operationLimits, resolveLimits, type OperationLimits } from './limits';

export interface GatewayConfig {
  host?: string;
  /** 0 picks a free port. */
  port: number;
  nations: NationEndpoint[];
  /** Other subgraphs composed beside the nations (the reference subgraph, …). */
  subgraphs: { name: string; url: string }[];
  trustStore: TrustStoreConfig;
  /** The gateway's own key for signing principal assertions. */
  assertionPrivateJwk: JWK;
  /** Per-nation deadline in ms (default 3000). */
  nationTimeoutMs?: number;
  /** How long to wait at start for at least one nation to serve its SDL (default 30 s). */
  startupWaitMs?: number;
  /** Each nation's and the coalition's public policy keys. */
  policyTrust: PolicyTrustStore;
  /** Signed rule files to start with: the coalition's, and any nation's (each nation's own subgraph publishes newer ones). */
  signedRules: string[];
  /** How often the nations' published rules are read (default 1000 ms). */
  policyPollMs?: number;
  /** false serves answers as the nations send them: only for the benchmark's "policy off" baseline. */
  enforcement?: boolean;
  /** 32 bytes sealing the cursors clients see; replicas must share it (default: random per start). */
  cursorKey?: Buffer;
  /** What one request may ask before any nation is asked (see gateway/limits/settings.ts for the defaults). */
  limits?: Partial<OperationLimits>;
  /** Each nation's and subgraph's circuit breaker (defaults: DEFAULT_CIRCUIT_SETTINGS in fanout/circuit.ts). */
  circuit?: Partial<CircuitSettings>;
  /** Requests run at once per caller, per caller nation and in all (defaults: DEFAULT_FAIR_SHARE in admission/). */
  fairShare?: Partial<FairShareSettings>;
}

export interface RunningGateway {
  url: string;
  /** Nations whose SDL differed from the contract and were left out. */
  refusedNations: string[];
  /** The signed rules in force at the gateway, their history here, and the refusals. */
  policy: RuleStore;
  stop(): Promise<void>;
}

export interface GatewayContext extends FanoutContext {
  principal: Principal;
  /** Rules other than those in force, for this request only (a policy officer's simulation of a draft). */
  engine?: PolicyEngine;
}

/** The gateway's own identity when it reads subgraph schemas: it sees no data (user-assigned code XGW). */
const SCHEMA_READER: Principal = { subject: 'sovgraph-gateway', nation: 'XGW', clearance: 'UNCLASSIFIED', roles: ['schema-reader'], communities: [] };

/**
 * Unless told otherwise by this variable, which it reads when constructed, Apollo Gateway probes the
 * cloud providers' metadata addresses (Alibaba, AWS, Azure, GCP: 100.100.100.200, 169.254.169.254,
 * metadata.google.internal) to describe its host, and sends metrics to Apollo every hour. A
 * coalition gateway talks to its nations and subgraphs and to no one else, whatever the operator's
 * environment says.
 */
export function withoutApolloTelemetry(): void {
  process.env.APOLLO_TELEMETRY_DISABLED = 'true';
}

export async function startGateway(config: GatewayConfig): Promise<RunningGateway> {
  const timeoutMs = config.nationTimeoutMs ?? 3000;
  const fairShare = new FairShare(config.fairShare);
  const sign = await createAssertionSigner({ privateJwk: config.assertionPrivateJwk });
  const { contract, nations, refusedNations } = await readNationContract(config, sign);
  const others = await Promise.all(config.subgraphs.map((s) => readSdl(s.name, s.url, sign, timeoutMs)));
  const supergraphSdl = composeSupergraph(contract, others);

  const limits = resolveLimits(config.limits);
  // An open circuit is probed as the schema reader: its `{ __typename }` sees no data and releases nothing.
  const circuitFor = (audience: string): ClientCircuit => ({ settings: config.circuit, probeHeaders: async () => ({ [ASSERTION_HEADER]: await sign(SCHEMA_READER, audience) }) });
  const nationsSource = new NationsDataSource({ nations, contractSdl: contract, sign, timeoutMs, maxNationRequests: limits.maxNationRequests, circuitFor: (nation) => circuitFor(`sovgraph:${nation}`) });
  const otherSources = new Map(config.subgraphs.map((s) => [s.name, new AssertedSubgraphSource(s.name, s.url, sign, timeoutMs, circuitFor(`sovgraph:${s.name}`))]));
  const policySchema = policySchemaFromContract(contract);
  const policy = await createGatewayPolicy({ trust: config.policyTrust, signedRules: config.signedRules, nations, schema: policySchema, pollMs: config.policyPollMs });
  await policy.pollOnce();
  if (config.enforcement === false) console.warn('[gateway] POLICY ENFORCEMENT IS OFF: answers go out as the nations send them (benchmark baseline only)');
  withoutApolloTelemetry();
  const apolloGateway = new ApolloGateway({
    supergraphSdl,
    buildService: ({ name }) => {
      if (name === NATIONS_SUBGRAPH || name === NATION_LINKS_SUBGRAPH) return nationsSource;
      const source = otherSources.get(name);
      if (!source) throw new Error(`no data source for subgraph ${name}`);
      return source;
    },
  });
  const gateway = new EnforcingGateway(apolloGateway, {
    engine: (context) => (context as GatewayContext).engine ?? policy.engine(),
    principalOf: (context) => (context as GatewayContext).principal,
    enabled: config.enforcement !== false,
    cursors: createCursorSeal(config.cursorKey),
    collectingWithheld: (context, withheld): GatewayContext => ({ ...(context as GatewayContext), withheldAtSource: withheld }),
  });
  const { plugin: limitsPlugin, ...limitSettings } = operationLimits({ contractSdl: contract, nations: nations.map((n) => n.nation), limits });
  const server = new ApolloServer<GatewayContext>({
    gateway,
    ...limitSettings,
    plugins: [ApolloServerPluginLandingPageDisabled(), limitsPlugin, gateway.plugin],
    includeStacktraceInErrorResponses: false,
    // The process stops the server itself, in order (see its stop()); Apollo's own signal handler
    // would stop it a second time and re-raise the signal into ours, and the process never exits.
    stopOnTerminationSignals: false,
  });
  await server.start();

  const verifyToken = createTokenVerifier(config.trustStore);
  const http = createHttpServer<GatewayContext>(
    {
      server,
      async context(req, res) {
        let principal: Principal;
        try {
          principal = await verifyToken(bearerToken(req));
        } catch (error) {
          if (!(error instanceof TokenRejected)) throw error;
          res.setHeader('www-authenticate', 'Bearer');
          sendJson(res, 401, { errors: [{ message: error.message, extensions: { code: 'UNAUTHENTICATED' } }] });
          return undefined;
        }
        // Verified first, so the bounds count callers the trust store vouches for.
        return (await admitRequest(fairShare, principal, res)) ? { principal } : undefined;
      },
    },
    {
      '/health': (_req, res) => {
        const alerts = policy.store.alerts();
        const rules = Object.fromEntries(policy.store.allInForce().map((f) => [f.nation, f.version]));
        const circuits = { ...nationsSource.circuits(), ...Object.fromEntries([...otherSources].map(([name, source]) => [name, source.circuitState])) };
        sendJson(res, 200, { status: alerts.length ? 'alert' : 'ok', nations: nations.map((n) => n.nation), refusedNations, rules, alerts, circuits });
      },
      ...policyRoutes({
        policy,
        verifyToken,
        bearerToken,
        nations,
        sign,
        schema: policySchema,
        async execute(query, variables, context) {
          const response = await server.executeOperation({ query, variables }, { contextValue: context });
          if (response.body.kind !== 'single') throw new Error('a simulation answers in one part');
          return response.body.singleResult;
        },
      }),
      ...consoleRoutes(),
    },
  );
  await new Promise<void>((resolve) => http.listen(config.port, config.host ?? '127.0.0.1', resolve));
  const { port } = http.address() as AddressInfo;
  return {
    url: `http://${config.host ?? '127.0.0.1'}:${port}/graphql`,
    refusedNations,
    policy: policy.store,
    // Once, however often it is asked (a signal handler and a test's teardown may both ask).
    stop: once(async () => {
      policy.stop();
      await new Promise<void>((resolve) => http.close(() => resolve()));
      http.closeAllConnections();
      await server.stop();
      await nationsSource.close();
      await Promise.all([...otherSources.values()].map((s) => s.close()));
    }),
  };
}

function once(work: () => Promise<void>): () => Promise<void> {
  let running: Promise<void> | undefined;
  return () => (running ??= work());
}

function bearerToken(req: IncomingMessage): string | undefined {
  const header = req.headers.authorization;
  const match = header?.match(/^Bearer\s+(\S+)$/i);
  return match?.[1];
}

/**
 * Every nation must serve the same contract. The first answer sets it; a nation serving anything
 * else is refused (left out of the coalition) rather than allowed to drift. Nations that do not
 * answer yet stay in: their data source reports them unavailable until they do.
 */
async function readNationContract(config: GatewayConfig, sign: AssertionSigner) {
  const deadline = Date.now() + (config.startupWaitMs ?? 30_000);
  for (;;) {
    const answers = await Promise.all(
      config.nations.map(async (n) => ({ ...n, sdl: await readSdl(n.nation, n.url, sign, 3000, `sovgraph:${n.nation}`).then((s) => s.sdl, () => undefined) })),
    );
    const contract = answers.find((a) => a.sdl)?.sdl;
    if (contract) {
      const refusedNations = answers.filter((a) => a.sdl && a.sdl !== contract).map((a) => a.nation);
      for (const nation of refusedNations) console.error(`[gateway] nation ${nation} serves a schema that differs from the contract: left out`);
      return { contract, nations: config.nations.filter((n) => !refusedNations.includes(n.nation)), refusedNations };
    }
    if (Date.now() > deadline) throw new Error(`no nation served its schema within ${config.startupWaitMs ?? 30_000} ms: ${config.nations.map((n) => n.url).join(', ')}`);
    await new Promise((r) => setTimeout(r, 250));
  }
}

async function readSdl(name: string, url: string, sign: AssertionSigner, timeoutMs: number, audience = `sovgraph:${name}`): Promise<SubgraphSdl> {
  const client = new SubgraphClient(url, timeoutMs);
  try {
    const answer = await client.post({ query: '{ _service { sdl } }' }, { [ASSERTION_HEADER]: await sign(SCHEMA_READER, audience) });
    const sdl = (answer.data?._service as { sdl?: string } | undefined)?.sdl;
    if (!sdl) throw new SubgraphUnavailable(`no SDL: ${answer.errors?.map((e) => e.message).join('; ') ?? 'empty answer'}`);
    return { name, url, sdl };
  } finally {
    await client.close();
  }
}
