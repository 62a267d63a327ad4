/**
 * Deterministic seed data: one realistic STIX 2.1 bundle per nation, loaded through the same import as
 * any other bundle.
 *
 * Deterministic: a seeded PRNG and a fixed reference date (no Math.random, no clock), and ids that are
 * name-based UUIDs of (nation, kind, index). The same options always give byte-identical bundles, and
 * one nation's bundle can refer to another's objects without generating it (a German sighting of a
 * French indicator names the French indicator's id, computed, plus a ref_owners entry saying FRA).
 *
 * Every marking feature is exercised: classifications UNCLASSIFIED..TOP_SECRET, TLP CLEAR..RED (2.0
 * definitions, and TLP 1.0 ones for some objects), releasability to nations and communities (NATO, EU,
 * FVEY), NOFORN and ORCON, objects marked by several definitions at once or by a TLP definition only,
 * granular markings on description, x_sovgraph_source and where_sighted_refs, and a few unmarked objects.
 */
import type { Classification, Tlp } from '../../policies';
import {
  refOwnersExtension,
  sovgraphDefinitionObjects,
  sovgraphMarkingDefinition,
  tlp1MarkingDefinition,
  tlpMarkingDefinition,
  uuidv5,
  type Bundle,
  type MarkingPart,
  type StixObject,
  type Tlp1Level,
} from '../stix';

export const SEED_NATIONS = ['USA', 'GBR', 'FRA', 'DEU', 'EST'] as const;
export const DEFAULT_SEED_SIZE = 300;
/** Every timestamp lies in the ~90 days before this date. */
export const SEED_REFERENCE_DATE = '2025-06-01T00:00:00.000Z';

export interface SeedOptions {
  /** Nations to generate for (ISO 3166 alpha-3); cross-nation references go between these. */
  nations?: readonly string[];
  /** Roughly the number of objects per nation (at least ~120: the fixed catalogue plus a few dozen). */
  size?: number;
  /** PRNG seed: the same seed gives the same bundles. */
  seed?: string;
  referenceDate?: string;
}

/** One bundle per nation, generated one nation at a time. */
export function generateCoalitionBundles(options: SeedOptions = {}): Map<string, Bundle> {
  const nations = options.nations ?? SEED_NATIONS;
  return new Map(nations.map((nation) => [nation, generateNationBundle(nation, { ...options, nations })]));
}

/** One nation's bundle: definitions first, then the catalogue, then indicators and what hangs off them. */
export function generateNationBundle(nation: string, options: SeedOptions = {}): Bundle {
  const nations = options.nations ?? SEED_NATIONS;
  if (!/^[A-Z]{3}$/.test(nation)) throw new Error(`seed: "${nation}" is not an ISO 3166 alpha-3 nation code`);
  const size = options.size ?? DEFAULT_SEED_SIZE;
  if (!Number.isInteger(size) || size < 1) throw new Error(`seed: size must be a positive integer, got ${size}`);
  const generator = new NationGenerator(nation, nations, size, options.seed ?? 'sovgraph', Date.parse(options.referenceDate ?? SEED_REFERENCE_DATE));
  const seedKey = `${options.seed ?? 'sovgraph'}/${nations.join(',')}/${size}/${nation}`;
  return { type: 'bundle', id: `bundle--${uuidv5(`seed-bundle:${seedKey}`)}`, objects: generator.run() };
}

// ---------------------------------------------------------------------------------------------------
// deterministic randomness

/** mulberry32, seeded by a string hash: small, fast, and good enough for test data. */
class Rng {
  private state: number;

  constructor(seed: string) {
    let h = 1779033703 ^ seed.length;
    for (let i = 0; i < seed.length; i++) {
      h = Math.imul(h ^ seed.charCodeAt(i), 3432918353);
      h = (h << 13) | (h >>> 19);
    }
    this.state = h >>> 0;
  }

  next(): number {
    this.state = (this.state + 0x6d2b79f5) >>> 0;
    let t = this.state;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  }

  int(min: number, max: number): number {
    return min + Math.floor(this.next() * (max - min + 1));
  }

  chance(p: number): boolean {
    return this.next() < p;
  }

  pick<T>(items: readonly T[]): T {
    return items[Math.floor(this.next() * items.length)]!;
  }

  weighted<T>(entries: readonly (readonly [T, number])[]): T {
    const total = entries.reduce((sum, [, w]) => sum + w, 0);
    let r = this.next() * total;
    for (const [value, weight] of entries) if ((r -= weight) < 0) return value;
    return entries[entries.length - 1]![0];
  }

  hex(length: number): string {
    let out = '';
    while (out.length < length) out += Math.floor(this.next() * 0x100000000).toString(16).padStart(8, '0');
    return out.slice(0, length);
  }
}

// ---------------------------------------------------------------------------------------------------
// catalogue: real ATT&CK techniques, real KEV CVEs, well-known intrusion sets

interface Technique {
  id: string;
  name: string;
  tactics: string[];
}

