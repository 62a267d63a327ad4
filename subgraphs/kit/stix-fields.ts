/**
 * Reading contract fields out of imported STIX documents. A document is whatever a bundle held:
 * every reader checks the shape it finds and answers null rather than pass on a wrong type.
 */
import { GraphQLError } from 'graphql';
import { CLASSIFICATIONS, TLP_LEVELS, type Marking } from '../../policies';
import type { ObjectRow, StixDoc } from '../silo';
import type { KillChainPhase, Source } from '../contract/types.generated';

export function text(doc: StixDoc, key: string): string | null {
  const value = doc[key];
  return typeof value === 'string' ? value : null;
}

export function texts(doc: StixDoc, key: string): string[] | null {
  const value = doc[key];
  return Array.isArray(value) ? value.filter((item): item is string => typeof item === 'string') : null;
}

export function integer(doc: StixDoc, key: string): number | null {
  const value = doc[key];
  return Number.isSafeInteger(value) ? (value as number) : null;
}

function record(value: unknown): StixDoc | null {
  return typeof value === 'object' && value !== null && !Array.isArray(value) ? (value as StixDoc) : null;
}

/** The value of the pattern's first equality comparison: `[ipv4-addr:value = '198.51.100.7']` → the address. */
const FIRST_EQUALITY = /(?<![!<>=])=\s*'((?:[^'\\]|\\.)*)'/;

export function observableOf(pattern: string | null): string | null {
  const match = pattern ? FIRST_EQUALITY.exec(pattern) : null;
  // STIX patterns escape a quote or a backslash inside a string with a backslash.
  return match ? match[1]!.replace(/\\(.)/g, '$1') : null;
}

export function killChainPhasesOf(doc: StixDoc): KillChainPhase[] | null {
  const phases = doc.kill_chain_phases;
  if (!Array.isArray(phases)) return null;
  return phases.flatMap((phase) => {
    const entry = record(phase);
    const killChainName = entry && text(entry, 'kill_chain_name');
    const phaseName = entry && text(entry, 'phase_name');
    return killChainName && phaseName ? [{ killChainName, phaseName }] : [];
  });
}

/** `x_sovgraph_source`: the collecting sensor or unit. */
export function sourceOf(doc: StixDoc): Source | null {
  const source = record(doc.x_sovgraph_source);
  return source ? { name: text(source, 'name'), kind: text(source, 'kind') } : null;
}

/** The CVE id of a vulnerability object, from its `external_references` entry with source_name `cve`. */
export function cveOf(doc: StixDoc): string | null {
  const references = doc.external_references;
  if (!Array.isArray(references)) return null;
  for (const reference of references) {
    const entry = record(reference);
    if (entry && text(entry, 'source_name')?.toLowerCase() === 'cve') return text(entry, 'external_id');
  }
  return null;
}

/** The object's marking, from the rank columns. A rank outside the vocabulary is an error, never a guess. */
export function markingOf(row: ObjectRow): Marking {
  const classification = CLASSIFICATIONS[row.classification];
  const tlp = TLP_LEVELS[row.tlp];
  if (classification === undefined || tlp === undefined) {
    throw new GraphQLError(`${row.id} has a marking outside the vocabulary (classification rank ${row.classification}, TLP rank ${row.tlp})`);
  }
  return { classification, tlp, releasableTo: row.releasable_to, caveats: row.caveats };
}
