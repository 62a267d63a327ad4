/**
 * Prints one token on stdout, minted by the demo identity provider of the chosen nation:
 *   npm run -s token -- --nation DEU --clearance SECRET --roles analyst --communities NATO,EU
 */
import { resolve } from 'node:path';
import { parseArgs } from 'node:util';
import { decodeJwt } from 'jose';
import { parseClassification } from '../../policies';
import { DEFAULT_MAX_TOKEN_LIFETIME_SECONDS } from '../auth/trust-store';
import { DEMO_NATIONS } from '../demo/coalition';
import { ensureDemoKeys } from '../demo/keys';
import { mintToken } from '../demo/tokens';

const usage = 'usage: npm run -s token -- --nation DEU --clearance SECRET [--roles analyst,policy-officer] [--communities NATO,EU] [--subject name] [--expires 8h, at most 12h]';

try {
  const { values } = parseArgs({
    options: {
      nation: { type: 'string' },
      clearance: { type: 'string' },
      roles: { type: 'string', default: '' },
      communities: { type: 'string', default: '' },
      subject: { type: 'string' },
      expires: { type: 'string', default: '8h' },
    },
  });
  const nation = values.nation?.toUpperCase();
  if (!nation || !values.clearance) throw new Error(`--nation and --clearance are required\n${usage}`);
  if (!(DEMO_NATIONS as readonly string[]).includes(nation)) throw new Error(`--nation ${nation}: the demo coalition has ${DEMO_NATIONS.join(', ')}`);
  const keys = await ensureDemoKeys(resolve(process.env.SOVGRAPH_DATA ?? '.data'), DEMO_NATIONS);
  const token = await mintToken(keys.idpPrivateJwks[nation]!, {
    nation,
    clearance: parseClassification(values.clearance, '--clearance'),
    roles: list(values.roles),
    communities: list(values.communities).map((c) => c.toUpperCase()),
    subject: values.subject,
    expiresIn: values.expires,
  });
  refuseBeyondGatewayLifetime(token, values.expires);
  process.stdout.write(`${token}\n`);
} catch (error) {
  process.stderr.write(`${(error as Error).message}\n`);
  process.exit(2);
}

function list(value: string | undefined): string[] {
  return (value ?? '').split(',').map((s) => s.trim()).filter(Boolean);
}

/** The demo gateway refuses a token that lives longer than its maximum: say so now, not at the first query. */
function refuseBeyondGatewayLifetime(token: string, expires: string | undefined): void {
  const { iat, exp } = decodeJwt(token);
  if (exp! - iat! > DEFAULT_MAX_TOKEN_LIFETIME_SECONDS) {
    throw new Error(`--expires ${expires}: the gateway accepts tokens valid for at most ${DEFAULT_MAX_TOKEN_LIFETIME_SECONDS / 3600} h\n${usage}`);
  }
}