const TECHNIQUES: readonly Technique[] = [
  { id: 'T1566', name: 'Phishing', tactics: ['initial-access'] },
  { id: 'T1566.001', name: 'Spearphishing Attachment', tactics: ['initial-access'] },
  { id: 'T1566.002', name: 'Spearphishing Link', tactics: ['initial-access'] },
  { id: 'T1190', name: 'Exploit Public-Facing Application', tactics: ['initial-access'] },
  { id: 'T1133', name: 'External Remote Services', tactics: ['persistence', 'initial-access'] },
  { id: 'T1078', name: 'Valid Accounts', tactics: ['defense-evasion', 'persistence', 'privilege-escalation', 'initial-access'] },
  { id: 'T1059', name: 'Command and Scripting Interpreter', tactics: ['execution'] },
  { id: 'T1059.001', name: 'PowerShell', tactics: ['execution'] },
  { id: 'T1204', name: 'User Execution', tactics: ['execution'] },
  { id: 'T1053', name: 'Scheduled Task/Job', tactics: ['execution', 'persistence', 'privilege-escalation'] },
  { id: 'T1547', name: 'Boot or Logon Autostart Execution', tactics: ['persistence', 'privilege-escalation'] },
  { id: 'T1547.001', name: 'Registry Run Keys / Startup Folder', tactics: ['persistence', 'privilege-escalation'] },
  { id: 'T1027', name: 'Obfuscated Files or Information', tactics: ['defense-evasion'] },
  { id: 'T1003', name: 'OS Credential Dumping', tactics: ['credential-access'] },
  { id: 'T1021', name: 'Remote Services', tactics: ['lateral-movement'] },
  { id: 'T1071', name: 'Application Layer Protocol', tactics: ['command-and-control'] },
  { id: 'T1071.001', name: 'Web Protocols', tactics: ['command-and-control'] },
  { id: 'T1105', name: 'Ingress Tool Transfer', tactics: ['command-and-control'] },
  { id: 'T1041', name: 'Exfiltration Over C2 Channel', tactics: ['exfiltration'] },
  { id: 'T1486', name: 'Data Encrypted for Impact', tactics: ['impact'] },
  { id: 'T1498', name: 'Network Denial of Service', tactics: ['impact'] },
  { id: 'T1595', name: 'Active Scanning', tactics: ['reconnaissance'] },
];

/** From CISA's Known Exploited Vulnerabilities catalogue. */
const CVES: readonly { id: string; name: string }[] = [
  { id: 'CVE-2021-44228', name: 'Apache Log4j2 Remote Code Execution Vulnerability' },
  { id: 'CVE-2023-4966', name: 'Citrix NetScaler ADC and NetScaler Gateway Buffer Overflow Vulnerability' },
  { id: 'CVE-2024-3400', name: 'Palo Alto Networks PAN-OS Command Injection Vulnerability' },
  { id: 'CVE-2023-34362', name: 'Progress MOVEit Transfer SQL Injection Vulnerability' },
  { id: 'CVE-2021-26855', name: 'Microsoft Exchange Server Remote Code Execution Vulnerability' },
  { id: 'CVE-2023-23397', name: 'Microsoft Office Outlook Privilege Escalation Vulnerability' },
  { id: 'CVE-2022-30190', name: 'Microsoft Windows Support Diagnostic Tool (MSDT) Remote Code Execution Vulnerability' },
  { id: 'CVE-2023-20198', name: 'Cisco IOS XE Web UI Privilege Escalation Vulnerability' },
  { id: 'CVE-2024-21887', name: 'Ivanti Connect Secure and Policy Secure Command Injection Vulnerability' },
  { id: 'CVE-2023-46805', name: 'Ivanti Connect Secure and Policy Secure Authentication Bypass Vulnerability' },
  { id: 'CVE-2019-19781', name: 'Citrix ADC, Gateway, and SD-WAN WANOP Appliance Code Execution Vulnerability' },
  { id: 'CVE-2021-34527', name: 'Microsoft Windows Print Spooler Remote Code Execution Vulnerability' },
  { id: 'CVE-2023-22515', name: 'Atlassian Confluence Data Center and Server Broken Access Control Vulnerability' },
  { id: 'CVE-2020-1472', name: 'Microsoft Netlogon Privilege Escalation Vulnerability' },
  { id: 'CVE-2018-13379', name: 'Fortinet FortiOS SSL VPN Path Traversal Vulnerability' },
  { id: 'CVE-2022-40684', name: 'Fortinet Multiple Products Authentication Bypass Vulnerability' },
  { id: 'CVE-2023-27997', name: 'Fortinet FortiOS and FortiProxy SSL-VPN Heap-Based Buffer Overflow Vulnerability' },
  { id: 'CVE-2024-1709', name: 'ConnectWise ScreenConnect Authentication Bypass Vulnerability' },
];

