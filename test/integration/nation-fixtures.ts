/**
 * Small, deterministic STIX 2.1 bundles for the nation subgraph tests, a gateway key pair, and a
 * client that speaks to a subgraph as the gateway does (with a signed principal assertion).
 *
 * A scenario of size n holds, per i < n: an indicator (three share each valid_from, so the id
 * breaks ties), a sighting of it where two places saw it, and an incident it indicates, which
 * targets a victim and a CVE and is attributed to one of four intrusion sets. Techniques come
 * from `indicates`/`uses` relationships to two ATT&CK attack patterns.
 */
import { generateKeyPair, exportJWK, type JWK } from 'jose';
import { DEMO_NATIONS } from '../../gateway/demo/coalition';
import { COALITION_POLICY_HOLDER, generatePolicyKeys } from '../../gateway/demo/keys';
import { ASSERTION_HEADER, createAssertionSigner, DEFAULT_RULES_DIR, signRuleFolder, type AssertionSigner, type PolicyTrustStore, type Principal } from '../../policies';
import { refOwnersExtension } from '../../subgraphs/stix';

export const BASE_TIME = Date.UTC(2025, 0, 6, 8, 0, 0);

/** A valid, deterministic STIX id: `<type>--<uuid>` with the uuid derived from a label. */
export function stixId(type: string, label: string): string {
  let hash = 0x811c9dc5;
  const hex: string[] = [];
  for (let round = 0; hex.join('').length < 32; round++) {
    for (const ch of `${type}/${label}/${round}`) hash = Math.imul(hash ^ ch.charCodeAt(0), 0x01000193) >>> 0;
    hex.push(hash.toString(16).padStart(8, '0'));
  }
  const h = hex.join('');
  return `${type}--${h.slice(0, 8)}-${h.slice(8, 12)}-4${h.slice(13, 16)}-8${h.slice(17, 20)}-${h.slice(20, 32)}`;
}

export function at(minutes: number): string {
  return new Date(BASE_TIME + minutes * 60_000).toISOString();
}

type StixObject = Record<string, unknown> & { id: string; type: string };

function sdo(type: string, label: string, props: Record<string, unknown>): StixObject {
  return { type, spec_version: '2.1', id: stixId(type, label), created: at(0), modified: at(0), ...props };
}

function relationship(source: StixObject | string, type: string, target: StixObject | string, extra: Record<string, unknown> = {}): StixObject {
  const sourceRef = typeof source === 'string' ? source : source.id;
  const targetRef = typeof target === 'string' ? target : target.id;
  return sdo('relationship', `${sourceRef} ${type} ${targetRef}`, { relationship_type: type, source_ref: sourceRef, target_ref: targetRef, ...extra });
}

export interface Scenario {
  bundle: { type: 'bundle'; id: string; objects: StixObject[] };
  indicators: StixObject[];
  sightings: StixObject[];
  incidents: StixObject[];
  actors: StixObject[];
  /** A German indicator a French sighting points at (held by DEU, not in the bundle). */
  foreignIndicatorId: string;
}

