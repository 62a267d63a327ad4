/**
 * The reference subgraph's loaders, read as an operator meets them: CISA's real KEV catalogue, the
 * built-in sets the product ships with, and files with mistakes in them.
 */
import { createHash } from 'node:crypto';
import { mkdtempSync, readdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import Ajv2020 from 'ajv/dist/2020';
import addFormats from 'ajv-formats';
import { afterAll, describe, expect, it } from 'vitest';
import {
  AttackBundleError,
  BUILT_IN_ATTACK_BUNDLE,
  BUILT_IN_KEV_CATALOGUE,
  formatAttackRejection,
  formatKevRejection,
  KevCatalogueError,
  loadAttackBundle,
  loadKevCatalogue,
  parseAttackBundle,
  parseKevCatalogue,
} from '../../subgraphs/reference';
import { PUBLIC_DATA } from '../helpers/public-data';

const REAL_KEV = join(PUBLIC_DATA, 'kev/known_exploited_vulnerabilities.json');
const STIX_SCHEMAS = join(PUBLIC_DATA, 'stix2-json-schemas/schemas');

const scratch = mkdtempSync(join(tmpdir(), 'sovgraph-reference-'));
afterAll(() => rmSync(scratch, { recursive: true, force: true }));

function writeScratch(name: string, content: string): string {
  const path = join(scratch, name);
  writeFileSync(path, content);
  return path;
}

describe("an operator loading CISA's real KEV catalogue", () => {
  const catalogue = loadKevCatalogue(REAL_KEV);

  it('gets all 1,404 entries, none rejected, keyed by CVE id', () => {
    expect(catalogue.entries.size).toBe(1404);
    expect(catalogue.rejected).toEqual([]);
    expect(catalogue.warnings).toEqual([]);
    expect(catalogue.catalogVersion).toBe('2025.08.25');
  });

  it('reads each field the way the subgraph serves it', () => {
    const log4shell = catalogue.entries.get('CVE-2021-44228')!;
    expect(log4shell).toMatchObject({ vendor: 'Apache', product: 'Log4j2', dateAdded: '2021-12-10', knownRansomwareCampaignUse: true });
    expect(log4shell.cwes).toEqual(['CWE-20', 'CWE-400', 'CWE-502']);
    expect(log4shell.name).toMatch(/Log4j2/);
    // 'Unknown' means CISA has no confirmation of ransomware use: served as false.
    expect(catalogue.entries.get('CVE-2023-20198')!.knownRansomwareCampaignUse).toBe(false);
  });
});

describe('the built-in sets, so the product runs without the public data files', () => {
  it('the KEV catalogue holds the real entries everyone asks about, copied unchanged from CISA', () => {
    const builtIn = loadKevCatalogue();
    expect(builtIn.source).toBe(BUILT_IN_KEV_CATALOGUE);
    expect(builtIn.rejected).toEqual([]);
    expect(builtIn.warnings).toEqual([]);
    expect(builtIn.entries.size).toBe(28);
    const required = ['CVE-2021-44228', 'CVE-2023-4966', 'CVE-2024-3400', 'CVE-2023-34362', 'CVE-2021-26855', 'CVE-2019-19781', 'CVE-2023-20198', 'CVE-2022-1388', 'CVE-2021-34527', 'CVE-2020-1472'];
    for (const cve of required) expect(builtIn.entries.has(cve), cve).toBe(true);
    const real = loadKevCatalogue(REAL_KEV);
    for (const [cve, entry] of builtIn.entries) expect(entry, cve).toEqual(real.entries.get(cve));
  });

  it('the ATT&CK bundle holds real techniques with their tactics and sub-technique parents', () => {
    const builtIn = loadAttackBundle();
    expect(builtIn.source).toBe(BUILT_IN_ATTACK_BUNDLE);
    expect(builtIn.rejected).toEqual([]);
    const required = 'T1566 T1566.001 T1566.002 T1190 T1059 T1059.001 T1078 T1486 T1071 T1071.001 T1105 T1027 T1547 T1547.001 T1003 T1021 T1041 T1053 T1055 T1068 T1083 T1110 T1133 T1204 T1210 T1562 T1570 T1588 T1595 T1598'.split(' ');
    for (const id of required) expect(builtIn.techniques.has(id), id).toBe(true);
    expect(builtIn.techniques.get('T1566')).toMatchObject({ name: 'Phishing', tactics: ['initial-access'], isSubtechnique: false, parentId: null, url: 'https://attack.mitre.org/techniques/T1566' });
    expect(builtIn.techniques.get('T1566.001')).toMatchObject({ name: 'Spearphishing Attachment', isSubtechnique: true, parentId: 'T1566', url: 'https://attack.mitre.org/techniques/T1566/001' });
    expect(builtIn.techniques.get('T1078')!.tactics).toEqual(['defense-evasion', 'persistence', 'privilege-escalation', 'initial-access']);
    for (const technique of builtIn.techniques.values()) {
      if (technique.parentId) expect(builtIn.techniques.has(technique.parentId), `${technique.id}'s parent`).toBe(true);
    }
  });

  it('the ATT&CK bundle is valid STIX 2.1 by the OASIS JSON Schemas', () => {
    const validate = stixBundleValidator();
    const bundle = JSON.parse(readFileSync(BUILT_IN_ATTACK_BUNDLE, 'utf8'));
    expect(validate(bundle), JSON.stringify(validate.errors?.slice(0, 3))).toBe(true);
  });

  it("the ATT&CK bundle's STIX ids are name-based UUIDv5, so regenerating it gives the same ids", () => {
    // How the ids were made: uuidv5(`<type>:<name>`, NAMESPACE), NAMESPACE = uuidv5 of the URL below.
    const namespace = uuidv5('https://sovgraph.example/reference/attack-techniques', '6ba7b811-9dad-11d1-80b4-00c04fd430c8');
    for (const technique of loadAttackBundle().techniques.values()) {
      expect(technique.stixId).toBe(`attack-pattern--${uuidv5(`attack-pattern:${technique.id}`, namespace)}`);
    }
  });
});

describe('an operator handing over a KEV file with mistakes in it', () => {
  const good = (cveID: string) => ({
    cveID,
    vendorProject: 'Example',
    product: 'Widget',
    vulnerabilityName: 'Example Widget Vulnerability',
    dateAdded: '2024-01-10',
    shortDescription: 'A flaw.',
    requiredAction: 'Patch.',
    dueDate: '2024-01-31',
    knownRansomwareCampaignUse: 'Unknown',
    notes: '',
    cwes: ['CWE-79'],
  });

  it('loads the good entries and reports every bad one with its index and reason', () => {
    const { cveID: _, ...noId } = good('CVE-2024-0001');
    const vulnerabilities = [
      good('CVE-2024-0001'),
      noId,
      { ...good('CVE-2024-0002'), dueDate: '2024-02-30' },
      { ...good('CVE-2024-0003'), knownRansomwareCampaignUse: 'Maybe' },
      good('CVE-2024-0001'),
      { ...good('CVE-2024-0004'), cwes: ['XSS'] },
      'CVE-2024-0005',
      { ...good('CVE-2024-0006'), product: 42 },
      good('CVE-2024-0007'),
    ];
    const catalogue = parseKevCatalogue({ catalogVersion: 'test', dateReleased: '2024-01-10T00:00:00Z', count: 9, vulnerabilities }, 'kev.json');
    expect([...catalogue.entries.keys()]).toEqual(['CVE-2024-0001', 'CVE-2024-0007']);
    expect(catalogue.rejected.map((r) => [r.index, r.cveID])).toEqual([
      [1, undefined],
      [2, 'CVE-2024-0002'],
      [3, 'CVE-2024-0003'],
      [4, 'CVE-2024-0001'],
      [5, 'CVE-2024-0004'],
      [6, undefined],
      [7, 'CVE-2024-0006'],
    ]);
    const reasons = catalogue.rejected.map((r) => r.reason);
    expect(reasons[0]).toMatch(/"cveID" must look like CVE-2021-44228, got nothing/);
    expect(reasons[1]).toMatch(/"dueDate" must be a date YYYY-MM-DD, got "2024-02-30"/);
    expect(reasons[2]).toMatch(/"knownRansomwareCampaignUse" must be "Known" or "Unknown", got "Maybe"/);
    expect(reasons[3]).toBe('duplicate of entry 0');
    expect(reasons[4]).toMatch(/"cwes" must be a list like \["CWE-20"\]/);
    expect(reasons[5]).toMatch(/an entry must be an object/);
    expect(reasons[6]).toMatch(/"product" must be a string, got 42/);
    expect(formatKevRejection('kev.json', catalogue.rejected[1]!)).toBe('kev.json: vulnerabilities[2] (CVE-2024-0002): "dueDate" must be a date YYYY-MM-DD, got "2024-02-30"');
  });

  it('is warned when the stated count disagrees with the entries', () => {
    const catalogue = parseKevCatalogue({ catalogVersion: 'test', dateReleased: 'x', count: 3, vulnerabilities: [good('CVE-2024-0001')] }, 'kev.json');
    expect(catalogue.entries.size).toBe(1);
    expect(catalogue.warnings).toEqual(['field "count" is 3 but "vulnerabilities" has 1 entries']);
  });

  it('is refused, with the file named, when the file is not a KEV catalogue at all', () => {
    const notJson = writeScratch('broken.json', '{"vulnerabilities": [');
    expect(() => loadKevCatalogue(notJson)).toThrow(KevCatalogueError);
    expect(() => loadKevCatalogue(notJson)).toThrow(`${notJson}: the KEV catalogue is not valid JSON`);
    expect(() => loadKevCatalogue(join(scratch, 'missing.json'))).toThrow(/missing\.json: cannot read the KEV catalogue \(ENOENT\)/);
    const stix = writeScratch('stix.json', JSON.stringify({ type: 'bundle', objects: [] }));
    expect(() => loadKevCatalogue(stix)).toThrow(`${stix}: field "vulnerabilities" must be an array, got nothing`);
  });
});

describe('an operator handing over an ATT&CK bundle as MITRE publishes it, oddities included', () => {
  let serial = 0;
  const technique = (externalId: string, extra: Record<string, unknown> = {}) => ({
    type: 'attack-pattern',
    spec_version: '2.1',
    id: `attack-pattern--00000000-0000-4000-8000-${String(++serial).padStart(12, '0')}`,
    created: '2020-01-01T00:00:00.000Z',
    modified: '2020-01-01T00:00:00.000Z',
    name: `Technique ${externalId}`,
    kill_chain_phases: [
      { kill_chain_name: 'mitre-attack', phase_name: 'execution' },
      { kill_chain_name: 'lockheed', phase_name: 'delivery' },
    ],
    external_references: [
      { source_name: 'capec', external_id: 'CAPEC-1' },
      { source_name: 'mitre-attack', external_id: externalId, url: `https://attack.mitre.org/techniques/${externalId.replace('.', '/')}` },
    ],
    x_mitre_is_subtechnique: externalId.includes('.'),
    ...extra,
  });

  it('loads the live techniques, skips revoked, deprecated and non-technique objects, and keeps the newest version', () => {
    const objects = [
      { type: 'x-mitre-tactic', id: 'x-mitre-tactic--1', name: 'Execution' },
      technique('T1059'),
      technique('T1059.001'),
      { type: 'attack-pattern', id: 'attack-pattern--revoked', revoked: true },
      technique('T1064', { x_mitre_deprecated: true }),
      technique('T1059', { modified: '2024-01-01T00:00:00.000Z', name: 'Command and Scripting Interpreter' }),
      technique('T1059.001', { modified: '2019-01-01T00:00:00.000Z', name: 'an older PowerShell' }),
      { type: 'relationship', id: 'relationship--1', relationship_type: 'subtechnique-of' },
    ];
    const catalogue = parseAttackBundle({ type: 'bundle', id: 'bundle--1', objects }, 'attack.json');
    expect(catalogue.rejected).toEqual([]);
    expect(catalogue.skipped).toEqual({ revoked: 1, deprecated: 1, superseded: 2, otherObjects: 2 });
    expect([...catalogue.techniques.keys()].sort()).toEqual(['T1059', 'T1059.001']);
    expect(catalogue.techniques.get('T1059')!.name).toBe('Command and Scripting Interpreter');
    expect(catalogue.techniques.get('T1059.001')).toMatchObject({ name: 'Technique T1059.001', parentId: 'T1059', tactics: ['execution'] });
  });

  it('rejects each malformed technique with the file, its position and its STIX id, and loads the rest', () => {
    const objects = [
      technique('T1105'),
      technique('T1566', { external_references: [{ source_name: 'capec', external_id: 'CAPEC-98' }] }),
      technique('T1566', { external_references: [{ source_name: 'mitre-attack', external_id: 'TA0001' }] }),
      technique('T1190', { x_mitre_is_subtechnique: true }),
      technique('T1027', { name: '' }),
      technique('T1041', { kill_chain_phases: [{ phase_name: 'exfiltration' }] }),
      42,
    ];
    const catalogue = parseAttackBundle({ type: 'bundle', objects }, 'attack.json');
    expect([...catalogue.techniques.keys()]).toEqual(['T1105']);
    expect(catalogue.rejected.map((r) => r.index)).toEqual([1, 2, 3, 4, 5, 6]);
    const lines = catalogue.rejected.map((r) => formatAttackRejection('attack.json', r));
    expect(lines[0]).toBe(`attack.json: objects[1] (${(objects[1] as { id: string }).id}): no external reference with "source_name": "mitre-attack" (where ATT&CK keeps the technique id)`);
    expect(lines[1]).toMatch(/objects\[2\] .*"external_id" like T1566 or T1566\.001, got "TA0001"/);
    expect(lines[2]).toMatch(/objects\[3\] .*"x_mitre_is_subtechnique" is true but the technique id is T1190/);
    expect(lines[3]).toMatch(/objects\[4\] .*"name" must be a non-empty string/);
    expect(lines[4]).toMatch(/objects\[5\] .*each kill chain phase needs string "kill_chain_name" and "phase_name"/);
    expect(lines[5]).toBe('attack.json: objects[6]: a STIX object must be a JSON object, got 42');
  });

  it('is refused, with the file named, when the file is not a STIX bundle', () => {
    const kev = writeScratch('kev-not-attack.json', readFileSync(BUILT_IN_KEV_CATALOGUE, 'utf8'));
    expect(() => loadAttackBundle(kev)).toThrow(AttackBundleError);
    expect(() => loadAttackBundle(kev)).toThrow(`${kev}: not a STIX bundle (expected an object with "type": "bundle", got nothing)`);
    const noObjects = writeScratch('empty-bundle.json', '{"type": "bundle", "id": "bundle--x"}');
    expect(() => loadAttackBundle(noObjects)).toThrow(`${noObjects}: the bundle's "objects" must be an array, got nothing`);
    expect(() => loadAttackBundle(writeScratch('trunc.json', '{"type": "bun'))).toThrow(/trunc\.json: the ATT&CK STIX bundle is not valid JSON/);
  });
});

/** The OASIS STIX 2.1 bundle schema, with every schema it refers to. */
function stixBundleValidator() {
  // The OASIS patterns use escapes that are not valid in unicode-mode regular expressions.
  const ajv = new Ajv2020({ strict: false, allErrors: true, unicodeRegExp: false, logger: false });
  addFormats(ajv);
  for (const folder of readdirSync(STIX_SCHEMAS)) {
    for (const file of readdirSync(join(STIX_SCHEMAS, folder))) ajv.addSchema(JSON.parse(readFileSync(join(STIX_SCHEMAS, folder, file), 'utf8')));
  }
  return ajv.getSchema('http://raw.githubusercontent.com/oasis-open/cti-stix2-json-schemas/stix2.1/schemas/common/bundle.json')!;
}

/** RFC 4122 name-based UUID, version 5 (SHA-1). */
function uuidv5(name: string, namespace: string): string {
  const digest = createHash('sha1').update(Buffer.concat([Buffer.from(namespace.replace(/-/g, ''), 'hex'), Buffer.from(name, 'utf8')])).digest();
  digest[6] = (digest[6]! & 0x0f) | 0x50;
  digest[8] = (digest[8]! & 0x3f) | 0x80;
  const hex = digest.subarray(0, 16).toString('hex');
  return `${hex.slice(0, 8)}-${hex.slice(8, 12)}-${hex.slice(12, 16)}-${hex.slice(16, 20)}-${hex.slice(20)}`;
}
