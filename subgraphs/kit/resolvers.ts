/**
 * Resolvers for the whole contract, over one nation's silo. Fields read the imported STIX
 * document; every reference goes through the request's loaders. A reference to an object another
 * nation holds resolves to its id only: the gateway fetches the rest from the owner.
 */
import { GraphQLError, Kind, type FieldNode, type GraphQLResolveInfo, type SelectionSetNode } from 'graphql';
import type { LinkedObject, ObjectRow } from '../silo';
import type { AttackPattern, Resolvers, Vulnerability } from '../contract/types.generated';
import type { MarkingSet } from '../../policies';
import type { NationContext } from './context';
import { loadLinks } from './loaders';
import { pageRequestOf, type ConnectionArgs } from './page-args';
import { foreignReference, isForeign, nationOfId, stixIdOf, stixTypeOfId, type ForeignReference, type NationObjectParent } from './references';
import { withheldError } from './releases';
import { NATION_TYPE_OF_STIX_TYPE, STIX_TYPES_OF } from './stix-properties';
import { cveOf, integer, killChainPhasesOf, markingOf, observableOf, sourceOf, text, texts } from './stix-fields';

/** The STIX types behind each contract type. */
const { Indicator: INDICATOR, Sighting: SIGHTING, Incident: INCIDENT, ThreatActor: THREAT_ACTOR } = STIX_TYPES_OF;
const PLACE = ['identity', 'location'];

export const resolvers: Resolvers = {
  Query: {
    indicators: (_root, args, ctx, info) => connection(ctx, INDICATOR, args, info),
    incidents: (_root, args, ctx, info) => connection(ctx, INCIDENT, args, info),
    sightings: (_root, args, ctx, info) => connection(ctx, SIGHTING, args, info),
    threatActors: (_root, args, ctx, info) => connection(ctx, THREAT_ACTOR, args, info),
    indicator: (_root, { id }, ctx) => loadHeldObject(ctx, id, INDICATOR),
    incident: (_root, { id }, ctx) => loadHeldObject(ctx, id, INCIDENT),
    sighting: (_root, { id }, ctx) => loadHeldObject(ctx, id, SIGHTING),
    threatActor: (_root, { id }, ctx) => loadHeldObject(ctx, id, THREAT_ACTOR),
    me: (_root, _args, ctx) => ctx.principal,
  },

  NationObject: {
    __resolveType: (parent) => NATION_TYPE_OF_STIX_TYPE[isForeign(parent) ? stixTypeOfId(parent.id) : parent.type] ?? null,
  },

  Indicator: {
    // Reference resolvers stay async: a synchronous throw would null the whole _entities batch.
    __resolveReference: async (reference, ctx) => referencedObject(ctx, reference.id, INDICATOR),
    ...nationObjectFields(),
    name: docText('name'),
    description: docText('description'),
    pattern: docText('pattern'),
    patternType: docText('pattern_type'),
    indicatorTypes: held((row) => texts(row.doc, 'indicator_types')),
    observable: held((row) => observableOf(text(row.doc, 'pattern'))),
    validFrom: docText('valid_from'),
    validUntil: docText('valid_until'),
    confidence: held((row) => integer(row.doc, 'confidence')),
    killChainPhases: held((row) => killChainPhasesOf(row.doc)),
    techniques: held(techniquesOf),
    source: held((row) => sourceOf(row.doc)),
    sightings: followHeld('linksTo', ['sighting-of'], SIGHTING),
  },

  Sighting: {
    __resolveReference: async (reference, ctx) => referencedObject(ctx, reference.id, SIGHTING),
    ...nationObjectFields(),
    sightingOf: async (parent, _args, ctx, info) => {
      if (isForeign(parent)) return null;
      const [linked] = await loadLinks(ctx.loaders.linksFrom, parent.id, ['sighting-of']);
      // The sighting says what it is a sighting of; when the caller may not see that, say so, not which.
      if (linked?.withheld) throw withheldError(ctx.nation, parent.id, 'Sighting', 'sightingOf', 'reference:the sighted indicator is not visible to the caller', info);
      return linked ? farEndOf(linked, INDICATOR) : null;
    },
    count: held((row) => integer(row.doc, 'count')),
    firstSeen: docText('first_seen'),
    lastSeen: docText('last_seen'),
    whereSighted: followHeld('linksFrom', ['where-sighted'], PLACE),
  },

  SightingLocation: {
    name: (row) => text(row.doc, 'name'),
    kind: (row) => (row.type === 'location' ? 'location' : text(row.doc, 'identity_class')),
    country: (row, _args, ctx) => countryOf(row, ctx),
  },

  Incident: {
    __resolveReference: async (reference, ctx) => referencedObject(ctx, reference.id, INCIDENT),
    ...nationObjectFields(),
    name: docText('name'),
    description: docText('description'),
    severity: docText('x_sovgraph_severity'),
    sector: docText('x_sovgraph_sector'),
    firstSeen: docText('x_sovgraph_first_seen'),
    victim: async (parent, _args, ctx) => {
      const victims = await followHeldRows(parent, ctx, 'linksFrom', ['targets'], ['identity']);
      return victims?.[0] ? text(victims[0].doc, 'name') : null;
    },
    indicators: (parent, _args, ctx) => follow(parent, ctx, 'linksTo', ['indicates'], INDICATOR),
    techniques: held(techniquesOf),
    vulnerabilities: async (parent, _args, ctx) => {
      const vulnerabilities = await followHeldRows(parent, ctx, 'linksFrom', ['related-to', 'targets'], ['vulnerability']);
      return vulnerabilities && distinctCves(vulnerabilities);
    },
    attributedTo: (parent, _args, ctx) => follow(parent, ctx, 'linksFrom', ['attributed-to'], THREAT_ACTOR),
  },

  ThreatActor: {
    __resolveReference: async (reference, ctx) => referencedObject(ctx, reference.id, THREAT_ACTOR),
    ...nationObjectFields(),
    name: docText('name'),
    description: docText('description'),
    aliases: held((row) => texts(row.doc, 'aliases')),
    motivation: docText('primary_motivation'),
    sophistication: docText('sophistication'),
    incidents: followHeld('linksTo', ['attributed-to'], INCIDENT),
  },
};

