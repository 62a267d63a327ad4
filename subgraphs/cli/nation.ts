/**
 * Runs one nation's subgraph over its own silo:
 *
 *   npm run nation -- --config nation.json
 *   npm run nation -- --nation FRA --port 4101 --data .data/silos/FRA --gateway-key .data/keys/gateway.public.jwk
 *
 * Prints its GraphQL URL on stdout (one line, for scripts); logs go to stderr. DATABASE_URL, when
 * set, puts the silo on that PostgreSQL server instead of PGlite. SIGINT/SIGTERM stop it cleanly.
 */
import { parseArgs } from 'node:util';
import { isNationCode } from '../../policies';
import { loadNationConfig, NationConfigError, readGatewayPublicKey, readPolicyTrust, readSignedRules, startNationSubgraph, type NationSubgraphConfig } from '../kit';
import { stopOnSignals } from './stop-on-signals';

const USAGE = `usage: npm run nation -- --config <nation.json>
       npm run nation -- --nation FRA --port 4101 [--host 127.0.0.1] [--data .data/silos/FRA | --database-url postgres://…] --gateway-key .data/keys/gateway.public.jwk
                         --policy-trust .data/keys/policy-trust.json --signed-rules .data/policy/FRA

  --policy-trust   each nation's public policy keys: whose signature counts for whose rules
  --signed-rules   a folder of signed rule files (*.jws: this nation's and the coalition's) to put in force
                   at start, unless the silo already keeps a newer version
  --benchmark-without-policy   serve every caller the whole silo: the benchmark's "policy off" baseline, never for real use`;

function configFromArgs(argv: string[]): NationSubgraphConfig {
  const { values } = parseArgs({
    args: argv,
    options: {
      config: { type: 'string' },
      nation: { type: 'string' },
      port: { type: 'string' },
      host: { type: 'string' },
      data: { type: 'string' },
      'database-url': { type: 'string' },
      'gateway-key': { type: 'string' },
      'policy-trust': { type: 'string' },
      'signed-rules': { type: 'string' },
      'benchmark-without-policy': { type: 'boolean', default: false },
    },
    strict: true,
  });
  const policy = {
    ...(values['policy-trust'] && { policyTrust: readPolicyTrust(values['policy-trust']) }),
    ...(values['signed-rules'] && { signedRules: readSignedRules(values['signed-rules']) }),
    ...(values['benchmark-without-policy'] && { enforcement: false }),
  };
  if (values.config) return { ...loadNationConfig(values.config), ...policy };
  const nation = values.nation?.toUpperCase();
  if (!isNationCode(nation)) throw new UsageError(`--nation must be an ISO 3166 alpha-3 code such as FRA (got ${values.nation ?? 'nothing'})`);
  const port = Number(values.port);
  if (values.port === undefined || !Number.isInteger(port) || port < 0 || port > 65535) throw new UsageError(`--port must be an integer from 0 to 65535 (got ${values.port ?? 'nothing'})`);
  if (!values['gateway-key']) throw new UsageError("--gateway-key must name the gateway's public JWK file");
  if (!policy.policyTrust) throw new UsageError('--policy-trust must name the policy trust store (each nation\'s public policy keys)');
  const databaseUrl = process.env.DATABASE_URL || values['database-url'];
  return {
    nation,
    port,
    ...(values.host && { host: values.host }),
    ...(databaseUrl ? { databaseUrl } : { dataDir: values.data ?? `.data/silos/${nation}` }),
    gatewayPublicJwk: readGatewayPublicKey(values['gateway-key']),
    ...policy,
    policyTrust: policy.policyTrust,
  };
}

class UsageError extends Error {}

async function main(): Promise<void> {
  const config = configFromArgs(process.argv.slice(2));
  const subgraph = await startNationSubgraph(config);
  const silo = config.databaseUrl ? 'PostgreSQL (DATABASE_URL)' : (config.dataDir ?? 'memory');
  console.error(`[nation ${config.nation}] serving silo ${silo}`);
  console.log(subgraph.url);

  stopOnSignals(`[nation ${config.nation}]`, () => subgraph.stop());
}

/** Mistakes in the command line or the config: say what is wrong and how to call it, no stack. */
function isUsageMistake(error: unknown): error is Error {
  const code = (error as { code?: unknown }).code;
  return error instanceof UsageError || error instanceof NationConfigError || (typeof code === 'string' && code.startsWith('ERR_PARSE_ARGS'));
}

main().catch((error: unknown) => {
  if (isUsageMistake(error)) {
    console.error(`${error.message}\n${USAGE}`);
    process.exit(2);
  }
  console.error(error);
  process.exit(1);
});
