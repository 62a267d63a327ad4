/**
 * The demo coalition: five nations, their communities, and where everything listens by default.
 */
export const DEMO_NATIONS = ['USA', 'GBR', 'FRA', 'DEU', 'EST'] as const;

/** Community membership is the coalition's configuration, never the caller's say-so. */
export const DEMO_COMMUNITIES: Record<string, string[]> = {
  NATO: ['USA', 'GBR', 'FRA', 'DEU', 'EST'],
  EU: ['FRA', 'DEU', 'EST'],
  FVEY: ['USA', 'GBR'],
};

export const GATEWAY_AUDIENCE = 'sovgraph-gateway';
export const DEFAULT_GATEWAY_PORT = 4000;
export const DEFAULT_REFERENCE_PORT = 4100;
export const DEFAULT_FIRST_NATION_PORT = 4101;

export function issuerOf(nation: string): string {
  return `https://idp.${nation.toLowerCase()}.sovgraph.example`;
}