interface Actor {
  key: string;
  type: 'intrusion-set' | 'threat-actor';
  name: string;
  aliases: string[];
  motivation: string;
  sophistication?: string;
  firstSeen: string;
  techniques: string[];
  cves: string[];
}

const ACTORS: readonly Actor[] = [
  { key: 'apt28', type: 'intrusion-set', name: 'APT28', aliases: ['Fancy Bear', 'Sofacy', 'Sednit', 'STRONTIUM', 'Forest Blizzard'], motivation: 'organizational-gain', firstSeen: '2004-01-01T00:00:00.000Z', techniques: ['T1566.001', 'T1190', 'T1078', 'T1071.001', 'T1105', 'T1027'], cves: ['CVE-2023-23397', 'CVE-2022-30190', 'CVE-2020-1472'] },
  { key: 'apt29', type: 'intrusion-set', name: 'APT29', aliases: ['Cozy Bear', 'NOBELIUM', 'Midnight Blizzard', 'The Dukes'], motivation: 'organizational-gain', firstSeen: '2008-01-01T00:00:00.000Z', techniques: ['T1566.002', 'T1078', 'T1059.001', 'T1071.001', 'T1027', 'T1133'], cves: ['CVE-2023-22515', 'CVE-2021-26855'] },
  { key: 'sandworm', type: 'intrusion-set', name: 'Sandworm Team', aliases: ['Voodoo Bear', 'IRIDIUM', 'Seashell Blizzard', 'ELECTRUM'], motivation: 'dominance', firstSeen: '2009-01-01T00:00:00.000Z', techniques: ['T1190', 'T1486', 'T1059', 'T1021', 'T1498', 'T1003'], cves: ['CVE-2021-44228', 'CVE-2023-20198'] },
  { key: 'volt-typhoon', type: 'intrusion-set', name: 'Volt Typhoon', aliases: ['Vanguard Panda', 'BRONZE SILHOUETTE', 'Insidious Taurus'], motivation: 'organizational-gain', firstSeen: '2021-01-01T00:00:00.000Z', techniques: ['T1190', 'T1078', 'T1133', 'T1059', 'T1003', 'T1021'], cves: ['CVE-2024-21887', 'CVE-2023-46805', 'CVE-2022-40684', 'CVE-2018-13379', 'CVE-2023-27997'] },
  { key: 'lazarus', type: 'threat-actor', name: 'Lazarus Group', aliases: ['HIDDEN COBRA', 'Diamond Sleet', 'Labyrinth Chollima'], motivation: 'personal-gain', sophistication: 'expert', firstSeen: '2009-01-01T00:00:00.000Z', techniques: ['T1566.001', 'T1204', 'T1105', 'T1486', 'T1041', 'T1547.001'], cves: ['CVE-2021-44228', 'CVE-2024-1709'] },
  { key: 'apt41', type: 'threat-actor', name: 'APT41', aliases: ['Wicked Panda', 'Double Dragon', 'BARIUM', 'Brass Typhoon'], motivation: 'organizational-gain', sophistication: 'advanced', firstSeen: '2012-01-01T00:00:00.000Z', techniques: ['T1190', 'T1059.001', 'T1547.001', 'T1105', 'T1027', 'T1053'], cves: ['CVE-2019-19781', 'CVE-2021-44228', 'CVE-2021-26855', 'CVE-2023-34362'] },
  { key: 'turla', type: 'threat-actor', name: 'Turla', aliases: ['Snake', 'Venomous Bear', 'Secret Blizzard', 'Uroburos'], motivation: 'organizational-gain', sophistication: 'strategic', firstSeen: '2004-01-01T00:00:00.000Z', techniques: ['T1566', 'T1071', 'T1027', 'T1547', 'T1041', 'T1595'], cves: ['CVE-2024-3400', 'CVE-2023-4966', 'CVE-2021-34527'] },
];

const SECTORS = ['government-national', 'energy', 'healthcare', 'telecommunications', 'financial-services', 'transportation', 'defense', 'water'] as const;

interface NationProfile {
  cert: string;
  sensorPrefix: string;
  country: string;
  countryName: string;
  cities: string[];
  communities: string[];
}

const NATION_PROFILES: Readonly<Record<string, NationProfile>> = {
  USA: { cert: 'CISA', sensorPrefix: 'US-CERT sensor', country: 'US', countryName: 'United States', cities: ['Arlington', 'Denver'], communities: ['NATO', 'FVEY'] },
  GBR: { cert: 'NCSC-UK', sensorPrefix: 'UK-NCSC sensor', country: 'GB', countryName: 'United Kingdom', cities: ['London', 'Cheltenham'], communities: ['NATO', 'FVEY'] },
  FRA: { cert: 'CERT-FR (ANSSI)', sensorPrefix: 'FR-CERT sensor', country: 'FR', countryName: 'France', cities: ['Paris', 'Rennes'], communities: ['NATO', 'EU'] },
  DEU: { cert: 'CERT-Bund (BSI)', sensorPrefix: 'DE-CERT sensor', country: 'DE', countryName: 'Germany', cities: ['Bonn', 'Berlin'], communities: ['NATO', 'EU'] },
  EST: { cert: 'CERT-EE (RIA)', sensorPrefix: 'EE-CERT sensor', country: 'EE', countryName: 'Estonia', cities: ['Tallinn', 'Tartu'], communities: ['NATO', 'EU'] },
};

