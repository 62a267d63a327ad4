/**
 * A real coalition for a test file: every subgraph its own process on a free loopback port, a
 * temporary data directory, torn down afterwards.
 */
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { launchCoalition, type RunningCoalition } from '../../gateway/demo/launch';
import { mintToken, type TokenRequest } from '../../gateway/demo/tokens';

export interface TestCoalition {
  /** Also restarts a nation or the gateway on the same address (`restartNation`, `restartGateway`). */
  coalition: RunningCoalition;
  dataDir: string;
  token(request: TokenRequest): Promise<string>;
  /** POSTs to the gateway; returns the HTTP status and the parsed GraphQL body. */
  ask(token: string | undefined, query: string, variables?: Record<string, unknown>): Promise<GraphQLAnswer>;
  stop(): Promise<void>;
}

export interface GraphQLAnswer {
  status: number;
  data?: any;
  errors?: Array<{ message: string; path?: (string | number)[]; extensions?: Record<string, any> }>;
  extensions?: Record<string, any>;
}

export interface TestCoalitionOptions {
  seedSize?: number;
  nationTimeoutMs?: number;
  nations?: string[];
  rulesDir?: string;
  nationRulesDirs?: Record<string, string>;
  /** How often the gateway reads the nations' published rules (default 1000 ms). */
  policyPollMs?: number;
  /** Puts a proxy between the gateway and a nation (see LaunchOptions.routeToNation). */
  routeToNation?: (nation: string, url: string) => Promise<string>;
  /** 32 bytes sealing the gateway's cursors (see LaunchOptions.cursorKey); without it, a gateway restart voids them. */
  cursorKey?: Buffer;
  /** Runs on the fresh data directory before launch, e.g. to seed silos the launcher then leaves alone. */
  prepare?: (dataDir: string) => Promise<void>;
}

export async function startTestCoalition(options: TestCoalitionOptions = {}): Promise<TestCoalition> {
  const dataDir = mkdtempSync(join(tmpdir(), 'sovgraph-test-'));
  try {
    await options.prepare?.(dataDir);
    return await launchTestCoalition(dataDir, options);
  } catch (error) {
    rmSync(dataDir, { recursive: true, force: true });
    throw error;
  }
}

async function launchTestCoalition(dataDir: string, options: TestCoalitionOptions): Promise<TestCoalition> {
  const coalition = await launchCoalition({
    dataDir,
    gatewayPort: 0,
    referencePort: 0,
    firstNationPort: 0,
    seedSize: options.seedSize ?? 120,
    nationTimeoutMs: options.nationTimeoutMs ?? 1500,
    nations: options.nations,
    rulesDir: options.rulesDir,
    nationRulesDirs: options.nationRulesDirs,
    policyPollMs: options.policyPollMs,
    routeToNation: options.routeToNation,
    cursorKey: options.cursorKey,
  });
  return {
    coalition,
    dataDir,
    token: (request) => mintToken(coalition.keys.idpPrivateJwks[request.nation]!, request),
    ask: (token, query, variables) => postGraphQL(coalition.gateway.url, query, variables, token ? { authorization: `Bearer ${token}` } : {}),
    async stop() {
      await coalition.stop();
      rmSync(dataDir, { recursive: true, force: true });
    },
  };
}

export async function postGraphQL(url: string, query: string, variables: Record<string, unknown> = {}, headers: Record<string, string> = {}): Promise<GraphQLAnswer> {
  const response = await fetch(url, {
    method: 'POST',
    headers: { 'content-type': 'application/json', ...headers },
    body: JSON.stringify({ query, variables }),
  });
  return { status: response.status, ...((await response.json()) as object) };
}
