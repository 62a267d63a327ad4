/**
 * The leak test: for every field the running coalition returns to a random principal, recompute the
 * decision from the silo's raw data and show it was allowed.
 *
 * One real coalition (five nations, reference subgraph, gateway). Random principals (fast-check,
 * seeded: LEAK_SEED=<n> replays a run) ask big queries covering every nation type and every field,
 * page once with a sealed cursor, and ask some objects by id (some of which they may not see).
 * Then the coalition is stopped, every silo is read raw, and for every nation-owned object in every
 * answer the facts are rebuilt from its row (marking from the rank columns, granular markings through
 * the STIX property → field mapping, values from the document) and the engine is asked again:
 *  (a) the object is visible to the principal;
 *  (b) no field present with a value is denied;
 *  (c) a redacted value is the mask of the raw value, a generalised one is the transform of the raw
 *      value (and holds no full IPv4, no time of day, no place name…), an allowed one is the raw value;
 *      values made of other objects (references, places, victims, CVEs) are backed by the silo's links
 *      to objects the principal may see;
 *  (d) no id of an object the principal may not see (nor of any object the contract never exposes)
 *      occurs anywhere in the answer's text;
 *  (e) a WITHHELD error's reason is a decision's reason, never a value, and no error message carries
 *      the raw value of the field it withholds or a string of its object's document.
 * Plus: the lists hold exactly the objects the principal may see (a page's length and hasNextPage
 * say nothing about the others), and a reference list exactly the visible objects its links reach;
 * every WITHHELD field is withheld for the reason the raw data gives; the answer's roll-up marking
 * covers every released field; by id, an object the principal may not see is answered exactly like
 * one that does not exist; a non-member nation's token is refused. A last test plants leaks in copies
 * of real answers and shows the same checks catch each of them.
 *
 * Every value is compared with the owner's rules as they are in policies/rules: a rule change that
 * the running system applies and the engine agrees with keeps this test green.
 */
import { rmSync } from 'node:fs';
import { isDeepStrictEqual } from 'node:util';
import fc from 'fast-check';
import { exportJWK, generateKeyPair } from 'jose';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import {
  applyTransform,
  CLASSIFICATIONS,
  createPolicyEngine,
  DEFAULT_RULES_DIR,
  loadRuleFolder,
  redact,
  REDACTED,
  type Classification,
  type Decision,
  type Marking,
  type ObjectFacts,
  type PolicyEngine,
  type Principal,
} from '../../policies';
import { mintToken } from '../../gateway/demo/tokens';
import { siloDir } from '../../gateway/demo/launch';
import { policySchemaOf } from '../../subgraphs/kit/schema';
import type { NationTypeName } from '../../subgraphs/kit/stix-properties';
import { startTestCoalition, type GraphQLAnswer, type TestCoalition } from '../helpers/coalition';
import {
  atLeastAsRestrictive,
  baselineAllows,
  confirmedCommunities,
  contractTypeOf,
  effectiveMarking,
  withDerivedMarkings,
  rawFieldValue,
  readSilos,
  rowFacts,
  type RawRow,
  type SiloSnapshot,
} from '../helpers/silo-oracle';

const SEED = Number(process.env.LEAK_SEED ?? 20_260_611);
const MEMBERS = ['USA', 'GBR', 'FRA', 'DEU', 'EST'] as const;
const PRINCIPALS = 15;
const SEED_SIZE = 80;
const FIRST_PAGE = 25;
const BY_ID = 10;

// ---------------------------------------------------------------------------------------------------
// queries

const FRAGMENTS = `
fragment M on Marking { classification tlp releasableTo caveats }
fragment Ind on Indicator {
  id stixId nation created modified marking { ...M } fieldMarkings { field marking { ...M } }
  name description pattern patternType indicatorTypes observable validFrom validUntil confidence
  killChainPhases { killChainName phaseName } techniques { id } source { name kind }
}
fragment Sig on Sighting {
  id stixId nation created modified marking { ...M } fieldMarkings { field marking { ...M } }
  count firstSeen lastSeen whereSighted { name kind country }
}
fragment Inc on Incident {
  id stixId nation created modified marking { ...M } fieldMarkings { field marking { ...M } }
  name description severity sector victim firstSeen techniques { id } vulnerabilities { cve }
}
fragment Act on ThreatActor {
  id stixId nation created modified marking { ...M } fieldMarkings { field marking { ...M } }
  name description aliases motivation sophistication
}`;

const LISTS = `query Leak($first: Int!, $ai: String, $ni: String, $si: String, $ti: String) {
  me { nation clearance roles communities }
  indicators(first: $first, after: $ai) { edges { cursor node { ...Ind sightings { ...Sig } } } pageInfo { hasNextPage endCursor } }
  incidents(first: $first, after: $ni) { edges { cursor node { ...Inc indicators { ...Ind } attributedTo { ...Act } } } pageInfo { hasNextPage endCursor } }
  sightings(first: $first, after: $si) { edges { cursor node { ...Sig sightingOf { ...Ind } } } pageInfo { hasNextPage endCursor } }
  threatActors(first: $first, after: $ti) { edges { cursor node { ...Act incidents { ...Inc attributedTo { id name } } } } pageInfo { hasNextPage endCursor } }
}
${FRAGMENTS}`;

/** The operation with the fragments it uses (GraphQL refuses unused ones). */
function withFragments(operation: string): string {
  const definitions = new Map(FRAGMENTS.split(/\n(?=fragment )/).filter((d) => d.trim()).map((d) => [/^\s*fragment (\w+)/.exec(d)![1]!, d.trim()]));
  const used = new Set<string>();
  const visit = (text: string) => {
    for (const [, name] of text.matchAll(/\.\.\.(\w+)/g)) {
      if (used.has(name!) || !definitions.has(name!)) continue;
      used.add(name!);
      visit(definitions.get(name!)!);
    }
  };
  visit(operation);
  return [operation, ...[...used].map((name) => definitions.get(name)!)].join('\n');
}

