/**
 * The reference subgraph's schema and resolvers over the two in-memory catalogues. Everything is
 * public (TLP:CLEAR), so resolvers answer every verified caller alike; the lists are prepared
 * once at start so a request costs map lookups and a slice.
 */
import { readFileSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { GraphQLError, parse, type GraphQLSchema } from 'graphql';
import { buildSubgraphSchema } from '@apollo/subgraph';
import type { GraphQLResolverMap } from '@apollo/subgraph/dist/schema-helper';
import type { Principal } from '../../policies';
import type { AttackCatalogue, AttackTechnique } from './attack';
import type { KevCatalogue, KevEntry } from './kev';

export const REFERENCE_SCHEMA_PATH = fileURLToPath(new URL('./schema.graphql', import.meta.url));
/** The subgraph SDL as written (federation v2.7). */
export const REFERENCE_SDL = readFileSync(REFERENCE_SCHEMA_PATH, 'utf8');

export const DEFAULT_LIST_SIZE = 50;
export const MAX_LIST_SIZE = 500;

/** What every resolver gets: the caller the gateway vouched for (kept for audit and future policy). */
export interface ReferenceContext {
  principal: Principal;
}

interface Prepared {
  techniques: ReadonlyMap<string, AttackTechnique>;
  vulnerabilities: ReadonlyMap<string, KevEntry>;
  techniquesInOrder: AttackTechnique[];
  techniquesByTactic: Map<string, AttackTechnique[]>;
  vulnerabilitiesInOrder: KevEntry[];
}

export function buildReferenceSchema(attack: AttackCatalogue, kev: KevCatalogue): GraphQLSchema {
  const data = prepare(attack, kev);
  // No resolver reads the context: the data is public, the caller only has to be vouched for.
  const resolvers: GraphQLResolverMap<unknown> = {
    Query: queryResolvers(data),
    AttackPattern: {
      // async on purpose: a synchronous throw here nulls the whole `_entities` batch (@apollo/subgraph 2.14).
      __resolveReference: async (ref: { id?: unknown }) => techniqueById(data, ref.id),
      parent: (technique: AttackTechnique) => (technique.parentId ? (data.techniques.get(technique.parentId) ?? null) : null),
    },
    Vulnerability: {
      __resolveReference: async (ref: { cve?: unknown }) => vulnerabilityByCve(data, ref.cve),
    },
  };
  return buildSubgraphSchema({ typeDefs: parse(REFERENCE_SDL), resolvers });
}

function queryResolvers(data: Prepared) {
  return {
    attackPattern: (_: unknown, args: { id: string }) => techniqueById(data, args.id),
    vulnerability: (_: unknown, args: { cve: string }) => vulnerabilityByCve(data, args.cve),
    attackPatterns: (_: unknown, args: { tactic?: string | null; first?: number | null }) => {
      const size = listSize(args.first);
      const list = args.tactic == null ? data.techniquesInOrder : (data.techniquesByTactic.get(tacticKey(args.tactic)) ?? []);
      return list.slice(0, size);
    },
    vulnerabilities: (_: unknown, args: { vendor?: string | null; first?: number | null }) => {
      const size = listSize(args.first);
      if (args.vendor == null) return data.vulnerabilitiesInOrder.slice(0, size);
      const vendor = args.vendor.trim().toLowerCase();
      const matches: KevEntry[] = [];
      for (const entry of data.vulnerabilitiesInOrder) {
        if (entry.vendor.toLowerCase() === vendor && matches.push(entry) >= size) break;
      }
      return matches;
    },
  };
}

function prepare(attack: AttackCatalogue, kev: KevCatalogue): Prepared {
  const techniquesInOrder = [...attack.techniques.values()].sort((a, b) => compareTechniqueIds(a.id, b.id));
  const techniquesByTactic = new Map<string, AttackTechnique[]>();
  for (const technique of techniquesInOrder) {
    for (const tactic of technique.tactics) {
      const key = tacticKey(tactic);
      const list = techniquesByTactic.get(key);
      if (list) list.push(technique);
      else techniquesByTactic.set(key, [technique]);
    }
  }
  const vulnerabilitiesInOrder = [...kev.entries.values()].sort((a, b) => b.dateAdded.localeCompare(a.dateAdded) || a.cve.localeCompare(b.cve));
  return { techniques: attack.techniques, vulnerabilities: kev.entries, techniquesInOrder, techniquesByTactic, vulnerabilitiesInOrder };
}

/** Ids arrive from nations' data and from people: `t1566 ` is the same technique as `T1566`. */
function techniqueById(data: Prepared, id: unknown): AttackTechnique | null {
  return typeof id === 'string' ? (data.techniques.get(id.trim().toUpperCase()) ?? null) : null;
}

function vulnerabilityByCve(data: Prepared, cve: unknown): KevEntry | null {
  return typeof cve === 'string' ? (data.vulnerabilities.get(cve.trim().toUpperCase()) ?? null) : null;
}

/** `Initial Access`, `initial_access` and `initial-access` all name ATT&CK's `initial-access`. */
function tacticKey(tactic: string): string {
  return tactic.trim().toLowerCase().replace(/[\s_]+/g, '-');
}

/** Numeric order, so T1003 < T1003.001 < T1021 regardless of string quirks. */
function compareTechniqueIds(a: string, b: string): number {
  return a.localeCompare(b, 'en', { numeric: true });
}

function listSize(first: number | null | undefined): number {
  const size = first ?? DEFAULT_LIST_SIZE;
  if (size < 1 || size > MAX_LIST_SIZE) {
    throw new GraphQLError(`Argument "first" must be between 1 and ${MAX_LIST_SIZE} (got ${size})`, { extensions: { code: 'BAD_USER_INPUT', argument: 'first' } });
  }
  return size;
}