/**
 * One page of a connection, its rows remembered by the loaders for the fields below them. A page
 * whose nodes nobody selected (the gateway's first phase asks every nation for cursors only) reads
 * cursors only: the rows' documents are most of what a page costs to read.
 */
async function connection(ctx: NationContext, types: readonly string[], args: ConnectionArgs, info: GraphQLResolveInfo) {
  const request = pageRequestOf(args, types, ctx.nation);
  if (!request) return { edges: [], pageInfo: { hasNextPage: false, endCursor: null } };
  if (!selectsNodes(info)) {
    const { cursors, hasNextPage } = await ctx.silo.pageCursors(request);
    return { edges: cursors.map((cursor) => ({ cursor, node: null })), pageInfo: { hasNextPage, endCursor: cursors.at(-1) ?? null } };
  }
  const { rows, hasNextPage } = await ctx.silo.page(request);
  for (const row of rows) ctx.loaders.objects.prime(row.id, row);
  return {
    edges: rows.map((row) => ({ cursor: row.cursor, node: row })),
    pageInfo: { hasNextPage, endCursor: rows.length ? rows[rows.length - 1]!.cursor : null },
  };
}

/**
 * A connection field of a parsed query (the server hands every request sending that query the same
 * nodes) selects its nodes or not for good: worked out once. Merged field nodes, whose set can
 * change with a request's variables, are worked out each time.
 */
const nodesSelected = new WeakMap<FieldNode, boolean>();

function selectsNodes(info: GraphQLResolveInfo): boolean {
  const [only, ...others] = info.fieldNodes;
  if (others.length > 0 || !only) return selectsNodesNow(info);
  let selected = nodesSelected.get(only);
  if (selected === undefined) nodesSelected.set(only, (selected = selectsNodesNow(info)));
  return selected;
}

/** Whether a connection field's selection reaches `edges { node }`, through fragments too. */
function selectsNodesNow(info: GraphQLResolveInfo): boolean {
  const selects = (selectionSet: SelectionSetNode | undefined, name: string, within: (inner: SelectionSetNode | undefined) => boolean): boolean =>
    (selectionSet?.selections ?? []).some((selection) => {
      if (selection.kind === Kind.FIELD) return selection.name.value === name && within(selection.selectionSet);
      const fragment = selection.kind === Kind.INLINE_FRAGMENT ? selection : info.fragments[selection.name.value];
      return fragment !== undefined && selects(fragment.selectionSet, name, within);
    });
  return info.fieldNodes.some((field) => selects(field.selectionSet, 'edges', (edges) => selects(edges, 'node', () => true)));
}

/** An object of one of `types` held by this silo; null when absent, invisible, of another type, or another nation's. */
async function loadHeldObject(ctx: NationContext, id: string, types: readonly string[]): Promise<ObjectRow | null> {
  if (nationOfId(id) !== ctx.nation) return null;
  const row = await ctx.loaders.objects.load(id);
  return row && types.includes(row.type) ? row : null;
}

/**
 * An object another object refers to (the gateway's `_entities`): one the caller may not see and
 * one this silo does not hold get the same WITHHELD error, which names neither, so the referring
 * field says "withheld" rather than silently nothing, and existence is not given away.
 */
async function referencedObject(ctx: NationContext, id: string, types: readonly string[]): Promise<ObjectRow> {
  const row = await loadHeldObject(ctx, id, types);
  if (row) return row;
  throw new GraphQLError(`the referenced object is withheld by ${ctx.nation}, or ${ctx.nation} does not hold it`, {
    extensions: { code: 'WITHHELD', owner: ctx.nation, reason: 'object-not-visible' },
  });
}