function profileOf(nation: string): NationProfile {
  return NATION_PROFILES[nation] ?? { cert: `${nation}-CERT`, sensorPrefix: `${nation}-CERT sensor`, country: nation.slice(0, 2), countryName: nation, cities: [`${nation} capital`], communities: ['NATO'] };
}

// ---------------------------------------------------------------------------------------------------
// sizes

/** Objects that do not scale with size: definitions, identities, locations, catalogue, actors. */
const FIXED_OBJECTS = 100;
const SENSORS = 6;
const VICTIMS_PER_SECTOR = 2;

/** Each indicator brings ~3 objects (itself, its `indicates`, a share of sightings and incidents). */
export function indicatorCount(size: number): number {
  return Math.max(12, Math.floor((size - FIXED_OBJECTS) / 3));
}

/** The STIX id the seed gives a nation's n-th object of a kind: computable by every other nation. */
export function seedId(type: string, nation: string, key: string | number): string {
  return `${type}--${uuidv5(`seed/${nation}/${type}/${key}`)}`;
}

/** Catalogue objects (techniques, CVEs) have the same id in every nation's bundle. */
function catalogueId(type: string, key: string): string {
  return `${type}--${uuidv5(`seed/catalogue/${type}/${key}`)}`;
}

const DAY = 86_400_000;
const HOUR = 3_600_000;

// ---------------------------------------------------------------------------------------------------
// markings

type ProfileName =
  | 'public' | 'green-nato' | 'restricted-nato' | 'restricted-community' | 'confidential-community' | 'confidential-bilateral'
  | 'secret-partners' | 'secret-noforn' | 'ts-orcon' | 'restricted-nato-orcon' | 'tlp1-green' | 'tlp1-amber' | 'tlp1-white' | 'tlp-only' | 'unmarked';

const INDICATOR_MARKINGS: readonly (readonly [ProfileName, number])[] = [
  ['restricted-nato', 22], ['public', 10], ['green-nato', 10], ['restricted-community', 8], ['confidential-community', 14], ['confidential-bilateral', 6],
  ['secret-partners', 9], ['secret-noforn', 5], ['ts-orcon', 2], ['restricted-nato-orcon', 4], ['tlp1-green', 3], ['tlp1-amber', 2], ['tlp1-white', 1], ['tlp-only', 2], ['unmarked', 2],
];
const INCIDENT_MARKINGS: readonly (readonly [ProfileName, number])[] = [
  ['restricted-community', 10], ['confidential-community', 25], ['confidential-bilateral', 10], ['secret-partners', 25], ['secret-noforn', 15], ['ts-orcon', 8], ['restricted-nato-orcon', 5], ['unmarked', 2],
];
const ACTOR_MARKINGS: readonly (readonly [ProfileName, number])[] = [['public', 2], ['restricted-nato', 3], ['confidential-community', 3], ['secret-partners', 2]];

/** Registers the marking definitions a bundle uses, and names the combinations objects are marked with. */
class Markings {
  readonly definitions = new Map<string, StixObject>();
  private readonly profiles: Record<ProfileName, string[]>;
  readonly granular: { sourcesAndMethods: string[]; sensitiveText: string; whereSighted: string[] };

  constructor(nation: string, nations: readonly string[]) {
    const { communities } = profileOf(nation);
    const others = nations.filter((n) => n !== nation);
    const partner = others[0] ?? nation;
    const partners = others.slice(0, 2);
    const sov = (classification: Classification | undefined, releasableTo?: string[], caveats?: string[]) => this.sov({ classification, releasableTo, caveats });
    const everyone = ['NATO', 'EU', 'FVEY'];
    this.profiles = {
      public: [this.tlp('CLEAR'), sov('UNCLASSIFIED', everyone)],
      'green-nato': [this.tlp('GREEN'), sov('UNCLASSIFIED', ['NATO'])],
      'restricted-nato': [this.tlp('GREEN'), sov('RESTRICTED', ['NATO'])],
      'restricted-community': [this.tlp('AMBER'), sov('RESTRICTED', [nation, ...communities])],
      'confidential-community': [this.tlp('AMBER'), sov('CONFIDENTIAL', [nation, ...communities])],
      'confidential-bilateral': [this.tlp('AMBER_STRICT'), sov('CONFIDENTIAL', [nation, partner])],
      'secret-partners': [this.tlp('AMBER'), sov('SECRET', [nation, ...partners])],
      'secret-noforn': [this.tlp('AMBER_STRICT'), sov('SECRET', [nation], ['NOFORN'])],
      'ts-orcon': [this.tlp('RED'), sov('TOP_SECRET', [nation], ['ORCON'])],
      // Several sovgraph definitions on one object: classification and releasability from one, a caveat from another.
      'restricted-nato-orcon': [this.tlp('GREEN'), sov('RESTRICTED', ['NATO']), sov(undefined, undefined, ['ORCON'])],
      'tlp1-green': [this.tlp1('GREEN'), sov('RESTRICTED', ['NATO'])],
      'tlp1-amber': [this.tlp1('AMBER'), sov('CONFIDENTIAL', [nation, ...communities])],
      'tlp1-white': [this.tlp1('WHITE'), sov('UNCLASSIFIED', everyone)],
      // A TLP definition only: classification and releasability come from the importing nation's default.
      'tlp-only': [this.tlp('GREEN')],
      unmarked: [],
    };
    this.granular = {
      sourcesAndMethods: [sov('SECRET', [nation], ['NOFORN']), this.tlp('RED')],
      sensitiveText: sov('CONFIDENTIAL', [nation]),
      whereSighted: [sov('CONFIDENTIAL', [nation], ['ORCON']), this.tlp('AMBER_STRICT')],
    };
  }

