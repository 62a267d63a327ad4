/**
 * The read side of a nation's silo: pages of objects in the global list order, objects by id, and
 * references in either direction — each one SQL statement, whatever the number of ids asked for.
 *
 * Every statement applies the caller's visibility predicate (`ReadScope.visibility`) to every
 * `stix_object` row it returns, so what a caller may not see is never read out of the database:
 * the policy layer narrows that one predicate and every query follows.
 */
import type { SiloQueryable } from './db';

/** A STIX object as imported (the `doc` column). */
export type StixDoc = Readonly<Record<string, unknown>>;

/**
 * One `stix_object` row as the read side returns it. Marking columns are ranks into policies'
 * CLASSIFICATIONS / TLP_LEVELS. `sort_time` is not carried: the cursor holds it.
 */
export interface ObjectRow {
  id: string;
  stix_id: string;
  type: string;
  nation: string;
  /** ISO 8601 with an offset, as PostgreSQL renders a timestamptz in JSON. */
  created: string;
  modified: string;
  classification: number;
  tlp: number;
  releasable_to: string[];
  caveats: string[];
  granular: unknown;
  technique_ids: string[];
  doc: StixDoc;
}

/** One `stix_link` row: a reference from `source_id` to `target_id` (both global ids). */
export interface StixLink {
  source_id: string;
  kind: string;
  target_id: string;
  via: string | null;
}

/**
 * A reference with the object at its far end (the target of a forward link, the source of a
 * reverse one) when this silo holds it and the caller may see it; `far` is null when the far end
 * belongs to another nation. A far end of this nation that is absent or that the caller may not see
 * is `withheld`: its id is blanked out, so nothing about it leaves the silo but the fact that the
 * reference exists (a list leaves it out; a single reference says it was withheld).
 */
export interface LinkedObject {
  link: StixLink;
  /** Global id of the far end ('' when withheld). */
  farId: string;
  far: ObjectRow | null;
  withheld: boolean;
}

/** Appends a value to the statement's parameters and returns its placeholder (`$n`). */
export type Bind = (value: unknown) => string;

/**
 * A SQL condition on a `stix_object` row (named by `alias`) that holds for the rows the caller may
 * see. The policy layer builds it from the principal; values go through `bind`, never into the text.
 * `stixTypes`, when given, are the only types the statement can return (a page of indicators): the
 * condition need not cover the others.
 */
export type Visibility = (alias: string, bind: Bind, stixTypes?: readonly string[]) => string;

/** For the silo's own tools (import, export, seeding): the whole silo. Never for a caller. */
export const EVERYTHING_VISIBLE: Visibility = () => 'TRUE';

/**
 * A SQL condition on a row (`alias`, of one of `stixTypes`) that holds when the contract field
 * `field` of that row is released to the caller as it is stored (no rule withholds, redacts or
 * generalises it, and no granular marking restricts it). A filter on a field's value matches only
 * such rows: otherwise which rows it matches tells the value the field withholds.
 */
export type FieldReleased = (alias: string, bind: Bind, stixTypes: readonly string[], field: string) => string;

/** Whose silo is read, and what the caller may see in it. */
export interface ReadScope {
  nation: string;
  visibility: Visibility;
  /** Absent only for the silo's own tools, which see everything. */
  released?: FieldReleased;
}

/** A position in the global list order: the last (sort_time, id) already returned. */
export interface PageCursor {
  /** UTC ISO 8601 with microseconds, as the cursor carries it. */
  sortTime: string;
  id: string;
}

export interface PageRequest {
  /** STIX types listed (a threat actor is a `threat-actor` or an `intrusion-set`). */
  types: readonly string[];
  first: number;
  after?: PageCursor;
  /** Inclusive lower bound on sort_time (ISO 8601 with an offset). */
  since?: string;
  /** Exclusive upper bound on sort_time (ISO 8601 with an offset). */
  until?: string;
  /** An ATT&CK id: matches the id itself and its sub-techniques. */
  technique?: string;
  /** Global id of an object the listed rows are sightings of. */
  sightingOf?: string;
}

export interface PageRow extends ObjectRow {
  cursor: string;
}

export interface Page {
  rows: PageRow[];
  hasNextPage: boolean;
}

export interface SiloReader {
  readonly scope: ReadScope;
  page(request: PageRequest): Promise<Page>;
  /** The same page, cursors only. */
  pageCursors(request: PageRequest): Promise<{ cursors: string[]; hasNextPage: boolean }>;
  objectsByIds(ids: readonly string[]): Promise<ObjectRow[]>;
  /** References whose source is one of `sourceIds`, of one of `kinds`, with their targets. */
  linksFrom(sourceIds: readonly string[], kinds: readonly string[]): Promise<LinkedObject[]>;
  /** References whose target is one of `targetIds`, of one of `kinds`, with their sources. */
  linksTo(targetIds: readonly string[], kinds: readonly string[]): Promise<LinkedObject[]>;
}

