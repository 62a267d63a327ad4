/**
 * Runs the reference subgraph (ATT&CK techniques, KEV vulnerabilities):
 *
 *   npm run reference -- --port 4100 --gateway-key .data/keys/gateway.public.jwk.json [--attack enterprise-attack.json] [--kev known_exploited_vulnerabilities.json]
 *
 * Without --attack/--kev it serves the small built-in sets. Prints its GraphQL URL on stdout (one
 * line, for scripts); what it loaded, skipped and rejected goes to stderr. SIGINT/SIGTERM stop it.
 */
import { readFileSync } from 'node:fs';
import { parseArgs } from 'node:util';
import type { JWK } from 'jose';
import {
  AttackBundleError,
  formatAttackRejection,
  formatKevRejection,
  KevCatalogueError,
  startReferenceSubgraph,
  type ReferenceSubgraphOptions,
  type RunningReferenceSubgraph,
} from '../reference';
import { stopOnSignals } from './stop-on-signals';

const USAGE = `usage: npm run reference -- --port 4100 [--host 127.0.0.1] --gateway-key <gateway public JWK file> [--attack <ATT&CK STIX bundle>] [--kev <KEV catalogue JSON>]`;
/** Enough rejection lines to see what is wrong with a file without flooding the terminal. */
const MAX_REJECTIONS_SHOWN = 20;

class UsageError extends Error {}

function optionsFromArgs(argv: string[]): ReferenceSubgraphOptions {
  const { values } = parseArgs({
    args: argv,
    options: {
      port: { type: 'string' },
      host: { type: 'string' },
      'gateway-key': { type: 'string' },
      attack: { type: 'string' },
      kev: { type: 'string' },
    },
    strict: true,
  });
  const port = Number(values.port);
  if (values.port === undefined || !Number.isInteger(port) || port < 0 || port > 65535) throw new UsageError(`--port must be an integer from 0 to 65535 (got ${values.port ?? 'nothing'})`);
  if (!values['gateway-key']) throw new UsageError("--gateway-key must name the gateway's public JWK file");
  return {
    port,
    ...(values.host && { host: values.host }),
    gatewayPublicJwk: readGatewayPublicJwk(values['gateway-key']),
    ...(values.attack && { attackBundlePath: values.attack }),
    ...(values.kev && { kevPath: values.kev }),
  };
}

/** The gateway's Ed25519 public JWK. A private key is refused: this subgraph must never hold the gateway's signing key. */
function readGatewayPublicJwk(path: string): JWK {
  let jwk: JWK;
  try {
    jwk = JSON.parse(readFileSync(path, 'utf8')) as JWK;
  } catch (error) {
    throw new UsageError(`${path}: cannot read the gateway public key (${(error as NodeJS.ErrnoException).code ?? (error as Error).message})`);
  }
  if (jwk?.kty !== 'OKP' || jwk.crv !== 'Ed25519' || typeof jwk.x !== 'string') {
    throw new UsageError(`${path}: not an Ed25519 public JWK (expected "kty": "OKP", "crv": "Ed25519" and "x")`);
  }
  if (jwk.d !== undefined) throw new UsageError(`${path}: holds a private key ("d"): give the subgraph the gateway's public key only`);
  return jwk;
}

/** Tells the operator what was loaded and, line by line, what was not. */
function reportLoad(subgraph: RunningReferenceSubgraph): void {
  const { attack, kev } = subgraph;
  const s = attack.skipped;
  console.error(`[reference] ${attack.techniques.size} ATT&CK techniques from ${attack.source} (skipped: ${s.revoked} revoked, ${s.deprecated} deprecated, ${s.superseded} older versions, ${s.otherObjects} other objects; ${attack.rejected.length} rejected)`);
  console.error(`[reference] ${kev.entries.size} vulnerabilities from ${kev.source}, KEV catalogue ${kev.catalogVersion} (${kev.rejected.length} rejected)`);
  const lines = [
    ...attack.rejected.map((r) => formatAttackRejection(attack.source, r)),
    ...kev.rejected.map((r) => formatKevRejection(kev.source, r)),
    ...kev.warnings.map((w) => `${kev.source}: ${w}`),
  ];
  for (const line of lines.slice(0, MAX_REJECTIONS_SHOWN)) console.error(`[reference] ${line}`);
  if (lines.length > MAX_REJECTIONS_SHOWN) console.error(`[reference] … and ${lines.length - MAX_REJECTIONS_SHOWN} more`);
}

async function main(): Promise<void> {
  const subgraph = await startReferenceSubgraph(optionsFromArgs(process.argv.slice(2)));
  reportLoad(subgraph);
  console.log(subgraph.url);

  stopOnSignals('[reference]', () => subgraph.stop());
}

/** Mistakes in the command line or in the files it names: say what is wrong, no stack. */
function isOperatorMistake(error: unknown): error is Error {
  const code = (error as { code?: unknown }).code;
  return error instanceof UsageError || error instanceof AttackBundleError || error instanceof KevCatalogueError || (typeof code === 'string' && code.startsWith('ERR_PARSE_ARGS'));
}

main().catch((error: unknown) => {
  if (isOperatorMistake(error)) {
    console.error(`${error.message}\n${USAGE}`);
    process.exit(2);
  }
  console.error(error);
  process.exit(1);
});