  /** `object_marking_refs` for a profile; undefined for an unmarked object. */
  refs(profile: ProfileName): string[] | undefined {
    const refs = this.profiles[profile];
    return refs.length ? [...refs] : undefined;
  }

  static readonly PROFILES: readonly ProfileName[] = [
    'public', 'green-nato', 'restricted-nato', 'restricted-community', 'confidential-community', 'confidential-bilateral', 'secret-partners',
    'secret-noforn', 'ts-orcon', 'restricted-nato-orcon', 'tlp1-green', 'tlp1-amber', 'tlp1-white', 'tlp-only', 'unmarked',
  ];

  private use(definition: StixObject): string {
    this.definitions.set(definition.id, definition);
    return definition.id;
  }

  private tlp(level: Tlp): string {
    return this.use(tlpMarkingDefinition(level));
  }

  private tlp1(level: Tlp1Level): string {
    return this.use(tlp1MarkingDefinition(level));
  }

  private sov(part: Omit<MarkingPart, 'tlp'>): string {
    return this.use(sovgraphMarkingDefinition(part));
  }
}

// ---------------------------------------------------------------------------------------------------
// the generator

interface IndicatorFacts {
  id: string;
  created: string;
  validFrom: number;
  marking: string[] | undefined;
  technique: Technique;
  actor: Actor;
}

class NationGenerator {
  private readonly rng: Rng;
  private readonly profile: NationProfile;
  private readonly markings: Markings;
  private readonly others: string[];
  private readonly objects: StixObject[] = [];
  private readonly certId: string;
  private readonly sensors: StixObject[] = [];
  private readonly locations: StixObject[] = [];
  private readonly victims = new Map<string, StixObject[]>();
  private indicators: IndicatorFacts[] = [];
  private sightingCount = 0;
  private foreignSightings = 0;
  private incidentCount = 0;
  /** Forces each marking profile (and each granular marking) to appear early, whatever the size. */
  private forced = 0;

  constructor(
    private readonly nation: string,
    nations: readonly string[],
    private readonly size: number,
    seed: string,
    private readonly reference: number,
  ) {
    this.rng = new Rng(`${seed}/${nation}`);
    this.profile = profileOf(nation);
    this.markings = new Markings(nation, nations);
    this.others = nations.filter((n) => n !== nation);
    this.certId = seedId('identity', nation, 'cert');
  }

  run(): StixObject[] {
    this.catalogue();
    this.people();
    this.actors();
    const count = indicatorCount(this.size);
    for (let i = 0; i < count; i++) this.indicator(i);
    const definitions = [...sovgraphDefinitionObjects(), ...this.markings.definitions.values()];
    const unique = new Map(definitions.map((d) => [d.id, d]));
    return [...unique.values(), ...this.objects];
  }

  // -- helpers

  private time(ms: number): string {
    return new Date(Math.min(ms, this.reference)).toISOString();
  }

  /** A time in the last ~90 days before the reference date, to the millisecond. */
  private recent(maxDaysAgo = 90): number {
    return this.reference - this.rng.int(1, maxDaysAgo * DAY);
  }

  private markingFor(weights: readonly (readonly [ProfileName, number])[]): string[] | undefined {
    const profile = this.forced < Markings.PROFILES.length ? Markings.PROFILES[this.forced++]! : this.rng.weighted(weights);
    return this.markings.refs(profile);
  }

  private emit(object: Record<string, unknown>): StixObject {
    for (const key of Object.keys(object)) if (object[key] === undefined) delete object[key];
    this.objects.push(object as StixObject);
    return object as StixObject;
  }

  private base(type: string, id: string, created: string, marking: string[] | undefined, modified = created): Record<string, unknown> {
    return { type, spec_version: '2.1', id, created, modified, created_by_ref: this.certId, object_marking_refs: marking };
  }

