/**
 * The subgraphs folder's public surface: the national subgraph kit and the silo it reads.
 * Each part adds its own line below.
 */
export * from './kit';
export * from './silo';