export function scenarioBundle(size: number): Scenario {
  const phishing = sdo('attack-pattern', 'T1566.001', { name: 'Spearphishing Attachment', external_references: [{ source_name: 'mitre-attack', external_id: 'T1566.001' }] });
  const scripting = sdo('attack-pattern', 'T1059', { name: 'Command and Scripting Interpreter', external_references: [{ source_name: 'mitre-attack', external_id: 'T1059' }] });
  const lyon = sdo('location', 'lyon', { name: 'Lyon', country: 'FR' });
  const sites = [
    sdo('identity', 'soc-paris', { name: 'SOC Paris', identity_class: 'organization', x_sovgraph_country: 'FR' }),
    sdo('identity', 'sensor-lyon', { name: 'Sensor Lyon', identity_class: 'system' }),
  ];
  const cves = [0, 1, 2].map((n) => sdo('vulnerability', `cve-${n}`, { name: `CVE-2024-000${n}`, external_references: [{ source_name: 'cve', external_id: `CVE-2024-000${n}` }] }));
  const actors = [0, 1, 2, 3].map((n) =>
    sdo(n === 3 ? 'threat-actor' : 'intrusion-set', `actor-${n}`, { name: `Actor ${n}`, aliases: [`A${n}`], primary_motivation: 'espionage', sophistication: n === 3 ? 'expert' : undefined, first_seen: at(-1000 + n) }),
  ).map(dropUndefined);
  const shared = [phishing, scripting, lyon, ...sites, relationship(sites[1]!, 'located-at', lyon), ...cves, ...actors];

  const indicators: StixObject[] = [];
  const sightings: StixObject[] = [];
  const incidents: StixObject[] = [];
  const links: StixObject[] = [];
  for (let i = 0; i < size; i++) {
    const technique = i % 2 === 0 ? phishing : scripting;
    const indicator = sdo('indicator', `ind-${i}`, {
      name: `Indicator ${i}`,
      pattern: `[ipv4-addr:value = '198.51.100.${i % 250}']`,
      pattern_type: 'stix',
      indicator_types: ['malicious-activity'],
      valid_from: at(Math.floor(i / 3)),
      confidence: 50 + (i % 50),
      kill_chain_phases: [{ kill_chain_name: 'mitre-attack', phase_name: 'initial-access' }],
      x_sovgraph_source: { name: `sensor-${i % 4}`, kind: 'network-sensor' },
    });
    const sighting = sdo('sighting', `sig-${i}`, { sighting_of_ref: indicator.id, where_sighted_refs: [sites[i % 2]!.id, lyon.id], count: i + 1, first_seen: at(i), last_seen: at(i + 5) });
    const victim = sdo('identity', `victim-${i}`, { name: `Victim ${i}`, identity_class: 'organization' });
    const incident = sdo('incident', `inc-${i}`, { name: `Incident ${i}`, x_sovgraph_severity: 'high', x_sovgraph_sector: 'energy', x_sovgraph_first_seen: at(i) });
    indicators.push(indicator);
    sightings.push(sighting);
    incidents.push(incident);
    links.push(
      victim,
      relationship(indicator, 'indicates', technique),
      relationship(indicator, 'indicates', incident),
      relationship(incident, 'uses', technique),
      relationship(incident, 'targets', victim),
      relationship(incident, 'targets', cves[i % 3]!),
      relationship(incident, 'attributed-to', actors[i % 4]!),
    );
  }
  const foreignIndicatorId = stixId('indicator', 'deu-held');
  const foreignSighting = sdo('sighting', 'sig-of-deu', {
    sighting_of_ref: foreignIndicatorId,
    count: 7,
    last_seen: at(-5000),
    extensions: refOwnersExtension({ [foreignIndicatorId]: 'DEU' }),
  });
  sightings.push(foreignSighting);
  const objects = [...shared, ...indicators, ...sightings, ...incidents, ...links];
  return { bundle: { type: 'bundle', id: stixId('bundle', `scenario-${size}`), objects }, indicators, sightings, incidents, actors, foreignIndicatorId };
}

function dropUndefined(object: StixObject): StixObject {
  return Object.fromEntries(Object.entries(object).filter(([, v]) => v !== undefined)) as StixObject;
}

export interface GatewayKeys {
  privateJwk: JWK;
  publicJwk: JWK;
}

export async function gatewayKeys(): Promise<GatewayKeys> {
  const { privateKey, publicKey } = await generateKeyPair('EdDSA', { crv: 'Ed25519', extractable: true });
  return { privateJwk: await exportJWK(privateKey), publicJwk: await exportJWK(publicKey) };
}

/** The demo rules (policies/rules), signed with fresh policy keys, and the trust store that accepts them. */
export async function signedDemoRules(nation = 'FRA'): Promise<{ policyTrust: PolicyTrustStore; signedRules: string[] }> {
  const { keys, trust } = await generatePolicyKeys([...DEMO_NATIONS, COALITION_POLICY_HOLDER]);
  const signed = await signRuleFolder(DEFAULT_RULES_DIR, keys, 'officer@test');
  return { policyTrust: trust, signedRules: [signed.get(nation)!, signed.get(COALITION_POLICY_HOLDER)!] };
}

export const ANALYST: Principal = { subject: 'analyst@fra', nation: 'FRA', clearance: 'SECRET', roles: ['analyst'], communities: ['NATO', 'EU'] };

export interface GraphQLAnswer {
  status: number;
  data?: any;
  errors?: Array<{ message: string; path?: (string | number)[]; extensions?: Record<string, any> }>;
}

/** Asks a subgraph as the gateway would: a POST with a principal assertion (or the headers given instead). */
export async function askSubgraph(url: string, query: string, variables: Record<string, unknown>, headers: Record<string, string>): Promise<GraphQLAnswer> {
  const response = await fetch(url, { method: 'POST', headers: { 'content-type': 'application/json', ...headers }, body: JSON.stringify({ query, variables }) });
  return { status: response.status, ...((await response.json()) as object) };
}

/** A client holding the gateway's key: every call carries a fresh assertion for the nation's audience. */
export async function gatewayClient(url: string, nation: string, keys: GatewayKeys, principal: Principal = ANALYST) {
  const sign: AssertionSigner = await createAssertionSigner({ privateJwk: keys.privateJwk });
  return async (query: string, variables: Record<string, unknown> = {}) =>
    askSubgraph(url, query, variables, { [ASSERTION_HEADER]: await sign(principal, `sovgraph:${nation}`) });
}