  private relationship(key: string, type: string, source: string, target: string, created: string, marking: string[] | undefined, owners?: Record<string, string>): void {
    this.emit({
      ...this.base('relationship', seedId('relationship', this.nation, key), created, marking),
      relationship_type: type,
      source_ref: source,
      target_ref: target,
      extensions: owners ? refOwnersExtension(owners) : undefined,
    });
  }

  // -- fixed part

  private catalogue(): void {
    const publicMarking = this.markings.refs('public');
    for (const t of TECHNIQUES) {
      const [parent, sub] = t.id.split('.');
      this.emit({
        ...this.base('attack-pattern', catalogueId('attack-pattern', t.id), '2017-05-31T21:30:00.000Z', publicMarking, '2024-10-15T00:00:00.000Z'),
        created_by_ref: undefined,
        name: t.name,
        kill_chain_phases: t.tactics.map((phase_name) => ({ kill_chain_name: 'mitre-attack', phase_name })),
        external_references: [{ source_name: 'mitre-attack', external_id: t.id, url: `https://attack.mitre.org/techniques/${parent}/${sub ? `${sub}/` : ''}` }],
      });
    }
    for (const cve of CVES) {
      this.emit({
        ...this.base('vulnerability', catalogueId('vulnerability', cve.id), '2024-01-01T00:00:00.000Z', publicMarking),
        created_by_ref: undefined,
        name: cve.id,
        description: cve.name,
        external_references: [{ source_name: 'cve', external_id: cve.id, url: `https://nvd.nist.gov/vuln/detail/${cve.id}` }],
      });
    }
  }

  private people(): void {
    const publicMarking = this.markings.refs('public');
    const created = '2024-01-01T00:00:00.000Z';
    this.emit({ ...this.base('identity', this.certId, created, publicMarking), created_by_ref: undefined, name: this.profile.cert, identity_class: 'organization', sectors: ['government-national'] });
    const country = { ...this.base('location', seedId('location', this.nation, 'country'), created, publicMarking), name: this.profile.countryName, country: this.profile.country, region: 'europe' };
    if (this.profile.country === 'US') country.region = 'northern-america';
    this.locations.push(this.emit(country));
    this.profile.cities.forEach((city, i) => this.locations.push(this.emit({ ...this.base('location', seedId('location', this.nation, `city-${i}`), created, this.markings.refs('restricted-community')), name: city, city, country: this.profile.country })));
    for (let i = 1; i <= SENSORS; i++) {
      this.sensors.push(this.emit({ ...this.base('identity', seedId('identity', this.nation, `sensor-${i}`), created, this.markings.refs('confidential-community')), name: `${this.profile.sensorPrefix} ${i * 3 + 3}`, identity_class: 'system' }));
    }
    for (const sector of SECTORS) {
      const list: StixObject[] = [];
      for (let i = 1; i <= VICTIMS_PER_SECTOR; i++) {
        list.push(this.emit({
          ...this.base('identity', seedId('identity', this.nation, `victim-${sector}-${i}`), created, this.markings.refs('confidential-community')),
          name: `${this.profile.countryName} ${sector.replace(/-/g, ' ')} operator ${String.fromCharCode(64 + i)}`,
          identity_class: 'organization',
          sectors: [sector],
        }));
      }
      this.victims.set(sector, list);
    }
  }

  private actors(): void {
    for (const actor of ACTORS) {
      const created = this.time(this.reference - this.rng.int(200, 900) * DAY);
      this.emit({
        ...this.base(actor.type, seedId(actor.type, this.nation, actor.key), created, this.markingFor(ACTOR_MARKINGS)),
        name: actor.name,
        aliases: actor.aliases,
        primary_motivation: actor.motivation,
        first_seen: actor.firstSeen,
        sophistication: actor.type === 'threat-actor' ? actor.sophistication : undefined,
        threat_actor_types: actor.type === 'threat-actor' ? [actor.motivation === 'personal-gain' ? 'crime-syndicate' : 'nation-state'] : undefined,
        resource_level: actor.type === 'intrusion-set' ? 'government' : undefined,
        description: `${actor.name} as tracked by ${this.profile.cert}.`,
      });
    }
  }

  // -- indicators and what hangs off them