/** Binds the read queries to one silo and one caller's scope. */
export function createSiloReader(db: SiloQueryable, scope: ReadScope): SiloReader {
  return {
    scope,
    page: async (request) => {
      const { found, hasNextPage } = await queryPage(db, scope, request, `${CURSOR_SQL}, ${objectFields('o')}`);
      const rows = found.map((r) => {
        const [cursor, ...object] = JSON.parse(r) as [string, ...ObjectTuple];
        return { ...objectRowOf(object), cursor };
      });
      return { rows, hasNextPage };
    },
    pageCursors: async (request) => {
      const { found, hasNextPage } = await queryPage(db, scope, request, CURSOR_SQL);
      return { cursors: found.map((r) => (JSON.parse(r) as [string])[0]), hasNextPage };
    },
    objectsByIds: (ids) => queryObjectsByIds(db, scope, ids),
    linksFrom: (sourceIds, kinds) => queryLinks(db, scope, 'forward', sourceIds, kinds),
    linksTo: (targetIds, kinds) => queryLinks(db, scope, 'reverse', targetIds, kinds),
  };
}

/**
 * Each row travels as one JSON array in one text column: the embedded PostgreSQL pays per column
 * decoded far more than per byte, and a row of a dozen columns cost twice as much as this.
 */
const OBJECT_FIELDS = ['id', 'stix_id', 'type', 'nation', 'created', 'modified', 'classification', 'tlp', 'releasable_to', 'caveats', 'granular', 'technique_ids', 'doc'] as const;

/** A row as `json_build_array(OBJECT_FIELDS)` sends it: same order. */
type ObjectTuple = [string, string, string, string, string, string, number, number, string[], string[], unknown, string[], StixDoc];

function objectFields(alias: string): string {
  return OBJECT_FIELDS.map((field) => `${alias}.${field}`).join(', ');
}

function objectRowOf(tuple: ObjectTuple): ObjectRow {
  const [id, stix_id, type, nation, created, modified, classification, tlp, releasable_to, caveats, granular, technique_ids, doc] = tuple;
  return { id, stix_id, type, nation, created, modified, classification, tlp, releasable_to, caveats, granular, technique_ids, doc };
}

/**
 * The cursor is the global merge key: the gateway compares cursors from every nation as plain
 * strings, so the timestamp is fixed-width UTC with microseconds (PostgreSQL's own precision) and
 * string order equals (sort_time, id) order. The id is COLLATE "C": byte order, as JS compares.
 */
const CURSOR_SQL = `to_char(o.sort_time AT TIME ZONE 'UTC', 'YYYY-MM-DD"T"HH24:MI:SS.US"Z"') || '|' || o.id`;
const CURSOR_PATTERN = /^(\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}\.\d{6}Z)\|(.+)$/s;

/** Reads a cursor back; undefined when the text is not a cursor this API issued. */
export function decodeCursor(text: string): PageCursor | undefined {
  const match = CURSOR_PATTERN.exec(text);
  if (!match) return undefined;
  const [, sortTime, id] = match as unknown as [string, string, string];
  if (Number.isNaN(Date.parse(sortTime))) return undefined;
  return { sortTime, id };
}

/** The contract fields a row's sort time shows (see sortTimeOf in subgraphs/stix/import.ts). */
const SORT_TIME_FIELDS: Readonly<Record<string, readonly string[]>> = {
  indicator: ['validFrom'],
  sighting: ['lastSeen', 'firstSeen'],
  incident: ['firstSeen'],
  'threat-actor': ['created'],
  'intrusion-set': ['created'],
};

/**
 * since/until compare the exact sort time, which a rule may withhold or generalise (a partner gets
 * Estonia's sighting times to the day): a window matches only rows whose time fields the caller is
 * given as stored, or which rows it matches would tell the time to the microsecond.
 */
function windowConditions(scope: ReadScope, bind: Bind, request: PageRequest): string[] {
  const conditions: string[] = [];
  if (request.since) conditions.push(`o.sort_time >= ${bind(request.since)}::timestamptz`);
  if (request.until) conditions.push(`o.sort_time < ${bind(request.until)}::timestamptz`);
  if (!scope.released) return conditions;
  const fields = new Set(request.types.flatMap((type) => SORT_TIME_FIELDS[type] ?? []));
  if (request.types.some((type) => !SORT_TIME_FIELDS[type])) return [...conditions, 'FALSE'];
  for (const field of fields) conditions.push(scope.released('o', bind, request.types, field));
  return conditions;
}

function parameters(): { values: unknown[]; bind: Bind } {
  const values: unknown[] = [];
  return { values, bind: (value) => `$${values.push(value)}` };
}

