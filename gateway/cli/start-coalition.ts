/**
 * `npm start`: the whole demo coalition on embedded defaults — five nations over their own PGlite
 * silos (seeded from generated STIX bundles on first start), the reference subgraph, the gateway.
 */
import { resolve } from 'node:path';
import { CURSOR_KEY_VARIABLE, launchCoalition, parseCursorKey } from '../demo/launch';
import { DEFAULT_GATEWAY_PORT, DEMO_NATIONS } from '../demo/coalition';
import { readGatewaySettings, SETTINGS_FILE_VARIABLE, type GatewaySettings } from '../demo/settings-file';

const dataDir = resolve(process.env.SOVGRAPH_DATA ?? '.data');
const gatewayPort = Number(process.env.PORT ?? DEFAULT_GATEWAY_PORT);
const seedSize = Number(process.env.SOVGRAPH_SEED_SIZE ?? 300);
const started = Date.now();
// Set, the cursors clients hold survive a restart of the gateway (and replicas share them).
const cursorKey = readCursorKey();
// Set, the deployment's limits, fair share, circuits and nation timeout (a YAML file).
const settings = readSettings();

// PORT=0: free ports for everything (the gateway's and every subgraph's), as the tests use.
const anyPorts = gatewayPort === 0 ? { referencePort: 0, firstNationPort: 0 } : {};
const coalition = await launchCoalition({ dataDir, gatewayPort, ...anyPorts, seedSize, cursorKey, ...settings, log: (line) => console.log(`  ${line}`) }).catch((error: Error) => {
  console.error(`sovgraph could not start: ${error.message}`);
  process.exit(1);
});

const seconds = ((Date.now() - started) / 1000).toFixed(1);
console.log(`
sovgraph is up in ${seconds} s: ${DEMO_NATIONS.join(', ')} + reference subgraph.

  GraphQL endpoint   ${coalition.gateway.url}
  health             ${coalition.gateway.url.replace('/graphql', '/health')}
  policy console     ${coalition.gateway.url.replace('/graphql', '/console')}   (sign in with $OFFICER below)
  data and keys      ${dataDir}

Get a token (a German analyst with SECRET clearance in NATO and the EU):
  TOKEN=$(npm run -s token -- --nation DEU --clearance SECRET --roles analyst --communities NATO,EU)

Ask every nation at once:
  curl -s ${coalition.gateway.url} -H "authorization: Bearer $TOKEN" -H 'content-type: application/json' \\
    -d '{"query":"{ indicators(first: 5) { edges { node { id nation pattern techniques { id name } } } pageInfo { hasNextPage endCursor } } }"}'

Rules in force are signed (each nation's policy key; the officers' key files are in
${dataDir}/keys/policy/). France's published rules and their history:
  curl -s ${coalition.nations.find((n) => n.nation === 'FRA')?.url.replace('/graphql', '/policy') ?? '(FRA is not running)'}
  curl -s ${coalition.nations.find((n) => n.nation === 'FRA')?.url.replace('/graphql', '/policy/history') ?? '(FRA is not running)'}
What the gateway enforces (a policy officer's token):
  OFFICER=$(npm run -s token -- --nation FRA --clearance SECRET --roles policy-officer --communities NATO,EU)
  curl -s ${coalition.gateway.url.replace('/graphql', '/policy')} -H "authorization: Bearer $OFFICER"

Ctrl-C stops everything.
`);

let stopping = false;
for (const signal of ['SIGINT', 'SIGTERM'] as const) {
  process.on(signal, () => {
    if (stopping) return;
    stopping = true;
    console.log('\nstopping the coalition…');
    coalition.stop().then(() => process.exit(0), () => process.exit(1));
  });
}

function readSettings(): GatewaySettings {
  const path = process.env[SETTINGS_FILE_VARIABLE];
  if (!path) return {};
  try {
    return readGatewaySettings(path);
  } catch (error) {
    console.error(`sovgraph could not start: ${(error as Error).message}`);
    process.exit(1);
  }
}

function readCursorKey(): Buffer | undefined {
  const hex = process.env[CURSOR_KEY_VARIABLE];
  if (hex === undefined || hex === '') return undefined;
  try {
    return parseCursorKey(hex);
  } catch (error) {
    console.error(`sovgraph could not start: ${(error as Error).message}`);
    process.exit(1);
  }
}
