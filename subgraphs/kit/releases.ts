/**
 * What one request released, field by field: the answer's `extensions` list what was redacted or
 * generalised, and the owner's audit log records all of it.
 */
import { GraphQLError, responsePathAsArray, type GraphQLFormattedError, type GraphQLResolveInfo } from 'graphql';

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
  readonly released: ReadonlySet<string>;
  /** Notes that a field of this object was released (a page's fields come object by object: the same id again is free). */
  release(objectId: string): void;
  readonly withheld: FieldRelease[];
  readonly redacted: FieldRelease[];
  readonly transformed: Array<FieldRelease & { transform: string }>;
  /**
   * The errors of withheld nullable fields, already in their answer's form: such a field resolves to
   * null and its error joins the answer as it goes out (see `withheldField`).
   */
  readonly errors: GraphQLFormattedError[];
}

export function createReleaseLog(): ReleaseLog {
  const released = new Set<string>();
  let last: string | undefined;
  return {
    released,
    release(objectId) {
      if (objectId === last) return;
      released.add(objectId);
      last = objectId;
    },
    withheld: [],
    redacted: [],
    transformed: [],
    errors: [],
  };
}

/**
 * A withheld nullable field: null, and its WITHHELD error noted for the answer. The same error as
 * `withheldError` gives, without a GraphQLError thrown through graphql-js and formatted by Apollo:
 * a page with a withheld field per object paid more for that than for deciding every field.
 */
export function withheldField(log: ReleaseLog, owner: string, objectId: string, type: string, field: string, reason: string, path: ReadonlyArray<string | number>): null {
  log.errors.push({ message: withheldMessage(owner, objectId, type, field, reason), path, extensions: { code: 'WITHHELD', owner, reason } });
  return null;
}

/** An execution's errors with the withheld fields' errors joined: every answer goes out through this. */
export function withWithheldErrors<E>(errors: readonly E[] | undefined, log: ReleaseLog): ReadonlyArray<E | GraphQLFormattedError> | undefined {
  return log.errors.length === 0 ? errors : [...(errors ?? []), ...log.errors];
}

function withheldMessage(owner: string, objectId: string, type: string, field: string, reason: string): string {
  return `${type}.${field} of ${objectId} is withheld by ${owner} (${reason})`;
}

/** The error a withheld field carries at its path: who withholds it and why, never the value. */
/**
 * `at`: the field's resolve info. An error that already knows its path is not wrapped again by
 * graphql-js; it carries no source locations (computing them scans the query text, per error, and
 * only the gateway reads these errors).
 */
export function withheldError(owner: string, objectId: string, type: string, field: string, reason: string, at?: GraphQLResolveInfo): GraphQLError {
  const location = at && { path: responsePathAsArray(at.path) };
  return withoutStackTrace(() => new GraphQLError(withheldMessage(owner, objectId, type, field, reason), { ...location, extensions: { code: 'WITHHELD', owner, reason } }));
}

/**
 * A withheld field is a policy outcome, not a fault: no stack trace. Capturing (and source-mapping)
 * one for each of 50 withheld fields cost more than the query itself.
 */
function withoutStackTrace<T>(make: () => T): T {
  const limit = Error.stackTraceLimit;
  Error.stackTraceLimit = 0;
  try {
    return make();
  } finally {
    Error.stackTraceLimit = limit;
  }
}

/** The answer's `extensions.sovgraph`: what was released in altered form, and why. */
export function releaseExtensions(owner: string, log: ReleaseLog): Record<string, unknown> | undefined {
  if (log.redacted.length === 0 && log.transformed.length === 0) return undefined;
  return {
    redacted: log.redacted.map(({ path, reason }) => ({ path, owner, reason })),
    transformed: log.transformed.map(({ path, reason, transform }) => ({ path, owner, transform, reason })),
  };
}