  private indicator(i: number): void {
    const actor = this.rng.pick(ACTORS);
    const techniqueId = this.rng.pick(actor.techniques);
    const technique = TECHNIQUES.find((t) => t.id === techniqueId)!;
    const observable = this.observable();
    const validFrom = this.recent();
    const created = this.time(validFrom);
    const marking = this.markingFor(INDICATOR_MARKINGS);
    const id = seedId('indicator', this.nation, i);
    const sensor = this.rng.pick(this.sensors);
    const source = { name: sensor.name, kind: this.rng.weighted([['sensor', 6], ['honeypot', 2], ['incident-response', 2], ['partner-feed', 1], ['sandbox', 1]] as const) };
    this.emit({
      ...this.base('indicator', id, created, marking, this.rng.chance(0.2) ? this.time(validFrom + this.rng.int(1, 48) * HOUR) : created),
      name: observable.name,
      description: `${observable.description} Linked to ${technique.name} (${technique.id}) activity.`,
      indicator_types: observable.types,
      pattern: observable.pattern,
      pattern_type: 'stix',
      pattern_version: '2.1',
      valid_from: created,
      valid_until: this.rng.chance(0.5) ? new Date(validFrom + this.rng.int(30, 180) * DAY).toISOString() : undefined,
      confidence: this.rng.int(6, 19) * 5,
      kill_chain_phases: technique.tactics.slice(0, 1).map((phase_name) => ({ kill_chain_name: 'mitre-attack', phase_name })),
      x_sovgraph_source: source,
      granular_markings: this.indicatorGranular(i),
    });
    this.relationship(`indicates-${i}`, 'indicates', id, catalogueId('attack-pattern', technique.id), created, marking);
    const facts: IndicatorFacts = { id, created, validFrom, marking, technique, actor };
    this.indicators.push(facts);
    if (i % 3 === 0) this.sighting(facts, Math.floor(i / 3) % 4 === 1);
    if (i % 10 === 5) this.incident(facts);
  }

  /** Sources and methods (and sometimes the analyst's text) are marked above the indicator itself. */
  private indicatorGranular(i: number): Record<string, unknown>[] | undefined {
    const out: Record<string, unknown>[] = [];
    if (i < 2 || this.rng.chance(0.3)) for (const ref of this.markings.granular.sourcesAndMethods) out.push({ selectors: ['x_sovgraph_source'], marking_ref: ref });
    if (i === 0 || this.rng.chance(0.15)) out.push({ selectors: ['description'], marking_ref: this.markings.granular.sensitiveText });
    return out.length ? out : undefined;
  }

  private observable(): { name: string; description: string; pattern: string; types: string[] } {
    const kind = this.rng.weighted([['ipv4', 35], ['domain', 30], ['url', 15], ['file', 20]] as const);
    switch (kind) {
      case 'ipv4': {
        const ip = `${this.rng.pick(['192.0.2', '198.51.100', '203.0.113'])}.${this.rng.int(1, 254)}`;
        return { name: `C2 server ${ip}`, description: `Outbound beaconing to ${ip} over TCP/443 from hosts on a monitored network.`, pattern: `[ipv4-addr:value = '${ip}']`, types: ['malicious-activity'] };
      }
      case 'domain': {
        const domain = this.domain();
        return { name: `Malicious domain ${domain}`, description: `Domain ${domain} resolves to attacker infrastructure used for credential harvesting.`, pattern: `[domain-name:value = '${domain}']`, types: this.rng.chance(0.3) ? ['malicious-activity', 'attribution'] : ['malicious-activity'] };
      }
      case 'url': {
        const url = `https://${this.domain()}/${this.rng.pick(['wp-content/plugins/update.php', 'download/invoice', 'owa/auth/logon.aspx', 'api/v2/sync', 'static/js/jquery.min.js'])}`;
        return { name: `Payload URL on ${new URL(url).hostname}`, description: `URL ${url} served a first-stage loader to targeted users.`, pattern: `[url:value = '${url}']`, types: ['malicious-activity'] };
      }
      case 'file': {
        const hash = this.rng.hex(64);
        return { name: `Dropper SHA-256 ${hash.slice(0, 12)}…`, description: `File with SHA-256 ${hash} was recovered from a compromised workstation.`, pattern: `[file:hashes.'SHA-256' = '${hash}']`, types: this.rng.chance(0.2) ? ['compromised'] : ['malicious-activity'] };
      }
    }
  }

  private domain(): string {
    const words = ['secure', 'login', 'update', 'cdn', 'mail', 'portal', 'sync', 'cloud', 'auth', 'office', 'vpn', 'gov', 'support', 'files'];
    const tld = this.rng.pick(['example', 'example.net', 'example.org', 'test']);
    return `${this.rng.pick(words)}-${this.rng.pick(words)}${this.rng.int(1, 999)}.${tld}`;
  }

