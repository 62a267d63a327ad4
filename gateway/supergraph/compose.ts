/**
 * Composes the supergraph at start from the subgraphs' own SDL: no managed service.
 */
import { composeServices } from '@apollo/composition';
import { parse } from 'graphql';
import { deriveNationViews, NATIONS_SUBGRAPH, NATION_LINKS_SUBGRAPH } from './nation-views';

export interface SubgraphSdl {
  name: string;
  url: string;
  sdl: string;
}

/**
 * The nations' URL in the supergraph is nominal: their data source routes every fetch to real
 * nation URLs itself.
 */
export const NOMINAL_NATIONS_URL = 'sovgraph://nations';

export function composeSupergraph(contractSdl: string, others: SubgraphSdl[]): string {
  const views = deriveNationViews(contractSdl);
  const services = [
    { name: NATIONS_SUBGRAPH, url: `${NOMINAL_NATIONS_URL}/${NATIONS_SUBGRAPH}`, typeDefs: parse(views.nations) },
    { name: NATION_LINKS_SUBGRAPH, url: `${NOMINAL_NATIONS_URL}/${NATION_LINKS_SUBGRAPH}`, typeDefs: parse(views.links) },
    ...others.map((s) => ({ name: s.name, url: s.url, typeDefs: parse(s.sdl) })),
  ];
  const result = composeServices(services);
  if (result.errors) {
    throw new Error(`supergraph composition failed:\n${result.errors.map((e) => `- ${e.message}`).join('\n')}`);
  }
  return result.supergraphSdl;
}