const LIST_FIELDS = ['indicators', 'incidents', 'sightings', 'threatActors'] as const;
const LIST_TYPE: Record<(typeof LIST_FIELDS)[number], NationTypeName> = { indicators: 'Indicator', incidents: 'Incident', sightings: 'Sighting', threatActors: 'ThreatActor' };
const AFTER_VARIABLE: Record<(typeof LIST_FIELDS)[number], string> = { indicators: 'ai', incidents: 'ni', sightings: 'si', threatActors: 'ti' };

const BY_ID_FIELD: Record<NationTypeName, { root: string; fragment: string }> = {
  Indicator: { root: 'indicator', fragment: '...Ind' },
  Incident: { root: 'incident', fragment: '...Inc indicators { id } attributedTo { ...Act }' },
  Sighting: { root: 'sighting', fragment: '...Sig sightingOf { ...Ind }' },
  ThreatActor: { root: 'threatActor', fragment: '...Act incidents { id name }' },
};

const POOL = `query Pool($nations: [String!]) {
  indicators(first: 500, filter: { nations: $nations }) { edges { node { id } } }
  incidents(first: 500, filter: { nations: $nations }) { edges { node { id } } }
  sightings(first: 500, filter: { nations: $nations }) { edges { node { id } } }
  threatActors(first: 500, filter: { nations: $nations }) { edges { node { id } } }
}`;

/** An id no silo holds: asked by id, it shows what "not found" looks like. */
const ABSENT_ID = 'FRA:indicator--00000000-0000-4000-8000-000000000000';

// ---------------------------------------------------------------------------------------------------
// principals

interface Asker {
  label: string;
  claims: { nation: string; clearance: Classification; roles: string[]; communities: string[] };
  /** As the oracle sees them: the communities the coalition confirms. */
  principal: Principal;
  answers: Array<{ name: string; answer: GraphQLAnswer; byId?: ByIdAsk[] }>;
}

interface ByIdAsk {
  alias: string;
  id: string;
  type: NationTypeName;
}

function drawPrincipals(communities: Record<string, readonly string[]>): Asker[] {
  const arbitrary = fc.record({
    clearance: fc.constantFrom(...CLASSIFICATIONS),
    // Most principals are analysts: without the role, everything TLP:AMBER and above is hidden (the
    // coalition's rule), and the answers would be mostly empty.
    analyst: fc.oneof({ arbitrary: fc.constant(true), weight: 3 }, { arbitrary: fc.constant(false), weight: 1 }),
    otherRoles: fc.subarray(['policy-officer', 'operator']),
    communities: fc.subarray(['NATO', 'EU', 'FVEY']),
  });
  return fc.sample(arbitrary, { seed: SEED, numRuns: PRINCIPALS }).map((drawn, i) => {
    // Every member nation asks in turn, so each one's rules are met from inside and outside; the
    // first rounds also go through every clearance, so none is left out by the draw.
    const nation = MEMBERS[i % MEMBERS.length]!;
    const clearance = i < CLASSIFICATIONS.length * 2 ? CLASSIFICATIONS[(i + Math.floor(i / MEMBERS.length)) % CLASSIFICATIONS.length]! : drawn.clearance;
    const roles = [...(drawn.analyst ? ['analyst'] : []), ...drawn.otherRoles];
    const claims = { nation, clearance, roles, communities: drawn.communities };
    const label = `${nation}/${clearance}/[${roles.join(',')}]/[${drawn.communities.join(',')}]`;
    const principal: Principal = { subject: label, nation, clearance, roles, communities: confirmedCommunities(nation, drawn.communities, communities) };
    return { label, claims, principal, answers: [] };
  });
}