  /** A sighting of this indicator, or (foreign=true) of another nation's indicator, which ref_owners names. */
  private sighting(local: IndicatorFacts, foreign: boolean): void {
    const k = this.sightingCount++;
    // Foreign sightings go round the other nations in turn, so every pair of nations is exercised.
    const owner = foreign && this.others.length ? this.others[this.foreignSightings++ % this.others.length]! : this.nation;
    const target = owner === this.nation ? local.id : seedId('indicator', owner, this.rng.int(0, indicatorCount(this.size) - 1));
    const firstSeen = owner === this.nation ? Math.min(local.validFrom + this.rng.int(0, 10 * DAY), this.reference - 2 * HOUR) : this.recent(60);
    const lastSeen = Math.min(firstSeen + this.rng.int(0, 20 * DAY), this.reference - HOUR);
    const created = this.time(lastSeen + HOUR);
    const where = this.rng.chance(0.3) ? [this.rng.pick(this.sensors).id, this.rng.pick(this.locations).id] : [this.rng.pick(this.sensors).id];
    const sensitiveWhere = k < 2 || this.rng.chance(0.3);
    this.emit({
      ...this.base('sighting', seedId('sighting', this.nation, k), created, this.markingFor(INDICATOR_MARKINGS)),
      sighting_of_ref: target,
      count: this.rng.int(1, 250),
      first_seen: this.time(firstSeen),
      last_seen: this.time(lastSeen),
      where_sighted_refs: where,
      description: owner === this.nation ? undefined : `${this.profile.cert} sighting of an indicator shared by ${owner}.`,
      granular_markings: sensitiveWhere ? this.markings.granular.whereSighted.map((ref) => ({ selectors: ['where_sighted_refs'], marking_ref: ref })) : undefined,
      extensions: owner === this.nation ? undefined : refOwnersExtension({ [target]: owner }),
    });
  }

  private incident(trigger: IndicatorFacts): void {
    const k = this.incidentCount++;
    const { actor, technique } = trigger;
    const sector = this.rng.pick(SECTORS);
    const victim = this.rng.pick(this.victims.get(sector)!);
    const firstSeen = Math.max(trigger.validFrom - this.rng.int(0, 5 * DAY), this.reference - 95 * DAY);
    const created = this.time(firstSeen + this.rng.int(1, 72) * HOUR);
    const marking = this.markingFor(INCIDENT_MARKINGS);
    const id = seedId('incident', this.nation, k);
    const label = `${this.nation}-2025-${String(k + 1).padStart(4, '0')}`;
    this.emit({
      ...this.base('incident', id, created, marking),
      name: `${incidentKind(technique.id)} ${sector.replace(/-/g, ' ')} organisation (${label})`,
      description: `${victim.name} reported ${technique.name.toLowerCase()} activity; ${this.profile.cert} assesses with moderate confidence that ${actor.name} is responsible.`,
      x_sovgraph_severity: this.rng.weighted([['low', 2], ['medium', 4], ['high', 3], ['critical', 1]] as const),
      x_sovgraph_sector: sector,
      x_sovgraph_first_seen: this.time(firstSeen),
      granular_markings: k === 0 || this.rng.chance(0.3) ? [{ selectors: ['description'], marking_ref: this.markings.granular.sourcesAndMethods[0] }] : undefined,
    });
    this.incidentLinks(k, id, created, marking, trigger, victim);
  }

  private incidentLinks(k: number, id: string, created: string, marking: string[] | undefined, trigger: IndicatorFacts, victim: StixObject): void {
    const rel = (name: string, type: string, source: string, target: string, owners?: Record<string, string>) => this.relationship(`incident-${k}-${name}`, type, source, target, created, marking, owners);
    rel('targets', 'targets', id, victim.id);
    rel('uses', 'uses', id, catalogueId('attack-pattern', trigger.technique.id));
    const second = this.rng.pick(trigger.actor.techniques);
    if (second !== trigger.technique.id) rel('uses-2', 'uses', id, catalogueId('attack-pattern', second));
    rel('indicated-by', 'indicates', trigger.id, id);
    const earlier = this.indicators[Math.max(0, this.indicators.length - 2)]!;
    if (earlier.id !== trigger.id) rel('related-local', 'related-to', id, earlier.id);
    if (this.others.length && (k === 0 || this.rng.chance(0.4))) {
      const owner = this.others[(k + 1) % this.others.length]!;
      const foreign = seedId('indicator', owner, this.rng.int(0, indicatorCount(this.size) - 1));
      rel('related-foreign', 'related-to', id, foreign, { [foreign]: owner });
    }
    if (k === 0 || this.rng.chance(0.6)) rel('exploits', 'related-to', id, catalogueId('vulnerability', this.rng.pick(trigger.actor.cves)));
    this.attribution(k, id, trigger.actor, rel);
  }

  /** Mostly to this nation's own record of the actor; sometimes to a partner's (a cross-nation reference). */
  private attribution(k: number, id: string, actor: Actor, rel: (name: string, type: string, source: string, target: string, owners?: Record<string, string>) => void): void {
    if (this.others.length && (k === 1 || this.rng.chance(0.2))) {
      const owner = this.rng.pick(this.others);
      const target = seedId(actor.type, owner, actor.key);
      rel('attributed', 'attributed-to', id, target, { [target]: owner });
    } else {
      rel('attributed', 'attributed-to', id, seedId(actor.type, this.nation, actor.key));
    }
  }
}

function incidentKind(technique: string): string {
  if (technique === 'T1486') return 'Ransomware attack on';
  if (technique.startsWith('T1566')) return 'Spearphishing campaign against';
  if (technique === 'T1190' || technique === 'T1133') return 'Exploitation of an edge device at';
  if (technique === 'T1498') return 'Denial-of-service attack on';
  if (technique === 'T1078') return 'Account compromise at';
  return 'Intrusion at';
}
