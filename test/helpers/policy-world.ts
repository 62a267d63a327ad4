/**
 * A coalition for policy stories: the generated seed of every nation, plus a few "story objects"
 * per nation, each marked to isolate one clause of the marking baseline or one demo rule (the seed
 * alone never marks NOFORN or AMBER+STRICT objects releasable to anyone but the owner, has one
 * incident a nation, no Estonian energy incident…). Story objects are named `Story: …`, imported
 * through the same STIX import as the seed, and found by querying, like every other object.
 *
 * Also: an independent model of the marking baseline (DESIGN.md, "Markings and decisions"), the
 * oracle the stories derive their expectations from.
 */
import { mkdirSync, writeFileSync } from 'node:fs';
import { dirname, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { DEMO_NATIONS } from '../../gateway/demo/coalition';
import { siloDir } from '../../gateway/demo/launch';
import { ASSERTION_HEADER, createAssertionSigner, loadRuleFolder, type Classification, type Principal, type Tlp } from '../../policies';
import { generateCoalitionBundles } from '../../subgraphs/seed/generate';
import { openSilo } from '../../subgraphs/silo/db';
import { defaultMarkingFor, importBundle, refOwnersExtension, sovgraphDefinitionObjects, sovgraphMarkingDefinition, tlpMarkingDefinition, uuidv5, type StixObject } from '../../subgraphs/stix';
import { postGraphQL, startTestCoalition, type GraphQLAnswer, type TestCoalition } from './coalition';

const REPO_ROOT = resolve(dirname(fileURLToPath(import.meta.url)), '../..');
export const RULES_DIR = join(REPO_ROOT, 'policies/rules');

// ---------------------------------------------------------------------------------------------------
// the marking model: the test's own reading of the baseline, not the engine's code

export const CLASSIFICATIONS: readonly Classification[] = ['UNCLASSIFIED', 'RESTRICTED', 'CONFIDENTIAL', 'SECRET', 'TOP_SECRET'];
export const TLPS: readonly Tlp[] = ['CLEAR', 'GREEN', 'AMBER', 'AMBER_STRICT', 'RED'];

export interface Marking {
  classification: Classification;
  tlp: Tlp;
  releasableTo: string[];
  caveats: string[];
}

export interface Caller {
  nation: string;
  clearance: Classification;
  roles: string[];
  /** Communities the token claims (the coalition confirms or not). */
  communities: string[];
}

/** Community → member nations, as the coalition's rule file lists them. */
export const COMMUNITIES: Readonly<Record<string, readonly string[]>> = loadRuleFolder(RULES_DIR).find((f) => f.nation === 'COALITION')?.communities ?? {};

export const rankOf = (c: Classification) => CLASSIFICATIONS.indexOf(c);
export const tlpRankOf = (t: Tlp) => TLPS.indexOf(t);

/** The baseline clause that stops `caller` from seeing something marked `marking` held by `owner`, or null. */
export function baselineFailure(caller: Caller, owner: string, marking: Marking): 'clearance' | 'tlp-red' | 'noforn' | 'releasability' | null {
  if (rankOf(caller.clearance) < rankOf(marking.classification)) return 'clearance';
  if (caller.nation === owner) return null;
  if (marking.tlp === 'RED') return 'tlp-red';
  if (marking.caveats.includes('NOFORN')) return 'noforn';
  if (marking.releasableTo.includes(caller.nation)) return null;
  if (marking.tlp === 'AMBER_STRICT') return 'releasability';
  const viaCommunity = marking.releasableTo.some((c) => caller.communities.includes(c) && (COMMUNITIES[c] ?? []).includes(caller.nation));
  return viaCommunity ? null : 'releasability';
}

export function baselinePasses(caller: Caller, owner: string, marking: Marking): boolean {
  return baselineFailure(caller, owner, marking) === null;
}

/** Most restrictive of several markings: highest classification and TLP, releasability intersected, caveats united. */
export function combined(markings: Marking[]): Marking {
  const [first, ...rest] = markings;
  return rest.reduce<Marking>(
    (acc, m) => ({
      classification: rankOf(m.classification) > rankOf(acc.classification) ? m.classification : acc.classification,
      tlp: tlpRankOf(m.tlp) > tlpRankOf(acc.tlp) ? m.tlp : acc.tlp,
      releasableTo: acc.releasableTo.filter((r) => m.releasableTo.includes(r)),
      caveats: [...new Set([...acc.caveats, ...m.caveats])].sort(),
    }),
    { ...first!, releasableTo: [...first!.releasableTo], caveats: [...first!.caveats].sort() },
  );
}

// ---------------------------------------------------------------------------------------------------
// story objects

const STORY_TIME = '2025-05-20T10:00:00.000Z';
const STORY_LATER = '2025-05-21T16:45:12.345Z';

interface MarkingSpec {
  classification?: Classification;
  tlp?: Tlp;
  releasableTo?: string[];
  caveats?: string[];
}

class StoryBundle {
  readonly objects: StixObject[] = [];
  readonly definitions = new Map<string, StixObject>();

  constructor(readonly nation: string) {}

  id(type: string, key: string): string {
    return `${type}--${uuidv5(`policy-stories/${this.nation}/${type}/${key}`)}`;
  }

  refs(spec: MarkingSpec): string[] {
    const refs: string[] = [];
    if (spec.tlp) refs.push(this.use(tlpMarkingDefinition(spec.tlp)));
    if (spec.classification || spec.releasableTo?.length || spec.caveats?.length) {
      refs.push(this.use(sovgraphMarkingDefinition({ classification: spec.classification, releasableTo: spec.releasableTo, caveats: spec.caveats })));
    }
    return refs;
  }

  granular(selector: string, spec: MarkingSpec): Array<{ selectors: string[]; marking_ref: string }> {
    return this.refs(spec).map((marking_ref) => ({ selectors: [selector], marking_ref }));
  }

  private use(definition: StixObject): string {
    this.definitions.set(definition.id, definition);
    return definition.id;
  }

  add(type: string, key: string, marking: MarkingSpec, props: Record<string, unknown>): string {
    const id = this.id(type, key);
    const object: StixObject = { type, spec_version: '2.1', id, created: STORY_TIME, modified: STORY_TIME, object_marking_refs: this.refs(marking), ...props };
    for (const k of Object.keys(object)) if (object[k] === undefined) delete object[k];
    this.objects.push(object);
    return id;
  }

  indicator(key: string, name: string, marking: MarkingSpec, pattern: string, extra: Record<string, unknown> = {}): string {
    return this.add('indicator', key, marking, {
      name,
      description: `${name}. Seen beaconing from a monitored network; the analyst's notes follow.`,
      pattern,
      pattern_type: 'stix',
      pattern_version: '2.1',
      valid_from: STORY_TIME,
      indicator_types: ['malicious-activity'],
      x_sovgraph_source: { name: `${this.nation} story sensor`, kind: 'sensor' },
      ...extra,
    });
  }

  place(key: string, marking: MarkingSpec, props: Record<string, unknown>): string {
    return this.add('location', key, marking, props);
  }

  victim(key: string, name: string, marking: MarkingSpec, sector: string): string {
    return this.add('identity', key, marking, { name, identity_class: 'organization', sectors: [sector] });
  }

  incident(key: string, name: string, marking: MarkingSpec, props: { sector: string; description: string; victim?: string }): string {
    const id = this.add('incident', key, marking, {
      name,
      description: props.description,
      x_sovgraph_severity: 'high',
      x_sovgraph_sector: props.sector,
      x_sovgraph_first_seen: STORY_TIME,
    });
    if (props.victim) this.add('relationship', `${key}-targets`, marking, { relationship_type: 'targets', source_ref: id, target_ref: props.victim });
    return id;
  }

  sighting(key: string, marking: MarkingSpec, of: string, ofOwner: string, where: string[] = []): string {
    return this.add('sighting', key, marking, {
      sighting_of_ref: of,
      count: 3,
      first_seen: STORY_TIME,
      last_seen: STORY_LATER,
      where_sighted_refs: where.length ? where : undefined,
      extensions: ofOwner === this.nation ? undefined : refOwnersExtension({ [of]: ofOwner }),
    });
  }
}

const NATO_GREEN: MarkingSpec = { classification: 'UNCLASSIFIED', tlp: 'GREEN', releasableTo: ['NATO'] };

/** The story objects of every nation: see the file comment. */
export function storyObjects(): Map<string, StixObject[]> {
  const usa = new StoryBundle('USA');
  const gbr = new StoryBundle('GBR');
  const fra = new StoryBundle('FRA');
  const deu = new StoryBundle('DEU');
  const est = new StoryBundle('EST');

  // USA: NOFORN on an object otherwise releasable to NATO; an object releasable to Five Eyes only;
  // granular markings that only add NOFORN, or only raise the classification, of the description.
  const usaNato = usa.indicator('nato', 'Story: USA indicator for NATO', NATO_GREEN, "[domain-name:value = 'story-nato.example']");
  usa.indicator('noforn', 'Story: USA NOFORN indicator for NATO', { ...NATO_GREEN, caveats: ['NOFORN'] }, "[domain-name:value = 'story-noforn.example']");
  usa.indicator('fvey', 'Story: USA indicator for Five Eyes', { classification: 'UNCLASSIFIED', tlp: 'GREEN', releasableTo: ['FVEY', 'USA'] }, "[domain-name:value = 'story-fvey.example']");
  usa.indicator('noforn-description', 'Story: USA indicator with a NOFORN description', NATO_GREEN, "[domain-name:value = 'story-noforn-text.example']", {
    granular_markings: usa.granular('description', { caveats: ['NOFORN'] }),
  });
  usa.indicator('secret-description', 'Story: USA indicator with a SECRET description', NATO_GREEN, "[domain-name:value = 'story-secret-text.example']", {
    granular_markings: usa.granular('description', { classification: 'SECRET' }),
  });
  const usaVictim = usa.victim('victim', 'Story: United States port operator', NATO_GREEN, 'transportation');
  usa.incident('incident', 'Story: USA incident for NATO', { classification: 'CONFIDENTIAL', tlp: 'AMBER', releasableTo: ['NATO', 'USA'] }, {
    sector: 'transportation',
    description: 'A port operator reported an intrusion. The access came through a contractor VPN.',
    victim: usaVictim,
  });
  const norfolk = usa.place('norfolk', NATO_GREEN, { name: 'Norfolk', city: 'Norfolk', country: 'US' });
  usa.sighting('sighting', { classification: 'RESTRICTED', tlp: 'GREEN', releasableTo: ['NATO'] }, usaNato, 'USA', [norfolk]);

  // GBR: an incident a partner cleared CONFIDENTIAL can see, with a victim and a two-sentence description.
  const gbrVictim = gbr.victim('victim', 'Story: United Kingdom water utility', NATO_GREEN, 'water');
  gbr.incident('incident', 'Story: GBR incident for NATO', { classification: 'CONFIDENTIAL', tlp: 'AMBER', releasableTo: ['GBR', 'NATO'] }, {
    sector: 'water',
    description: 'A water utility saw its control network scanned. The scan came from a host NCSC had flagged in an earlier case.',
    victim: gbrVictim,
  });

  // FRA: AMBER+STRICT releasable to a community or to a named nation, AMBER to a community, TLP:RED
  // otherwise releasable to NATO, an IPv4 indicator, an incident with a victim, a sighting in France.
  fra.indicator('amber-strict-eu', 'Story: FRA AMBER+STRICT indicator for the EU', { classification: 'UNCLASSIFIED', tlp: 'AMBER_STRICT', releasableTo: ['EU', 'FRA'] }, "[domain-name:value = 'story-strict-eu.example']");
  fra.indicator('amber-strict-deu', 'Story: FRA AMBER+STRICT indicator for Germany', { classification: 'UNCLASSIFIED', tlp: 'AMBER_STRICT', releasableTo: ['DEU', 'FRA'] }, "[domain-name:value = 'story-strict-deu.example']");
  fra.indicator('amber-eu', 'Story: FRA AMBER indicator for the EU', { classification: 'UNCLASSIFIED', tlp: 'AMBER', releasableTo: ['EU', 'FRA'] }, "[domain-name:value = 'story-amber-eu.example']");
  fra.indicator('red', 'Story: FRA TLP:RED indicator for NATO', { classification: 'UNCLASSIFIED', tlp: 'RED', releasableTo: ['NATO'] }, "[domain-name:value = 'story-red.example']");
  const fraIp = fra.indicator('ipv4', 'Story: FRA C2 server', NATO_GREEN, "[ipv4-addr:value = '203.0.113.77']");
  const fraVictim = fra.victim('victim', 'Story: French hospital group', NATO_GREEN, 'healthcare');
  fra.incident('incident', 'Story: FRA incident for NATO', { classification: 'CONFIDENTIAL', tlp: 'AMBER', releasableTo: ['EU', 'FRA', 'NATO'] }, {
    sector: 'healthcare',
    description: 'A hospital group lost access to its patient records. Ransomware was found on the file servers.',
    victim: fraVictim,
  });
  const lyon = fra.place('lyon', NATO_GREEN, { name: 'Lyon', city: 'Lyon', country: 'FR' });
  fra.sighting('sighting', NATO_GREEN, fraIp, 'FRA', [lyon]);

  // DEU: an IPv4 indicator, a sighting at a German city, an incident with a victim.
  const deuIp = deu.indicator('ipv4', 'Story: DEU C2 server', NATO_GREEN, "[ipv4-addr:value = '198.51.100.77']");
  const bonn = deu.place('bonn', NATO_GREEN, { name: 'Bonn', city: 'Bonn', country: 'DE' });
  deu.sighting('sighting', NATO_GREEN, deuIp, 'DEU', [bonn]);
  const deuVictim = deu.victim('victim', 'Story: German rail operator', NATO_GREEN, 'transportation');
  deu.incident('incident', 'Story: DEU incident for NATO', { classification: 'CONFIDENTIAL', tlp: 'AMBER', releasableTo: ['DEU', 'NATO'] }, {
    sector: 'transportation',
    description: 'A rail operator found a web shell on its ticketing portal. It had been there for weeks.',
    victim: deuVictim,
  });
  // A German sighting of the French IPv4 indicator: the gateway fetches the indicator from France.
  deu.sighting('sighting-of-fra', NATO_GREEN, fraIp, 'FRA');

  // EST: an energy incident and a water incident marked alike; an indicator and its sighting.
  est.incident('energy', 'Story: EST energy incident', NATO_GREEN, { sector: 'energy', description: 'A grid operator saw a wiper on its billing systems. Operations were not affected.' });
  est.incident('water', 'Story: EST water incident', NATO_GREEN, { sector: 'water', description: 'A water utility saw repeated logins. They were blocked.' });
  const estIndicator = est.indicator('indicator', 'Story: EST indicator', NATO_GREEN, "[domain-name:value = 'story-est.example']");
  est.sighting('sighting', NATO_GREEN, estIndicator, 'EST');

  return new Map([usa, gbr, fra, deu, est].map((b) => [b.nation, [...b.definitions.values(), ...b.objects]]));
}

// ---------------------------------------------------------------------------------------------------
// the world

export interface PolicyWorld extends TestCoalition {
  /** Asks a nation's subgraph directly, as the gateway would for `principal` (a signed assertion). */
  askNation(nation: string, principal: Principal, query: string, variables?: Record<string, unknown>): Promise<GraphQLAnswer>;
}

/**
 * Seeds every silo with the generated seed plus the story objects (through the STIX import, as
 * `npm run stix -- import` does), then launches the coalition over those silos.
 */
export async function startPolicyWorld(options: { seedSize?: number; nationRulesDirs?: Record<string, string> } = {}): Promise<PolicyWorld> {
  const seedSize = options.seedSize ?? 90;
  const nations = [...DEMO_NATIONS];
  const world = await startTestCoalition({
    seedSize,
    nations,
    nationTimeoutMs: 5000,
    nationRulesDirs: options.nationRulesDirs,
    prepare: (dataDir) => seedWithStories(dataDir, nations, seedSize),
  });
  const sign = await createAssertionSigner({ privateJwk: world.coalition.keys.gatewayPrivateJwk });
  return {
    ...world,
    async askNation(nation, principal, query, variables = {}) {
      const url = world.coalition.nations.find((n) => n.nation === nation)!.url;
      return postGraphQL(url, query, variables, { [ASSERTION_HEADER]: await sign(principal, `sovgraph:${nation}`) });
    },
  };
}

/** One silo after the other, in this process: PGlite starts faster here than in five processes. */
async function seedWithStories(dataDir: string, nations: string[], seedSize: number): Promise<void> {
  mkdirSync(join(dataDir, 'silos'), { recursive: true });
  const stories = storyObjects();
  const bundles = generateCoalitionBundles({ nations, size: seedSize });
  for (const nation of nations) {
    const bundle = bundles.get(nation)!;
    const extra = stories.get(nation) ?? [];
    const definitions = new Map([...sovgraphDefinitionObjects(), ...extra.filter((o) => o.type === 'marking-definition')].map((d) => [d.id, d]));
    const held = new Set(bundle.objects.map((o) => o.id));
    bundle.objects = [
      ...[...definitions.values()].filter((d) => !held.has(d.id)),
      ...bundle.objects,
      ...extra.filter((o) => o.type !== 'marking-definition' && !held.has(o.id)),
    ];
    const db = await openSilo({ nation, dataDir: siloDir(dataDir, nation) });
    try {
      const report = await importBundle(db, bundle, { nation, defaultMarking: defaultMarkingFor(nation) });
      if (report.rejected.length) throw new Error(`${nation}: the import rejected ${JSON.stringify(report.rejected).slice(0, 2000)}`);
      // The launcher seeds a silo only once: this marker tells it this one is seeded.
      writeFileSync(join(dataDir, 'silos', `${nation}.seeded.json`), JSON.stringify(report));
    } finally {
      await db.close();
    }
  }
}