/** The page's rows, each `json_build_array(columns)` as text, in the global list order. */
async function queryPage(db: SiloQueryable, scope: ReadScope, request: PageRequest, columns: string): Promise<{ found: string[]; hasNextPage: boolean }> {
  const { values, bind } = parameters();
  const conditions = [
    request.types.length === 1 ? `o.type = ${bind(request.types[0])}` : `o.type = ANY(${bind(request.types)}::text[])`,
    scope.visibility('o', bind, request.types),
  ];
  if (request.after) conditions.push(`(o.sort_time, o.id) < (${bind(request.after.sortTime)}::timestamptz, ${bind(request.after.id)})`);
  if (request.since || request.until) conditions.push(...windowConditions(scope, bind, request));
  if (request.technique) {
    const technique = bind(request.technique);
    conditions.push(`EXISTS (SELECT 1 FROM unnest(o.technique_ids) AS t(id) WHERE t.id = ${technique} OR t.id LIKE ${technique} || '.%')`);
    if (scope.released) conditions.push(scope.released('o', bind, request.types, 'techniques'));
  }
  if (request.sightingOf) conditions.push(...sightingOfConditions(scope, bind, request.types, request.sightingOf));
  // One row more than asked says whether there is a next page without counting.
  const found = await db.query<{ r: string }>(
    `SELECT json_build_array(${columns})::text AS r FROM stix_object o
     WHERE ${conditions.join(' AND ')}
     ORDER BY o.sort_time DESC, o.id DESC
     LIMIT ${bind(request.first + 1)}`,
    values,
  );
  return { found: found.slice(0, request.first).map(({ r }) => r), hasNextPage: found.length > request.first };
}

/**
 * Sightings of one indicator, as a caller may ask for them: only sightings whose own `sightingOf`
 * the caller is given, and, when this silo holds the named indicator, only if the caller may see
 * it. That test is part of the one statement (an uncorrelated sub-select, evaluated once), so an
 * indicator the caller may not see and one that does not exist run the same plan and both answer
 * an empty page. Another nation's indicator is that nation's to judge: the gateway asks its owner
 * before it sends the filter here (see gateway/enforcement/references.ts).
 */
function sightingOfConditions(scope: ReadScope, bind: Bind, types: readonly string[], indicatorId: string): string[] {
  const target = bind(indicatorId);
  const conditions = [`o.id IN (SELECT s.source_id FROM stix_link s WHERE s.target_id = ${target} AND s.kind = 'sighting-of')`];
  if (scope.released) conditions.push(scope.released('o', bind, types, 'sightingOf'));
  if (indicatorId.startsWith(`${scope.nation}:`)) {
    conditions.push(`EXISTS (SELECT 1 FROM stix_object i WHERE i.id = ${target} AND i.type = 'indicator' AND ${scope.visibility('i', bind, ['indicator'])})`);
  }
  return conditions;
}

async function queryObjectsByIds(db: SiloQueryable, scope: ReadScope, ids: readonly string[]): Promise<ObjectRow[]> {
  if (ids.length === 0) return [];
  const { values, bind } = parameters();
  const found = await db.query<{ r: string }>(
    `SELECT json_build_array(${objectFields('o')})::text AS r FROM stix_object o WHERE o.id = ANY(${bind(ids)}::text[]) AND ${scope.visibility('o', bind)}`,
    values,
  );
  return found.map(({ r }) => objectRowOf(JSON.parse(r) as ObjectTuple));
}

type Direction = 'forward' | 'reverse';

/**
 * References of the given kinds from (forward) or to (reverse) the given ids, each with the object
 * at its far end joined in, so a level of a nested query costs one statement, not two. A far end
 * of this nation that is absent or that the caller may not see comes back withheld, its id blanked
 * in SQL: the caller learns nothing about it but that the reference exists.
 */
async function queryLinks(db: SiloQueryable, scope: ReadScope, direction: Direction, ids: readonly string[], kinds: readonly string[]): Promise<LinkedObject[]> {
  if (ids.length === 0 || kinds.length === 0) return [];
  const [nearEnd, farEnd] = direction === 'forward' ? ['source_id', 'target_id'] : ['target_id', 'source_id'];
  const { values, bind } = parameters();
  const found = await db.query<{ r: string }>(
    `SELECT json_build_array(l.${nearEnd}, l.kind, CASE WHEN withheld THEN '' ELSE l.${farEnd} END, CASE WHEN withheld THEN NULL ELSE l.via END,
                             CASE WHEN o.id IS NULL THEN NULL ELSE json_build_array(${objectFields('o')}) END)::text AS r
     FROM stix_link l
     LEFT JOIN stix_object o ON o.id = l.${farEnd} AND ${scope.visibility('o', bind)}
     CROSS JOIN LATERAL (SELECT o.id IS NULL AND l.${farEnd} LIKE ${bind(`${scope.nation}:%`)} AS withheld) w
     WHERE l.${nearEnd} = ANY(${bind(ids)}::text[]) AND l.kind = ANY(${bind(kinds)}::text[])
     ORDER BY l.${nearEnd}, l.kind, withheld, o.sort_time DESC NULLS LAST, l.${farEnd} DESC`,
    values,
  );
  return found.map(({ r }) => {
    const [nearId, kind, farId, via, far] = JSON.parse(r) as [string, string, string, string | null, ObjectTuple | null];
    const link = direction === 'forward' ? { source_id: nearId, kind, target_id: farId, via } : { source_id: farId, kind, target_id: nearId, via };
    return { link, farId, far: far && objectRowOf(far), withheld: farId === '' };
  });
}