/** What every nation-owned type answers the same way. */
function nationObjectFields() {
  return {
    stixId: (parent: NationObjectParent) => (isForeign(parent) ? stixIdOf(parent.id) : parent.stix_id),
    created: held((row) => isoTimestamp(row.created)),
    modified: held((row) => isoTimestamp(row.modified)),
    marking: (parent: NationObjectParent) => {
      if (isForeign(parent)) throw heldElsewhere(parent);
      return markingOf(parent);
    },
    fieldMarkings: async (parent: NationObjectParent, _args: unknown, ctx: NationContext) => {
      if (isForeign(parent)) return null;
      const marked = (await factsOfHeld(parent, ctx))?.fieldMarkings ?? {};
      return Object.entries(marked).map(([field, marking]) => ({ field, marking }));
    },
    policyMarkings: async (parent: NationObjectParent, _args: unknown, ctx: NationContext): Promise<MarkingSet | null> => {
      if (isForeign(parent)) return null;
      // The same facts the nation's own decisions were made on (derived fields' markings included):
      // the gateway decides on what the nation did.
      const facts = await factsOfHeld(parent, ctx);
      return facts?.marking ? { object: facts.marking, fields: facts.fieldMarkings ?? {} } : null;
    },
  };
}

/** What the policy decides a held row's fields on, derived fields' markings included; undefined for a row of no contract type. */
async function factsOfHeld(row: ObjectRow, ctx: NationContext) {
  const type = NATION_TYPE_OF_STIX_TYPE[row.type];
  return type ? ctx.derivedFacts(row, type) : undefined;
}

/** PostgreSQL's `2025-01-06T08:00:00+00:00` as STIX writes timestamps: UTC, milliseconds, `Z`. */
function isoTimestamp(value: string): string {
  return new Date(value).toISOString();
}

function heldElsewhere(reference: ForeignReference): GraphQLError {
  return new GraphQLError(`${reference.id} is held by ${reference.nation}: only its id is known here, ask the gateway for the rest`, {
    extensions: { code: 'HELD_BY_ANOTHER_NATION', nation: reference.nation },
  });
}

/** A field only a held object can answer: null on a reference to another nation's object. */
function held<T>(read: (row: ObjectRow) => T) {
  return (parent: NationObjectParent): T | null => (isForeign(parent) ? null : read(parent));
}

function docText(key: string) {
  return held((row) => text(row.doc, key));
}

function techniquesOf(row: ObjectRow): AttackPattern[] {
  // Technique ids are a column of the row already loaded: no reference to follow, no query.
  return row.technique_ids.map((id) => ({ id }));
}

type Direction = 'linksFrom' | 'linksTo';

/**
 * The objects a `@crossNation` field points at: held objects of `types` as rows, other nations'
 * objects (when their id names one of `types`) as references. Null on a foreign parent.
 */
async function follow(parent: NationObjectParent, ctx: NationContext, direction: Direction, kinds: readonly string[], types: readonly string[]): Promise<NationObjectParent[] | null> {
  if (isForeign(parent)) return null;
  const linked = await loadLinks(ctx.loaders[direction], parent.id, kinds);
  // A list leaves out what the caller may not see: its length says nothing about it either.
  return linked.flatMap((item) => {
    const far = farEndOf(item, types);
    return far ? [far] : [];
  });
}

/** The far end of a reference as a parent: a held row, or a reference to another nation's object. */
function farEndOf({ farId, far, withheld }: LinkedObject, types: readonly string[]): NationObjectParent | null {
  if (withheld) return null;
  if (far) return types.includes(far.type) ? far : null;
  return types.includes(stixTypeOfId(farId)) ? foreignReference(farId) : null;
}

/** The held objects of `types` a field points at (references to other nations' objects are not its business). */
async function followHeldRows(parent: NationObjectParent, ctx: NationContext, direction: Direction, kinds: readonly string[], types: readonly string[]): Promise<ObjectRow[] | null> {
  if (isForeign(parent)) return null;
  const linked = await loadLinks(ctx.loaders[direction], parent.id, kinds);
  return linked.flatMap(({ far }) => (far && types.includes(far.type) ? [far] : []));
}

function followHeld(direction: Direction, kinds: readonly string[], types: readonly string[]) {
  return (parent: NationObjectParent, _args: unknown, ctx: NationContext) => followHeldRows(parent, ctx, direction, kinds, types);
}

function distinctCves(vulnerabilities: ObjectRow[]): Vulnerability[] {
  const cves = new Set(vulnerabilities.map((v) => cveOf(v.doc)).filter((cve): cve is string => cve !== null));
  return [...cves].map((cve) => ({ cve }));
}

/** A location names its country; an identity says it (`x_sovgraph_country`) or is located at a location that does. */
async function countryOf(row: ObjectRow, ctx: NationContext): Promise<string | null> {
  if (row.type === 'location') return text(row.doc, 'country');
  const declared = text(row.doc, 'x_sovgraph_country');
  if (declared) return declared;
  const places = await followHeldRows(row, ctx, 'linksFrom', ['located-at'], ['location']);
  return places?.map((place) => text(place.doc, 'country')).find((country) => country !== null) ?? null;
}
