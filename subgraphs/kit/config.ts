/**
 * A nation subgraph's configuration: the nation, where it listens, its silo, and the one key it
 * trusts (the gateway's public key, which signs every principal assertion).
 */
import { readdirSync, readFileSync } from 'node:fs';
import { dirname, join, resolve } from 'node:path';
import type { JWK } from 'jose';
import { isNationCode, type PolicyTrustStore } from '../../policies';

export interface NationSubgraphConfig {
  /** ISO 3166 alpha-3 of the nation whose silo this is. */
  nation: string;
  /** 0 picks a free port. */
  port: number;
  /** Default 127.0.0.1. */
  host?: string;
  /** PGlite data directory; neither this nor `databaseUrl`: an in-memory silo (tests). */
  dataDir?: string;
  /** PostgreSQL connection string: use a real server instead of PGlite. */
  databaseUrl?: string;
  /** The gateway's public key: only assertions it signed are accepted. */
  gatewayPublicJwk: JWK;
  /** Each nation's (and the coalition's) public policy keys: whose signature counts for whose rules. */
  policyTrust: PolicyTrustStore;
  /** Signed rule files offered at start (this nation's, the coalition's); the silo keeps what it accepted. */
  signedRules?: string[];
  /**
   * false switches field enforcement and SQL visibility off: only for the benchmark's "policy off"
   * baseline, never in a config file (the loader does not read it).
   */
  enforcement?: boolean;
}

export class NationConfigError extends Error {
  override readonly name = 'NationConfigError';
}

/**
 * Reads a JSON config: `{ nation, port, host?, dataDir? | databaseUrl?, gatewayPublicKeyFile }`.
 * Relative paths are relative to the config file; the `DATABASE_URL` environment variable, when
 * set, overrides the silo. Every error names the file and the field.
 */
export function loadNationConfig(path: string, env: NodeJS.ProcessEnv = process.env): NationSubgraphConfig {
  const raw = readJsonObject(path, 'nation config');
  const base = dirname(resolve(path));
  const field = <T>(name: string, check: (value: unknown) => value is T, expected: string): T => {
    const value = raw[name];
    if (!check(value)) throw new NationConfigError(`${path}: field "${name}" must be ${expected} (got ${JSON.stringify(value)})`);
    return value;
  };
  const optional = <T>(name: string, check: (value: unknown) => value is T, expected: string): T | undefined =>
    raw[name] === undefined ? undefined : field(name, check, expected);

  const nation = field('nation', isNationCode, 'an ISO 3166 alpha-3 code such as "FRA"');
  const port = field('port', isPort, 'an integer from 0 to 65535');
  const host = optional('host', isNonEmptyString, 'a host name or address');
  const dataDir = optional('dataDir', isNonEmptyString, 'a directory path');
  const databaseUrl = env.DATABASE_URL || optional('databaseUrl', isNonEmptyString, 'a PostgreSQL connection string');
  const keyFile = field('gatewayPublicKeyFile', isNonEmptyString, "the path of the gateway's public JWK file");
  const trustFile = field('policyTrustFile', isNonEmptyString, "the path of the policy trust store (each nation's public policy keys)");
  const signedRulesDir = optional('signedRulesDir', isNonEmptyString, 'a folder of signed rule files (*.jws)');
  if (!dataDir && !databaseUrl) throw new NationConfigError(`${path}: needs field "dataDir" (embedded PGlite) or "databaseUrl" (or the DATABASE_URL environment variable)`);
  return {
    nation,
    port,
    ...(host && { host }),
    ...(databaseUrl ? { databaseUrl } : { dataDir: resolve(base, dataDir!) }),
    gatewayPublicJwk: keyNamedBy(path, resolve(base, keyFile)),
    policyTrust: namedBy(path, 'policyTrustFile', () => readPolicyTrust(resolve(base, trustFile))),
    ...(signedRulesDir && { signedRules: namedBy(path, 'signedRulesDir', () => readSignedRules(resolve(base, signedRulesDir))) }),
  };
}

function keyNamedBy(configPath: string, keyPath: string): JWK {
  try {
    return readGatewayPublicKey(keyPath);
  } catch (error) {
    throw new NationConfigError(`${configPath}: field "gatewayPublicKeyFile": ${(error as Error).message}`);
  }
}

function namedBy<T>(configPath: string, field: string, read: () => T): T {
  try {
    return read();
  } catch (error) {
    throw new NationConfigError(`${configPath}: field "${field}": ${(error as Error).message}`);
  }
}

/** `{ "FRA": [jwk, …], "COALITION": [jwk] }`, public keys only: a private key here is refused. */
export function readPolicyTrust(path: string): PolicyTrustStore {
  const raw = readJsonObject(path, 'policy trust store');
  for (const [holder, keys] of Object.entries(raw)) {
    if (!Array.isArray(keys) || keys.some((k) => typeof k !== 'object' || k === null || typeof (k as JWK).kid !== 'string')) {
      throw new NationConfigError(`${path}: "${holder}" must be a list of public JWKs, each with a "kid"`);
    }
    if (keys.some((k) => (k as JWK).d !== undefined)) throw new NationConfigError(`${path}: "${holder}" holds a private key ("d"): a trust store holds public keys only`);
  }
  return raw as PolicyTrustStore;
}

/** Every `*.jws` in a folder, as text (verified later, by the rules' store). */
export function readSignedRules(dir: string): string[] {
  let names: string[];
  try {
    names = readdirSync(dir).filter((f) => f.endsWith('.jws')).sort();
  } catch (error) {
    throw new NationConfigError(`${dir}: cannot read the signed rules folder (${(error as NodeJS.ErrnoException).code ?? (error as Error).message})`);
  }
  return names.map((name) => readFileSync(join(dir, name), 'utf8'));
}

/** The gateway's Ed25519 public JWK. A private key is refused: a subgraph must never hold the gateway's signing key. */
export function readGatewayPublicKey(path: string): JWK {
  const jwk = readJsonObject(path, "gateway public key") as JWK;
  if (jwk.kty !== 'OKP' || jwk.crv !== 'Ed25519' || typeof jwk.x !== 'string') {
    throw new NationConfigError(`${path}: not an Ed25519 public JWK (expected "kty": "OKP", "crv": "Ed25519" and "x")`);
  }
  if (jwk.d !== undefined) throw new NationConfigError(`${path}: holds a private key ("d"): give the subgraph the gateway's public key only`);
  return jwk;
}

function readJsonObject(path: string, what: string): Record<string, unknown> {
  let text: string;
  try {
    text = readFileSync(path, 'utf8');
  } catch (error) {
    throw new NationConfigError(`${path}: cannot read the ${what} (${(error as NodeJS.ErrnoException).code ?? (error as Error).message})`);
  }
  let value: unknown;
  try {
    value = JSON.parse(text);
  } catch (error) {
    throw new NationConfigError(`${path}: the ${what} is not valid JSON (${(error as Error).message})`);
  }
  if (typeof value !== 'object' || value === null || Array.isArray(value)) throw new NationConfigError(`${path}: the ${what} must be a JSON object`);
  return value as Record<string, unknown>;
}

function isPort(value: unknown): value is number {
  return Number.isInteger(value) && (value as number) >= 0 && (value as number) <= 65535;
}

function isNonEmptyString(value: unknown): value is string {
  return typeof value === 'string' && value.trim() !== '';
}
