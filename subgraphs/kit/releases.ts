/**
 * What one request released, field by field: the answer's `extensions` list what was redacted or
 * generalised, and the owner's audit log records all of it.
 */
import { GraphQLError } from 'graphql';

export interface FieldRelease {
  /** Global id of the object. */
  object: string;
  field: string;
  /** The response path, e.g. `indicators.edges.3.node.source`. */
  path: string;
  reason: string;
}

export interface ReleaseLog {
  /** Objects any field of which was released. */
  readonly released: Set<string>;
  readonly withheld: FieldRelease[];
  readonly redacted: FieldRelease[];
  readonly transformed: Array<FieldRelease & { transform: string }>;
}

export function createReleaseLog(): ReleaseLog {
  return { released: new Set(), withheld: [], redacted: [], transformed: [] };
}

/** The error a withheld field carries at its path: who withholds it and why, never the value. */
export function withheldError(owner: string, objectId: string, type: string, field: string, reason: string): GraphQLError {
  return new GraphQLError(`${type}.${field} of ${objectId} is withheld by ${owner} (${reason})`, {
    extensions: { code: 'WITHHELD', owner, reason },
  });
}

/** The answer's `extensions.sovgraph`: what was released in altered form, and why. */
export function releaseExtensions(owner: string, log: ReleaseLog): Record<string, unknown> | undefined {
  if (log.redacted.length === 0 && log.transformed.length === 0) return undefined;
  return {
    redacted: log.redacted.map(({ path, reason }) => ({ path, owner, reason })),
    transformed: log.transformed.map(({ path, reason, transform }) => ({ path, owner, transform, reason })),
  };
}