/** A deterministic pick of `n` items (mulberry32 on the run's seed). */
function pick<T>(items: readonly T[], n: number, seed: number): T[] {
  let s = seed >>> 0;
  const next = () => {
    s = (s + 0x6d2b79f5) >>> 0;
    let t = s;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
  const pool = [...items];
  const out: T[] = [];
  while (out.length < n && pool.length) out.push(pool.splice(Math.floor(next() * pool.length), 1)[0]!);
  return out;
}

async function inBatches<T>(items: readonly T[], size: number, work: (item: T, index: number) => Promise<void>): Promise<void> {
  for (let i = 0; i < items.length; i += size) await Promise.all(items.slice(i, i + size).map((item, j) => work(item, i + j)));
}

// ---------------------------------------------------------------------------------------------------
// the run: ask everything while the coalition runs, then stop it and read the silos

let world: TestCoalition;
let stopped = false;
let askers: Asker[] = [];
let engine: PolicyEngine;
let communities: Record<string, readonly string[]>;
let silos: SiloSnapshot;
let nonMember: GraphQLAnswer;
let pool: Array<{ id: string; type: NationTypeName }> = [];
let poolErrors: unknown[] = [];
const started = Date.now();
/** Seconds spent per phase, for the tally line. */
const phases: Record<string, number> = {};
const lap = (name: string, since: number) => (phases[name] = (Date.now() - since) / 1000);

beforeAll(async () => {
  const files = loadRuleFolder(DEFAULT_RULES_DIR);
  communities = (files.find((f) => f.nation === 'COALITION')?.communities ?? {}) as Record<string, readonly string[]>;
  engine = createPolicyEngine({ files, schema: policySchemaOf() });
  askers = drawPrincipals(communities);

  // A generous per-nation timeout: the answers must be whole, however loaded the machine is.
  let t = Date.now();
  world = await startTestCoalition({ seedSize: SEED_SIZE, nationTimeoutMs: 30_000 });
  lap('start', t);
  t = Date.now();

  // The ids to ask for by id: everything each owner's most trusted analyst can list.
  const owners = await Promise.all(
    MEMBERS.map(async (nation) => {
      const token = await world.token({ nation, clearance: 'TOP_SECRET', roles: ['analyst'], communities: Object.keys(communities) });
      return world.ask(token, POOL, { nations: [nation] });
    }),
  );
  for (const answer of owners) {
    poolErrors.push(...(answer.errors ?? []));
    for (const [list, type] of Object.entries(LIST_TYPE)) for (const edge of answer.data?.[list]?.edges ?? []) pool.push({ id: edge.node.id, type });
  }

  await inBatches(askers, 2, async (asker, index) => {
    const token = await world.token(asker.claims);
    const first = await world.ask(token, LISTS, { first: FIRST_PAGE });
    asker.answers.push({ name: 'lists, page 1', answer: first });
    // Page once: every list that has more goes on from its sealed end cursor.
    const after: Record<string, unknown> = { first: 100 };
    for (const list of LIST_FIELDS) {
      const info = first.data?.[list]?.pageInfo;
      after[AFTER_VARIABLE[list]] = info?.hasNextPage ? info.endCursor : null;
    }
    asker.answers.push({ name: 'lists, page 2', answer: await world.ask(token, LISTS, after) });
    const asks: ByIdAsk[] = [...pick(pool, BY_ID, SEED + index), { id: ABSENT_ID, type: 'Indicator' as const }].map((p, i) => ({ alias: `o${i}`, ...p }));
    const variables = Object.fromEntries(asks.map((a) => [a.alias, a.id]));
    const query = `query ById(${asks.map((a) => `$${a.alias}: ID!`).join(', ')}) {
      ${asks.map((a) => `${a.alias}: ${BY_ID_FIELD[a.type].root}(id: $${a.alias}) { ${BY_ID_FIELD[a.type].fragment} }`).join('\n')}
    }`;
    asker.answers.push({ name: 'by id', answer: await world.ask(token, withFragments(query), variables), byId: asks });
  });

  lap('ask', t);
  // A nation outside the coalition: its identity provider is in no trust store.
  const { privateKey } = await generateKeyPair('ES256', { extractable: true });
  const polKey = { ...(await exportJWK(privateKey)), kid: 'pol-idp-1', alg: 'ES256' };
  const polToken = await mintToken(polKey, { nation: 'POL', clearance: 'TOP_SECRET', roles: ['analyst'], communities: ['NATO', 'EU'], issuer: 'https://idp.pol.sovgraph.example' });
  nonMember = await world.ask(polToken, LISTS, { first: FIRST_PAGE });

  // Only now may the silos be opened: one process at a time per PGlite data directory.
  await world.coalition.stop();
  stopped = true;
  t = Date.now();
  silos = await readSilos(MEMBERS, (nation) => siloDir(world.dataDir, nation));
  lap('silos', t);
}, 240_000);

afterAll(async () => {
  if (!world) return;
  if (stopped) rmSync(world.dataDir, { recursive: true, force: true });
  else await world.stop();
});

// ---------------------------------------------------------------------------------------------------
// the oracle's walk over the answers

const NATION_ID = /^[A-Z]{3}:[a-z][a-z0-9-]*--[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/;
const UUID = /[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}/g;
const IPV4 = /\b(\d{1,3})\.(\d{1,3})\.(\d{1,3})\.(\d{1,3})(\/\d{1,2})?/g;
const REASON = /^(?:[A-Z]{3}|COALITION)\/[a-z0-9-]+(?: \(.+ does not apply to this value\))?$|^marking:[a-z-]+$|^object-not-visible$|^reference:[a-z .-]+$|^no-rule:|^unknown-field:|^error:/;
/** Fields whose value is another nation-owned object (or a list of them): backed by a stored link. */
const REFERENCE_FIELDS = new Set(['sightingOf', 'indicators', 'attributedTo', 'sightings', 'incidents']);

interface Found {
  object: Record<string, unknown>;
  path: Array<string | number>;
}

interface Tally {
  principals: number;
  /** Distinct objects listed over both pages of the four lists, summed over principals. */
  listed: number;
  answers: number;
  objects: number;
  fields: number;
  redacted: number;
  transformed: number;
  references: number;
  invisibleScanned: number;
  hiddenScanned: number;
  withheldErrors: number;
  byIdInvisible: number;
}

interface Report {
  tally: Tally;
  failures: Record<'lists' | 'visible' | 'notDenied' | 'values' | 'references' | 'invisibleIds' | 'errors' | 'withheldAgrees' | 'rollUp' | 'byId' | 'me' | 'shape', string[]>;
}

let report: Report | undefined;

/** The report on the run's own answers (worked out once, asserted by each test below). */
function checkAll(): Report {
  if (report) return report;
  const t = Date.now();
  report = checkAnswers(askers);
  lap('check', t);
  return report;
}

function checkAnswers(askers: readonly Asker[]): Report {
  const failures: Report['failures'] = { lists: [], visible: [], notDenied: [], values: [], references: [], invisibleIds: [], errors: [], withheldAgrees: [], rollUp: [], byId: [], me: [], shape: [] };
  const tally: Tally = { listed: 0, principals: 0, answers: 0, objects: 0, fields: 0, redacted: 0, transformed: 0, references: 0, invisibleScanned: 0, hiddenScanned: 0, withheldErrors: 0, byIdInvisible: 0 };
  const nationRows = [...silos.rows.values()].filter((r) => contractTypeOf(r.type));
  const otherRows = [...silos.rows.values()].filter((r) => !contractTypeOf(r.type));
  const factsOf = new Map<string, ReturnType<typeof rowFacts>>();
  const ownFacts = (row: RawRow) => factsOf.get(row.id) ?? factsOf.set(row.id, rowFacts(row)).get(row.id)!;

  for (const asker of askers) {
    tally.principals++;
    const { principal } = asker;
    const who = asker.label;
    // A derived value's marking depends on what the principal is shown of its sources: facts per principal.
    const principalFacts = new Map<string, ReturnType<typeof rowFacts>>();
    const facts = (row: RawRow) =>
      principalFacts.get(row.id) ?? principalFacts.set(row.id, withDerivedMarkings(ownFacts(row), row, principal, communities, linkedRows)).get(row.id)!;
    const invisible = nationRows.filter((row) => !engine.objectVisible(principal, facts(row)));
    const invisibleUuids = new Map(invisible.map((row) => [uuidOf(row.stix_id), row.id]));
    const visibleUuids = new Set(nationRows.filter((row) => !invisibleUuids.has(uuidOf(row.stix_id))).map((row) => uuidOf(row.stix_id)));
    // Places, victims, catalogue, relationships: the contract shows their values, never their ids.
    const hiddenUuids = new Map(otherRows.map((row) => [uuidOf(row.stix_id), row.id]));

    // The lists hold exactly what the principal may see: nothing more, nothing less, and neither the
    // length of a page nor hasNextPage says anything about what was left out.
    const [page1, page2] = asker.answers.map((a) => a.answer.data);
    for (const list of LIST_FIELDS) {
      if (!page1?.[list] || !page2?.[list]) continue;
      const type = LIST_TYPE[list];
      const ids = (page: any): string[] => (page[list].edges ?? []).map((e: any) => e?.node?.id).filter((id: unknown) => typeof id === 'string');
      const first = ids(page1);
      const seen = new Set([...first, ...ids(page2)]);
      const expected = nationRows.filter((r) => contractTypeOf(r.type) === type && engine.objectVisible(principal, facts(r))).map((r) => r.id);
      tally.listed += seen.size;
      if (first.length !== Math.min(FIRST_PAGE, expected.length)) failures.lists.push(`${who} ${list}: page 1 holds ${first.length} objects, ${Math.min(FIRST_PAGE, expected.length)} expected (${expected.length} visible)`);
      if (page1[list].pageInfo.hasNextPage !== expected.length > first.length) failures.lists.push(`${who} ${list}: hasNextPage is ${page1[list].pageInfo.hasNextPage} with ${expected.length} visible and ${first.length} on page 1`);
      if (!page2[list].pageInfo.hasNextPage) {
        const missing = expected.filter((id) => !seen.has(id));
        if (missing.length) failures.lists.push(`${who} ${list}: ${missing.length} visible objects never listed, e.g. ${missing.slice(0, 3).join(', ')}`);
      }
    }

    for (const { name, answer, byId } of asker.answers) {
      tally.answers++;
      const where = `${who} ${name}`;
      if (answer.status !== 200 || !answer.data) {
        failures.shape.push(`${where}: status ${answer.status}, errors ${JSON.stringify(answer.errors?.slice(0, 2))}`);
        continue;
      }
      const text = JSON.stringify(answer);
      if (text.includes('"__sg_')) failures.shape.push(`${where}: an injected __sg_ field reached the client`);

      // (d) ids of what the principal may not see, and of what the contract never exposes.
      const uuidsInText = new Set(text.match(UUID) ?? []);
      for (const [uuid, id] of invisibleUuids) {
        tally.invisibleScanned++;
        if (uuidsInText.has(uuid)) failures.invisibleIds.push(`${where}: ${id} is not visible to the principal but its id occurs in the answer`);
      }
      for (const [uuid, id] of hiddenUuids) {
        tally.hiddenScanned++;
        if (uuidsInText.has(uuid) && !visibleUuids.has(uuid)) failures.invisibleIds.push(`${where}: the id of ${id} (never exposed by the contract) occurs in the answer`);
      }

      for (const list of LIST_FIELDS) {
        const connection = answer.data[list];
        if (!connection) continue;
        for (const edge of connection.edges ?? []) if (!sealed(edge?.cursor)) failures.shape.push(`${where}: ${list} cursor is not sealed: ${edge?.cursor}`);
        if (connection.pageInfo?.endCursor && !sealed(connection.pageInfo.endCursor)) failures.shape.push(`${where}: ${list} endCursor is not sealed`);
      }
      if (answer.data.me) {
        const me = answer.data.me;
        const expected = { nation: principal.nation, clearance: principal.clearance, roles: [...principal.roles].sort(), communities: principal.communities };
        const got = { ...me, roles: [...me.roles].sort(), communities: [...me.communities].sort() };
        if (!isDeepStrictEqual(got, expected)) failures.me.push(`${where}: me = ${JSON.stringify(me)}, the oracle's principal is ${JSON.stringify(expected)}`);
      }

      const rollUp = answer.extensions?.marking as (Marking & { owners: string[] }) | null | undefined;
      const altered = (kind: 'redacted' | 'transformed') => new Set(((answer.extensions?.sovgraph?.[kind] ?? []) as Array<{ path: unknown[] }>).map((e) => e.path.join('.')));
      const redactedPaths = altered('redacted');
      const transformedPaths = altered('transformed');

      const anonymous: string[] = [];
      const found = nationObjects(answer.data, anonymous);
      for (const a of anonymous) failures.shape.push(`${where}: an object without a nation-owned id: ${a}`);
      for (const { object, path } of found) {
        const id = object.id as string;
        const at = `${where} ${path.join('.')} ${id}`;
        const row = silos.rows.get(id);
        if (!row || !contractTypeOf(row.type)) {
          failures.values.push(`${at}: no nation-owned object with this id in its owner's silo`);
          continue;
        }
        tally.objects++;
        const f = facts(row);
        // (a)
        if (!engine.objectVisible(principal, f)) failures.visible.push(`${at}: the object is not visible to ${who} (${engine.decide(principal, { ...f, fieldMarkings: undefined }, 'id').reason})`);
        for (const [field, value] of Object.entries(object)) {
          if (value === null || value === undefined || field === '__typename') continue;
          tally.fields++;
          const fieldPath = [...path, field].join('.');
          const decision = engine.decide(principal, f, field);
          // (b)
          if (decision.effect === 'deny') {
            failures.notDenied.push(`${at}.${field}: released ${short(value)} but the raw data decides deny (${decision.reason})`);
            continue;
          }
          const marking = effectiveMarking(f, field);
          if (rollUp && marking && !(atLeastAsRestrictive(rollUp, marking) && rollUp.owners.includes(row.nation))) {
            failures.rollUp.push(`${at}.${field}: roll-up ${JSON.stringify(rollUp)} is less restrictive than the field's ${JSON.stringify(marking)}`);
          } else if (!rollUp) failures.rollUp.push(`${where}: no roll-up marking although ${at}.${field} was released`);
          if (decision.effect === 'redact') {
            tally.redacted++;
            if (!redactedPaths.has(fieldPath)) failures.values.push(`${at}.${field}: redacted but not listed in extensions.sovgraph.redacted`);
          }
          if (decision.effect === 'transform') {
            tally.transformed++;
            if (!transformedPaths.has(fieldPath)) failures.values.push(`${at}.${field}: generalised (${decision.transform}) but not listed in extensions.sovgraph.transformed`);
          }
          // (c)
          for (const problem of valueProblems(principal, row, f, field, value, decision)) failures.values.push(`${at}.${field}: ${problem}`);
          if (REFERENCE_FIELDS.has(field)) {
            const expected = decision.effect === 'allow' ? expectedReferences(principal, row, field, facts) : undefined;
            const got = (Array.isArray(value) ? value : [value]).map((c) => (c as Record<string, unknown> | null)?.id).filter((c): c is string => typeof c === 'string');
            if (expected && !isDeepStrictEqual([...got].sort(), [...expected].sort())) {
              failures.references.push(`${at}.${field}: holds ${short(got)}, the visible objects its stored links reach are ${short(expected)}`);
            }
            for (const child of Array.isArray(value) ? value : [value]) {
              if (!child || typeof child !== 'object' || typeof (child as Record<string, unknown>).id !== 'string') continue;
              tally.references++;
              const childId = (child as Record<string, unknown>).id as string;
              if (!linked(row, childId)) failures.references.push(`${at}.${field}: ${childId} is not linked to ${id} in ${row.nation}'s silo`);
            }
          }
        }
      }

      // (e) errors: a withheld field says who and why, never what.
      for (const error of answer.errors ?? []) {
        const code = error.extensions?.code;
        if (code !== 'WITHHELD') {
          failures.errors.push(`${where}: unexpected error ${code}: ${error.message}`);
          continue;
        }
        tally.withheldErrors++;
        const reason = String(error.extensions?.reason ?? '');
        if (!REASON.test(reason)) failures.errors.push(`${where}: WITHHELD reason is not a decision's reason: "${reason}"`);
        const parent = error.path ? at(answer.data, error.path.slice(0, -1)) : undefined;
        const field = error.path?.[error.path.length - 1];
        if (!parent || typeof parent.id !== 'string' || typeof field !== 'string') continue;
        const row = silos.rows.get(parent.id);
        const type = row && contractTypeOf(row.type);
        if (!row || !type) continue;
        for (const secret of secretsOf(row, type, field)) {
          if (error.message.includes(secret) || reason.includes(secret)) failures.errors.push(`${where}: the WITHHELD error at ${error.path!.join('.')} carries the raw value "${secret}"`);
        }
        // And the raw data agrees that it is withheld, for that reason.
        const decision = engine.decide(principal, facts(row), field);
        const problem = withheldDisagreement(principal, row, field, reason, decision, facts);
        if (problem) failures.withheldAgrees.push(`${where} ${error.path!.join('.')}: ${problem}`);
      }

      // By id: what the principal may not see is answered exactly like what does not exist.
      if (byId) {
        const absent = byId.find((a) => a.id === ABSENT_ID)!;
        const signature = (alias: string) => JSON.stringify((answer.errors ?? []).filter((e) => e.path?.[0] === alias).map((e) => [e.extensions?.code, e.extensions?.reason, e.message.replaceAll(alias, '*')]));
        for (const ask of byId) {
          const row = silos.rows.get(ask.id);
          const visible = row !== undefined && engine.objectVisible(principal, facts(row));
          const got = answer.data[ask.alias];
          if (visible && got?.id !== ask.id) failures.byId.push(`${where}: ${ask.id} is visible to the principal but ${ask.alias} answered ${short(got)}`);
          if (!visible) {
            tally.byIdInvisible++;
            if (got !== null) failures.byId.push(`${where}: ${ask.id} is not visible to the principal but ${ask.alias} answered ${short(got)}`);
            if (signature(ask.alias) !== signature(absent.alias)) failures.byId.push(`${where}: asking for invisible ${ask.id} errs ${signature(ask.alias)}, unlike an absent id (${signature(absent.alias)})`);
          }
        }
      }
    }
  }
  return { tally, failures };
}

/**
 * The objects a reference field shows the principal: those its stored links reach (in its owner's
 * silo) that the principal may see; a field that follows only held objects leaves other nations' out.
 */
function expectedReferences(principal: Principal, row: RawRow, field: string, facts: (row: RawRow) => ObjectFacts): string[] | undefined {
  const spec: Record<string, { kind: string; from: boolean; types: string[]; heldOnly: boolean }> = {
    sightingOf: { kind: 'sighting-of', from: true, types: ['indicator'], heldOnly: false },
    sightings: { kind: 'sighting-of', from: false, types: ['sighting'], heldOnly: true },
    indicators: { kind: 'indicates', from: false, types: ['indicator'], heldOnly: false },
    attributedTo: { kind: 'attributed-to', from: true, types: ['threat-actor', 'intrusion-set'], heldOnly: false },
    incidents: { kind: 'attributed-to', from: false, types: ['incident'], heldOnly: true },
  };
  const s = spec[field];
  if (!s) return undefined;
  const far = (silos.linksByEnd.get(row.id) ?? [])
    .filter((l) => l.silo === row.nation && l.kind === s.kind && (s.from ? l.source_id === row.id : l.target_id === row.id))
    .map((l) => (s.from ? l.target_id : l.source_id));
  return [...new Set(far)].filter((id) => {
    const other = silos.rows.get(id);
    return other !== undefined && s.types.includes(other.type) && (!s.heldOnly || other.nation === row.nation) && engine.objectVisible(principal, facts(other));
  });
}

/**
 * Why a WITHHELD error at `field` of `row` disagrees with the raw data, or undefined when it agrees:
 * the field is denied for that very reason, or its generaliser does not apply to the value, or it is
 * a reference whose far end the principal may not see.
 */
function withheldDisagreement(principal: Principal, row: RawRow, field: string, reason: string, decision: Decision, facts: (row: RawRow) => ObjectFacts): string | undefined {
  if (decision.effect === 'deny') return reason === decision.reason ? undefined : `withheld for "${reason}", the raw data denies it for "${decision.reason}"`;
  if (decision.effect === 'transform' && reason === `${decision.reason} (${decision.transform} does not apply to this value)`) return undefined;
  if (REFERENCE_FIELDS.has(field) && (reason === 'object-not-visible' || reason.startsWith('reference:'))) {
    const far = (silos.linksByEnd.get(row.id) ?? []).filter((l) => l.silo === row.nation).map((l) => (l.source_id === row.id ? l.target_id : l.source_id));
    const hidden = far.filter((id) => {
      const other = silos.rows.get(id);
      return NATION_ID.test(id) && contractTypeOf(id.slice(4, id.indexOf('--'))) && (!other || !engine.objectVisible(principal, facts(other)));
    });
    return hidden.length ? undefined : `withheld as "${reason}", yet every object ${row.id} refers to is visible to the principal`;
  }
  return `withheld for "${reason}", the raw data decides ${decision.effect} (${decision.reason})`;
}

function uuidOf(stixId: string): string {
  return stixId.slice(stixId.indexOf('--') + 2);
}

function sealed(cursor: unknown): boolean {
  return typeof cursor === 'string' && /^sg1\.[A-Za-z0-9_-]+$/.test(cursor);
}

function short(value: unknown): string {
  const text = JSON.stringify(value) ?? String(value);
  return text.length > 160 ? `${text.slice(0, 160)}…` : text;
}

/** Every object in the answer whose `id` is a nation-owned global id, with its path. */
function nationObjects(data: unknown, anonymous: string[] = []): Found[] {
  const found: Found[] = [];
  const visit = (value: unknown, path: Array<string | number>) => {
    if (Array.isArray(value)) return value.forEach((item, i) => visit(item, [...path, i]));
    if (!value || typeof value !== 'object') return;
    const object = value as Record<string, unknown>;
    if (typeof object.id === 'string' && NATION_ID.test(object.id)) found.push({ object, path });
    // What looks like a nation-owned object (ATT&CK techniques and field markings aside) must say whose it is.
    else if (['id', 'stixId', 'marking', 'fieldMarkings'].some((k) => k in object) && !path.includes('techniques') && !path.includes('fieldMarkings')) anonymous.push(`${path.join('.')}: ${short(object)}`);
    for (const [key, child] of Object.entries(object)) visit(child, [...path, key]);
  };
  visit(data, []);
  return found;
}

function at(data: unknown, path: ReadonlyArray<string | number>): Record<string, unknown> | undefined {
  let value: unknown = data;
  for (const key of path) value = value && typeof value === 'object' ? (value as Record<string | number, unknown>)[key] : undefined;
  return value && typeof value === 'object' && !Array.isArray(value) ? (value as Record<string, unknown>) : undefined;
}

/** A reference from `row` to `otherId` (or back) is stored in the silo of `row`'s owner. */
function linked(row: RawRow, otherId: string): boolean {
  return (silos.linksByEnd.get(row.id) ?? []).some((l) => l.silo === row.nation && ((l.source_id === row.id && l.target_id === otherId) || (l.target_id === row.id && l.source_id === otherId)));
}

/** The rows at the far end of `row`'s links of `kinds` (stored in its owner's silo), with `types`. */
function linkedRows(row: RawRow, kinds: readonly string[], types: readonly string[], direction: 'from' | 'to' = 'from'): RawRow[] {
  const links = (silos.linksByEnd.get(row.id) ?? []).filter((l) => l.silo === row.nation && kinds.includes(l.kind) && (direction === 'from' ? l.source_id === row.id : l.target_id === row.id));
  return links.map((l) => silos.rows.get(direction === 'from' ? l.target_id : l.source_id)).filter((r): r is RawRow => r !== undefined && types.includes(r.type));
}

function sortedMarking(m: unknown): unknown {
  if (!m || typeof m !== 'object') return m;
  const marking = m as Marking;
  return { classification: marking.classification, tlp: marking.tlp, releasableTo: [...marking.releasableTo].sort(), caveats: [...marking.caveats].sort() };
}

/** What is wrong with a released value, given the raw row and the decision the raw data gives. */
function valueProblems(principal: Principal, row: RawRow, facts: ObjectFacts & { type: NationTypeName }, field: string, value: unknown, decision: Decision): string[] {
  const { type } = facts;
  const problems: string[] = [];
  const expectAltered = (raw: unknown) => {
    if (decision.effect === 'redact') return redact(raw);
    if (decision.effect === 'transform') return applyTransform(decision.transform!, raw);
    return raw;
  };

  if (field === 'fieldMarkings') {
    const expected = Object.entries(facts.fieldMarkings ?? {}).map(([f, m]) => JSON.stringify({ field: f, marking: sortedMarking(m) })).sort();
    const got = (value as Array<{ field: string; marking: Marking }>).map((e) => JSON.stringify({ field: e.field, marking: sortedMarking(e.marking) })).sort();
    if (!isDeepStrictEqual(got, expected)) problems.push(`field markings ${short(got)} differ from the silo's ${short(expected)}`);
    return problems;
  }
  if (field === 'marking') {
    if (!isDeepStrictEqual(sortedMarking(value), sortedMarking(facts.marking))) problems.push(`marking ${short(value)} differs from the silo's ${short(facts.marking)}`);
    return problems;
  }
  if (REFERENCE_FIELDS.has(field)) return problems; // the objects themselves are checked on their own, and their links below

  const raw = rawFieldValue(row, type, field);
  if (raw) {
    let expected = expectAltered(raw.value);
    let got = value;
    if (field === 'techniques') {
      expected = [...(expected as Array<{ id: string }>)].map((t) => t.id).sort();
      got = [...(value as Array<{ id: string }>)].map((t) => t.id).sort();
    }
    if (!isDeepStrictEqual(got, expected)) problems.push(`${decision.effect}${decision.transform ? ` (${decision.transform})` : ''}: got ${short(value)}, the raw value ${short(raw.value)} gives ${short(expected)}`);
  } else if (field === 'victim') {
    const victims = linkedRows(row, ['targets'], ['identity']).filter((v) => baselineAllows(principal, v, communities));
    const names = victims.map((v) => v.doc.name);
    if (decision.effect === 'redact' ? value !== REDACTED : !names.includes(value)) problems.push(`victim ${short(value)} is not ${decision.effect === 'redact' ? REDACTED : `one of the visible targets ${short(names)}`}`);
  } else if (field === 'vulnerabilities') {
    const vulnerabilities = linkedRows(row, ['related-to', 'targets'], ['vulnerability']).filter((v) => baselineAllows(principal, v, communities));
    const cves = new Set(vulnerabilities.flatMap((v) => ((v.doc.external_references as Array<Record<string, unknown>>) ?? []).filter((r) => String(r.source_name).toLowerCase() === 'cve').map((r) => r.external_id)));
    for (const v of value as Array<{ cve: string }>) if (!cves.has(v.cve)) problems.push(`CVE ${v.cve} is not one of the visible vulnerabilities ${short([...cves])}`);
  } else if (field === 'whereSighted') {
    const places = linkedRows(row, ['where-sighted'], ['identity', 'location']).filter((p) => baselineAllows(principal, p, communities));
    const names = places.map((p) => p.doc.name);
    const countries = new Set<unknown>(
      places.flatMap((p) => [p.doc.country, p.doc.x_sovgraph_country, ...linkedRows(p, ['located-at'], ['location']).filter((l) => baselineAllows(principal, l, communities)).map((l) => l.doc.country)]).filter((c) => typeof c === 'string'),
    );
    for (const place of value as Array<{ name: unknown; kind: unknown; country: unknown } | null>) {
      if (!place) continue;
      if (decision.effect === 'transform') {
        if (place.name !== null || place.kind !== null) problems.push(`generalised to the country, yet shows ${short(place)}`);
      } else if (place.name !== null && !names.includes(place.name)) problems.push(`place ${short(place.name)} is not one of the visible places ${short(names)}`);
      if (place.country !== null && !countries.has(place.country)) problems.push(`country ${short(place.country)} is not the country of a visible place ${short([...countries])}`);
    }
    if (decision.effect === 'redact') problems.push(`redacted, yet holds ${short(value)}`);
  } else {
    problems.push(`no oracle for ${type}.${field}: extend the test`);
  }

  // Whatever the comparison said: a generalised value is general.
  if (decision.effect === 'transform') {
    const text = JSON.stringify(value);
    if (decision.transform === 'ipv4-slash24') {
      for (const m of text.matchAll(IPV4)) if ([m[1], m[2], m[3], m[4]].every((o) => Number(o) <= 255) && (m[4] !== '0' || m[5] !== '/24')) problems.push(`a full IPv4 ${m[0]} survived the /24 generalisation`);
    }
    if (decision.transform === 'timestamp-day' && typeof value === 'string' && !value.endsWith('T00:00:00.000Z')) problems.push(`${value} keeps a time of day`);
  }
  return problems;
}

/** The raw strings a WITHHELD error for `field` of `row` must not carry. */
function secretsOf(row: RawRow, type: NationTypeName, field: string): string[] {
  const secrets = new Set<string>();
  const add = (value: unknown) => {
    if (typeof value === 'string' && value.length >= 6 && !NATION_ID.test(value) && !value.includes('--')) secrets.add(value);
    else if (Array.isArray(value)) value.forEach(add);
    else if (value && typeof value === 'object') Object.values(value).forEach(add);
  };
  const raw = rawFieldValue(row, type, field);
  if (raw && field !== 'id' && field !== 'stixId' && field !== 'nation') add(raw.value);
  if (field === 'victim') linkedRows(row, ['targets'], ['identity']).forEach((v) => add(v.doc.name));
  if (field === 'whereSighted') linkedRows(row, ['where-sighted'], ['identity', 'location']).forEach((p) => add(p.doc.name));
  // A sample of the document's texts: names, descriptions, patterns, sources.
  for (const key of ['name', 'description', 'pattern', 'x_sovgraph_source', 'aliases', 'x_sovgraph_sector']) add(row.doc[key]);
  return [...secrets];
}

// ---------------------------------------------------------------------------------------------------

describe('leak test: every field a random principal gets, re-decided from the silos’ raw data', () => {
  it('draws principals from every member nation, across clearances, roles and community claims', () => {
    expect(new Set(askers.map((a) => a.principal.nation))).toEqual(new Set(MEMBERS));
    expect(new Set(askers.map((a) => a.principal.clearance)).size).toBeGreaterThanOrEqual(3);
    expect(askers.some((a) => a.principal.roles.includes('analyst'))).toBe(true);
    expect(askers.some((a) => !a.principal.roles.includes('analyst'))).toBe(true);
    expect(poolErrors).toEqual([]);
    expect(pool.length).toBeGreaterThan(100);
    expect(silos.rowCount).toBeGreaterThan(500);
  });

  it('refuses a principal of a nation outside the coalition (POL): 401, no data', () => {
    expect(nonMember.status).toBe(401);
    expect(nonMember.data ?? null).toBeNull();
    expect(nonMember.errors?.[0]?.extensions?.code).toBe('UNAUTHENTICATED');
  });

  it('every answer is well formed: 200 with data, sealed cursors, nothing injected left, the confirmed communities', () => {
    const { failures } = checkAll();
    expect(failures.shape).toEqual([]);
    expect(failures.me).toEqual([]);
  });

  it('the lists hold exactly the objects visible to the principal, in pages whose length and hasNextPage tell nothing more', () => {
    expect(checkAll().failures.lists).toEqual([]);
  });

  it('(a) every nation-owned object returned is visible to the principal by its raw markings and its owner’s rules', () => {
    expect(checkAll().failures.visible).toEqual([]);
  });

  it('(b) no field returned with a value is one the raw data denies', () => {
    expect(checkAll().failures.notDenied).toEqual([]);
  });

  it('(c) every value is the raw value, its mask or its generalisation, as the decision says; references follow stored links', () => {
    const { failures } = checkAll();
    expect(failures.values).toEqual([]);
    expect(failures.references).toEqual([]);
  });

  it('(d) no id of an object the principal may not see, nor of any object the contract never exposes, occurs in any answer', () => {
    expect(checkAll().failures.invisibleIds).toEqual([]);
  });

  it('(e) WITHHELD errors give a decision’s reason, never a raw value', () => {
    expect(checkAll().failures.errors).toEqual([]);
  });

  it('every WITHHELD field is withheld for the reason the raw data gives (nothing is withheld that the owner releases)', () => {
    expect(checkAll().failures.withheldAgrees).toEqual([]);
  });

  it('the roll-up marking of each answer covers every field it released', () => {
    expect(checkAll().failures.rollUp).toEqual([]);
  });

  it('by id, an object the principal may not see is answered exactly like one that does not exist', () => {
    expect(checkAll().failures.byId).toEqual([]);
  });

  it('the oracle itself catches leaks planted in real answers (so the checks above are not vacuous)', () => {
    const planted: Asker[] = [];
    const plantedIn = (asker: Asker) => {
      const copy = planted.find((p) => p.label === asker.label) ?? { ...asker, answers: structuredClone(asker.answers) };
      if (!planted.includes(copy)) planted.push(copy);
      return copy.answers[0]!.answer;
    };
    const done = new Set<string>();
    for (const asker of askers) {
      const found = nationObjects(asker.answers[0]!.answer.data);
      for (const { object, path } of found) {
        const row = silos.rows.get(object.id as string)!;
        const f = rowFacts(row);
        const decide = (field: string) => engine.decide(asker.principal, f, field);
        const copyOf = () => at(plantedIn(asker).data, path)!;
        // A denied field with its raw value; an allowed one with a made-up value.
        if (!done.has('denied') && object.source === null && decide('source').effect === 'deny' && row.doc.x_sovgraph_source) {
          copyOf().source = rawFieldValue(row, 'Indicator', 'source')!.value;
          // And its error, carrying the value it withholds.
          const answer = plantedIn(asker);
          answer.errors = [...(answer.errors ?? []), { message: `withheld: ${JSON.stringify(row.doc.x_sovgraph_source)}`, path: [...path, 'source'], extensions: { code: 'WITHHELD', owner: row.nation, reason: String((row.doc.x_sovgraph_source as Record<string, unknown>).name) } }];
          done.add('denied');
        } else if (!done.has('fabricated') && typeof object.name === 'string' && decide('name').effect === 'allow') {
          copyOf().name = `${object.name} (as told by the gateway)`;
          done.add('fabricated');
        } else if (!done.has('generalised') && typeof object.pattern === 'string' && decide('pattern').effect === 'transform' && object.pattern !== row.doc.pattern) {
          copyOf().pattern = row.doc.pattern;
          done.add('generalised');
        }
      }
      if (!done.has('invisible')) {
        const hidden = [...silos.rows.values()].find((r) => r.type === 'indicator' && !engine.objectVisible(asker.principal, rowFacts(r)));
        if (hidden) {
          plantedIn(asker).data.indicators.edges.push({ cursor: 'sg1.planted', node: { id: hidden.id, nation: hidden.nation, name: hidden.doc.name } });
          done.add('invisible');
        }
      }
    }
    expect([...done].sort()).toEqual(['denied', 'fabricated', 'generalised', 'invisible']);
    const { failures } = checkAnswers(planted);
    expect(failures.notDenied.length, 'a denied field released').toBeGreaterThan(0);
    expect(failures.values.some((f) => f.includes('(as told by the gateway)')), 'a made-up value').toBe(true);
    expect(failures.values.some((f) => f.includes('ipv4-slash24')), 'an IPv4 not generalised').toBe(true);
    expect(failures.visible.length, 'an invisible object listed').toBeGreaterThan(0);
    expect(failures.invisibleIds.length, 'an invisible id in the text').toBeGreaterThan(0);
    expect(failures.errors.length, 'a raw value in an error').toBeGreaterThan(0);
  });

  it('was not vacuous', () => {
    const { tally } = checkAll();
    console.log(
      `leak test (seed ${SEED}): ${tally.principals} principals (+1 non-member refused), ${tally.answers} answers, ${tally.listed} listed, ${tally.objects} objects and ${tally.fields} fields checked ` +
        `(${tally.redacted} redacted, ${tally.transformed} generalised, ${tally.references} references), ${tally.invisibleScanned} invisible ids and ${tally.hiddenScanned} never-exposed ids scanned, ` +
        `${tally.withheldErrors} WITHHELD errors, ${tally.byIdInvisible} invisible asked by id; ${silos.rowCount} silo rows, ${silos.linkCount} links; ${((Date.now() - started) / 1000).toFixed(1)} s (${Object.entries(phases).map(([k, v]) => `${k} ${v.toFixed(1)}`).join(', ')})`,
    );
    expect(tally.principals).toBe(PRINCIPALS);
    expect(tally.answers).toBe(PRINCIPALS * 3);
    expect(tally.objects).toBeGreaterThan(1000);
    expect(tally.fields).toBeGreaterThan(15_000);
    expect(tally.redacted + tally.transformed).toBeGreaterThan(50);
    expect(tally.references).toBeGreaterThan(50);
    expect(tally.invisibleScanned).toBeGreaterThan(1000);
    expect(tally.withheldErrors).toBeGreaterThan(50);
    expect(tally.byIdInvisible).toBeGreaterThan(20);
  });
});
