/**
 * Brings a whole coalition up as real processes: each nation's subgraph over its own silo, the
 * reference subgraph, then the gateway. Used by `npm start` and by the integration tests (which
 * pass port 0 everywhere and a temporary data directory).
 */
import { spawn, type ChildProcess } from 'node:child_process';
import { existsSync, mkdirSync, readdirSync, readFileSync, writeFileSync } from 'node:fs';
import { dirname, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { DEFAULT_RULES_DIR } from '../../policies';
import { startGateway, type GatewayConfig, type RunningGateway } from '../server';
import type { OperationLimits } from '../limits';
import { DEFAULT_FIRST_NATION_PORT, DEFAULT_GATEWAY_PORT, DEFAULT_REFERENCE_PORT, DEMO_NATIONS } from './coalition';
import { COALITION_POLICY_HOLDER, demoPolicyKeys, ensureDemoKeys, type DemoKeys, type DemoPolicyKeys } from './keys';

const REPO_ROOT = resolve(dirname(fileURLToPath(import.meta.url)), '../..');
/** Subgraphs and tools run as their own Node processes, TypeScript loaded by tsx. */
const NODE_WITH_TSX = [process.execPath, '--import', 'tsx'] as const;

export interface LaunchOptions {
  dataDir: string;
  nations?: readonly string[];
  /** 0 everywhere picks free ports (tests). */
  gatewayPort?: number;
  referencePort?: number;
  firstNationPort?: number;
  /** Objects per nation in the generated seed (only when a silo has not been seeded yet). */
  seedSize?: number;
  nationTimeoutMs?: number;
  /** The rule folder every holder starts with, signed with the demo's policy keys (default: policies/rules). */
  rulesDir?: string;
  /**
   * A misbehaving nation, in tests: its subgraph enforces this folder instead, signed with a key of
   * its own that the coalition's trust store does not hold, so the gateway refuses it.
   */
  nationRulesDirs?: Readonly<Record<string, string>>;
  /** How often the gateway reads the nations' published rules (default 1000 ms). */
  policyPollMs?: number;
  /**
   * A nation that forges its answers, in tests: given a nation's address, returns the one the
   * gateway is to use instead (a proxy in front of it that rewrites what it answers).
   */
  routeToNation?: (nation: string, url: string) => Promise<string>;
  /** Changes to the gateway's operation limits (default: gateway/limits/settings.ts). */
  limits?: Partial<OperationLimits>;
  /** Changes to fair share and to the nations' circuits (defaults: gateway/admission, gateway/fanout/circuit.ts). */
  fairShare?: GatewayConfig['fairShare'];
  circuit?: GatewayConfig['circuit'];
  /** false: no policy anywhere, the benchmark's "policy off" baseline. */
  enforcement?: boolean;
  /** Each subgraph process writes V8 CPU profiles into `<dir>/<name>/` when it stops (`npm run bench:profile`). */
  cpuProfileDir?: string;
  /** 32 bytes sealing the gateway's cursors: with it, a cursor handed out before a gateway restart still works. */
  cursorKey?: Buffer;
  log?: (line: string) => void;
}

export interface RunningNation {
  nation: string;
  url: string;
  /** The nation's process now (a restart replaces it). */
  child: ChildProcess;
}

export interface RunningCoalition {
  /** The gateway now (a restart replaces it, on the same address). */
  readonly gateway: RunningGateway;
  nations: RunningNation[];
  reference: { url: string; child: ChildProcess };
  keys: DemoKeys & DemoPolicyKeys;
  /** Stops one nation's subgraph (to show what the coalition does without it). */
  stopNation(nation: string): Promise<void>;
  /**
   * Stops a nation's subgraph (or finds it already dead, killed) and starts it again over the same
   * silo on the same port, so the gateway's configured address stays valid.
   */
  restartNation(nation: string): Promise<void>;
  /**
   * Stops the gateway and starts it again with the same configuration on the same port; `changes`
   * (kept for later restarts) model a deployment that changed, e.g. `{ cursorKey: undefined }` for
   * one that lost or never set its cursor key.
   */
  restartGateway(changes?: Pick<Partial<GatewayConfig>, 'cursorKey'>): Promise<void>;
  stop(): Promise<void>;
}

/** Where `npm start` reads the cursor key: 64 hex characters (32 bytes). */
export const CURSOR_KEY_VARIABLE = 'SOVGRAPH_CURSOR_KEY';

/** A cursor key written as 64 hex characters, or a clear error naming where it came from. */
export function parseCursorKey(hex: string, source = CURSOR_KEY_VARIABLE): Buffer {
  const text = hex.trim();
  if (!/^[0-9a-fA-F]{64}$/.test(text)) {
    throw new Error(`${source}: the cursor key must be 64 hexadecimal characters (32 bytes), got ${text.length} characters${/[^0-9a-fA-F]/.test(text) ? ' with some not hexadecimal' : ''}; make one with: openssl rand -hex 32`);
  }
  return Buffer.from(text, 'hex');
}

export async function launchCoalition(options: LaunchOptions): Promise<RunningCoalition> {
  const log = options.log ?? (() => {});
  const nations = options.nations ?? DEMO_NATIONS;
  const dataDir = resolve(options.dataDir);
  const keys = await ensureDemoKeys(dataDir, nations);
  const children: ChildProcess[] = [];
  try {
    await seedSilosOnce(dataDir, nations, options.seedSize ?? 300, log);
    const signed = await signStartupRules(dataDir, nations, options);
    const portOf = (i: number) => (options.firstNationPort === 0 ? 0 : (options.firstNationPort ?? DEFAULT_FIRST_NATION_PORT) + i);
    const referencePort = options.referencePort ?? DEFAULT_REFERENCE_PORT;
    const spawnNation = (nation: string, port: number) =>
      spawnSubgraph(nation, ['subgraphs/cli/nation.ts', '--nation', nation, '--port', String(port), '--data', siloDir(dataDir, nation), '--gateway-key', keys.gatewayPublicKeyFile, ...policyArgs(options, signed, nation)], children, log, options.cpuProfileDir);
    const [reference, ...running] = await Promise.all([
      spawnSubgraph('reference', ['subgraphs/cli/reference.ts', '--port', String(referencePort), '--gateway-key', keys.gatewayPublicKeyFile], children, log, options.cpuProfileDir),
      ...nations.map((nation, i) => spawnNation(nation, portOf(i))),
    ]);
    const runningNations: RunningNation[] = running.map((r, i) => ({ nation: nations[i]!, ...r }));
    let gatewayConfig: GatewayConfig = {
      port: options.gatewayPort ?? DEFAULT_GATEWAY_PORT,
      nations: await Promise.all(runningNations.map(async ({ nation, url }) => ({ nation, url: options.routeToNation ? await options.routeToNation(nation, url) : url }))),
      subgraphs: [{ name: 'reference', url: reference!.url }],
      trustStore: keys.trustStore,
      assertionPrivateJwk: keys.gatewayPrivateJwk,
      nationTimeoutMs: options.nationTimeoutMs,
      policyTrust: signed.policyTrust,
      signedRules: [...signed.coalitionFiles.values()],
      policyPollMs: options.policyPollMs,
      limits: options.limits,
      fairShare: options.fairShare,
      circuit: options.circuit,
      ...(options.enforcement === false && { enforcement: false }),
      cursorKey: options.cursorKey,
    };
    let gateway = await startGateway(gatewayConfig);
    return {
      get gateway() {
        return gateway;
      },
      nations: runningNations,
      reference: reference!,
      keys: { ...keys, policyKeysDir: signed.policyKeysDir, policyKeys: signed.policyKeys, policyTrust: signed.policyTrust, policyTrustFile: signed.policyTrustFile },
      async stopNation(nation) {
        const running = runningNations.find((n) => n.nation === nation);
        if (running) await stopChild(running.child);
      },
      async restartNation(nation) {
        const running = runningNations.find((n) => n.nation === nation);
        if (!running) throw new Error(`restartNation: ${nation} is not in this coalition (${nations.join(', ')})`);
        await stopChild(running.child);
        running.child = (await spawnNation(nation, portIn(running.url))).child;
      },
      async restartGateway(changes = {}) {
        await gateway.stop();
        gatewayConfig = { ...gatewayConfig, ...changes, port: portIn(gateway.url) };
        gateway = await startGateway(gatewayConfig);
      },
      async stop() {
        await gateway.stop();
        await Promise.all(children.map(stopChild));
      },
    };
  } catch (error) {
    await Promise.all(children.map(stopChild));
    throw error;
  }
}

function portIn(url: string): number {
  return Number(new URL(url).port);
}

function policyArgs(options: LaunchOptions, signed: StartupRules, nation: string): string[] {
  return [
    '--policy-trust',
    signed.trustFileOf.get(nation) ?? '',
    '--signed-rules',
    signed.dirOf.get(nation) ?? '',
    ...(options.enforcement === false ? ['--benchmark-without-policy'] : []),
  ];
}

interface StartupRules extends DemoPolicyKeys {
  /** Every holder's signed file from the shared folder: what the gateway starts with. */
  coalitionFiles: Map<string, string>;
  /** Each nation's folder of signed files (its own and the coalition's) and its trust store. */
  dirOf: Map<string, string>;
  trustFileOf: Map<string, string>;
}

/**
 * Signs the rule folder with the officers' key files (made on first start), as the officers would
 * have, and gives each nation its own two files; a silo that keeps a newer version puts that one
 * back in force instead. The signing runs as the policy command line in a process of its own: this
 * process runs the gateway, and no private policy key is ever loaded into it.
 */
async function signStartupRules(dataDir: string, nations: readonly string[], options: LaunchOptions): Promise<StartupRules> {
  const keysDir = join(dataDir, 'keys', 'policy');
  const signedDir = join(dataDir, 'policy', 'signed');
  await signFolder(options.rulesDir ?? DEFAULT_RULES_DIR, keysDir, signedDir, 'the demo launcher');
  const keys = demoPolicyKeys(keysDir, join(dataDir, 'keys', 'policy-trust.json'));
  const coalitionFiles = new Map(readdirSync(signedDir).filter((f) => f.endsWith('.jws')).map((f) => [f.slice(0, -4), readFileSync(join(signedDir, f), 'utf8')]));
  const dirOf = new Map<string, string>();
  const trustFileOf = new Map<string, string>();
  for (const nation of nations) {
    const dir = join(dataDir, 'policy', nation);
    mkdirSync(dir, { recursive: true });
    let own = coalitionFiles.get(nation);
    let trustFile = keys.policyTrustFile;
    const rogueDir = options.nationRulesDirs?.[nation];
    if (rogueDir) {
      const rogueKeys = join(dir, 'rogue-keys');
      await signFolder(rogueDir, rogueKeys, rogueKeys, `a rogue officer of ${nation}`, nation);
      own = readFileSync(join(rogueKeys, `${nation}.jws`), 'utf8');
      const rogue = JSON.parse(readFileSync(join(rogueKeys, `${nation}.public.jwk.json`), 'utf8'));
      trustFile = join(dir, 'rogue-trust.json');
      writeFileSync(trustFile, JSON.stringify({ ...keys.policyTrust, [nation]: [rogue] }, null, 2));
    }
    if (!own) throw new Error(`no rule file for ${nation} in ${rogueDir ?? options.rulesDir ?? DEFAULT_RULES_DIR}`);
    writeFileSync(join(dir, `${nation}.jws`), own);
    writeFileSync(join(dir, `${COALITION_POLICY_HOLDER}.jws`), coalitionFiles.get(COALITION_POLICY_HOLDER)!);
    dirOf.set(nation, dir);
    trustFileOf.set(nation, trustFile);
  }
  return { ...keys, coalitionFiles, dirOf, trustFileOf };
}

function signFolder(rulesDir: string, keysDir: string, outDir: string, signedBy: string, only?: string): Promise<string> {
  return runToEnd(['policies/cli/policy.ts', 'sign-folder', rulesDir, '--keys-dir', keysDir, '--out-dir', outDir, '--signed-by', signedBy, '--create-keys', ...(only ? ['--only', only] : [])]);
}

export function siloDir(dataDir: string, nation: string): string {
  return join(dataDir, 'silos', nation);
}

/** Generates the demo's STIX bundles and imports them through the same `import` a nation operator uses. */
async function seedSilosOnce(dataDir: string, nations: readonly string[], size: number, log: (line: string) => void): Promise<void> {
  const pending = nations.filter((nation) => !existsSync(seededMarker(dataDir, nation)));
  if (!pending.length) return;
  const seedDir = join(dataDir, 'seed');
  mkdirSync(seedDir, { recursive: true });
  log(`generating STIX 2.1 seed bundles (${size} objects a nation) in ${seedDir}`);
  await runToEnd(['subgraphs/cli/seed.ts', '--out', seedDir, '--size', String(size), '--nations', nations.join(',')]);
  await Promise.all(
    pending.map(async (nation) => {
      const report = await runToEnd(['subgraphs/cli/stix.ts', 'import', '--nation', nation, '--data', siloDir(dataDir, nation), join(seedDir, `${nation}.json`)]);
      writeFileSync(seededMarker(dataDir, nation), report);
      log(`imported ${nation}'s seed bundle`);
    }),
  );
}

function seededMarker(dataDir: string, nation: string): string {
  return join(dataDir, 'silos', `${nation}.seeded.json`);
}

function runToEnd(args: string[]): Promise<string> {
  return new Promise((resolvePromise, reject) => {
    const child = spawn(NODE_WITH_TSX[0], [...NODE_WITH_TSX.slice(1), ...args], { cwd: REPO_ROOT, stdio: ['ignore', 'pipe', 'pipe'] });
    let out = '';
    let err = '';
    child.stdout!.on('data', (d) => (out += d));
    child.stderr!.on('data', (d) => (err += d));
    child.on('error', reject);
    child.on('exit', (code) => (code === 0 ? resolvePromise(out) : reject(new Error(`${args.join(' ')} exited with ${code}:\n${err || out}`))));
  });
}

/** A subgraph's start (tsx, PGlite, recovery after a kill) took over 60 s on a loaded 2-core machine. */
const SUBGRAPH_START_MS = 120_000;

/** Starts a subgraph process and resolves with the URL it prints once it listens. */
function spawnSubgraph(name: string, args: string[], children: ChildProcess[], log: (line: string) => void, cpuProfileDir?: string): Promise<{ url: string; child: ChildProcess }> {
  // One folder a subgraph: V8 writes a profile per thread (tsx's loader runs on a thread of its own).
  const profiling = cpuProfileDir ? ['--cpu-prof', `--cpu-prof-dir=${join(cpuProfileDir, name)}`] : [];
  // Its stdin is a pipe from this process: if this process dies, however, the subgraph stops too
  // (SOVGRAPH_STOP_WITH_PARENT is read by subgraphs/cli/stop-on-signals.ts).
  const child = spawn(NODE_WITH_TSX[0], [...profiling, ...NODE_WITH_TSX.slice(1), ...args], { cwd: REPO_ROOT, stdio: ['pipe', 'pipe', 'pipe'], env: { ...process.env, SOVGRAPH_STOP_WITH_PARENT: '1' } });
  children.push(child);
  return new Promise((resolvePromise, reject) => {
    let output = '';
    const timer = setTimeout(() => reject(new Error(`${name} did not start within ${SUBGRAPH_START_MS / 1000} s:\n${output}`)), SUBGRAPH_START_MS);
    const onData = (chunk: Buffer) => {
      output += chunk.toString();
      const url = output.match(/https?:\/\/[\w.:[\]-]+\/graphql/)?.[0];
      if (url) {
        clearTimeout(timer);
        child.stdout!.off('data', onData);
        log(`${name} subgraph at ${url}`);
        resolvePromise({ url, child });
      }
    };
    child.stdout!.on('data', onData);
    child.stderr!.on('data', (chunk: Buffer) => {
      output += chunk.toString();
      for (const line of chunk.toString().split('\n')) if (line.trim()) log(`[${name}] ${line}`);
    });
    child.on('exit', (code) => {
      clearTimeout(timer);
      reject(new Error(`${name} exited with ${code} before it listened:\n${output}`));
    });
  });
}

function stopChild(child: ChildProcess): Promise<void> {
  if (child.exitCode !== null || child.signalCode !== null) return Promise.resolve();
  return new Promise((resolvePromise) => {
    const force = setTimeout(() => child.kill('SIGKILL'), 5000);
    child.once('exit', () => {
      clearTimeout(force);
      resolvePromise();
    });
    child.kill('SIGTERM');
  });
}
