/**
 * Story tests of the policy engine over the demo rule files (policies/rules/*.yaml): one per
 * baseline clause and one per demo rule, each naming the caller and what they get and do not get.
 */
import { readFileSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { buildASTSchema, isObjectType, parse } from 'graphql';
import { describe, expect, it } from 'vitest';
import {
  applyTransform,
  createPolicyEngine,
  loadRuleFolder,
  NOT_APPLICABLE,
  redact,
  REDACTED,
  type Classification,
  type Decision,
  type Marking,
  type ObjectFacts,
  type Principal,
  type RuleFile,
  type Tlp,
} from '../../policies';

// ---------------------------------------------------------------------------------------------
// The coalition: the demo rule files, its communities, and the contract's types and fields.
// ---------------------------------------------------------------------------------------------

const RULES_DIR = fileURLToPath(new URL('../../policies/rules', import.meta.url));
const COMMUNITIES = {
  NATO: ['USA', 'GBR', 'FRA', 'DEU', 'EST'],
  EU: ['FRA', 'DEU', 'EST'],
  FVEY: ['USA', 'GBR'],
};

/** Every object type of the contract and its field names, read from the contract SDL itself. */
function contractSchema(): Record<string, string[]> {
  const sdl = readFileSync(new URL('../../subgraphs/contract/nation.graphql', import.meta.url), 'utf8');
  const stubs = [
    'directive @link(url: String, import: [String]) repeatable on SCHEMA',
    'directive @key(fields: String!, resolvable: Boolean = true) repeatable on OBJECT | INTERFACE',
    'directive @shareable on OBJECT | FIELD_DEFINITION',
    // The contract declares @crossNation itself; stub it only if it ever stops doing so.
    ...(/directive\s+@crossNation\b/.test(sdl) ? [] : ['directive @crossNation on FIELD_DEFINITION']),
    'schema { query: Query }',
  ];
  const schema = buildASTSchema(parse(`${stubs.join('\n')}\n${sdl}`), { assumeValidSDL: true });
  return Object.fromEntries(
    Object.values(schema.getTypeMap())
      .filter((type) => isObjectType(type) && !type.name.startsWith('__'))
      .map((type) => [type.name, Object.keys((type as { getFields(): Record<string, unknown> }).getFields())]),
  );
}

const demoFiles = loadRuleFolder(RULES_DIR);
const schema = contractSchema();

function engineWith(files: RuleFile[]) {
  return createPolicyEngine({ files, communities: COMMUNITIES, schema });
}
const engine = engineWith(demoFiles);

// ---------------------------------------------------------------------------------------------
// Callers and objects, in plain words.
// ---------------------------------------------------------------------------------------------

/** The communities the coalition confirms for each demo nation (what the trust store would keep). */
const MEMBERSHIP: Record<string, string[]> = { USA: ['NATO', 'FVEY'], GBR: ['NATO', 'FVEY'], FRA: ['NATO', 'EU'], DEU: ['NATO', 'EU'], EST: ['NATO', 'EU'] };

function caller(nation: string, clearance: Classification, options: { roles?: string[]; communities?: string[] } = {}): Principal {
  return { subject: `${nation.toLowerCase()}-someone`, nation, clearance, roles: options.roles ?? ['analyst'], communities: options.communities ?? MEMBERSHIP[nation] ?? [] };
}

function marking(overrides: Partial<Marking> = {}): Marking {
  return { classification: 'CONFIDENTIAL', tlp: 'GREEN', releasableTo: ['NATO'], caveats: [], ...overrides };
}

function object(type: string, owner: string, overrides: Partial<ObjectFacts> = {}): ObjectFacts {
  return { type, owner, marking: marking(), ...overrides };
}

const WITHHELD = '(withheld)';

/** Every rule id that decided something in these stories (checked against the demo files at the end). */
const decidedBy = new Set<string>();

/** What the caller gets for a field whose raw value is `raw`: the value, its mask, its generalisation, or nothing. */
function gets(principal: Principal, facts: ObjectFacts, field: string, raw: unknown, policy = engine): unknown {
  const decision: Decision = policy.decide(principal, facts, field);
  decidedBy.add(decision.reason);
  switch (decision.effect) {
    case 'allow':
      return raw;
    case 'redact':
      return redact(raw);
    case 'transform': {
      const value = applyTransform(decision.transform!, raw);
      return value === NOT_APPLICABLE ? WITHHELD : value;
    }
    case 'deny':
      return WITHHELD;
  }
}

/** Why: the deciding rule or failed marking check. */
const why = (principal: Principal, facts: ObjectFacts, field: string) => engine.decide(principal, facts, field).reason;

const NATION_WORDS: Record<string, { adjective: string; rulesSuffix: string }> = {
  FRA: { adjective: 'French', rulesSuffix: 'france' },
  DEU: { adjective: 'German', rulesSuffix: 'germany' },
  EST: { adjective: 'Estonian', rulesSuffix: 'estonia' },
  GBR: { adjective: 'British', rulesSuffix: 'uk' },
  USA: { adjective: 'American', rulesSuffix: 'usa' },
};

/** "a French", "an Estonian". */
const a = (word: string) => `${/^[AEIOU]/.test(word) ? 'an' : 'a'} ${word}`;

// ---------------------------------------------------------------------------------------------

describe('the demo rule files and the contract schema', () => {
  it('load: five nations and the coalition, every type of the contract known', () => {
    expect(demoFiles.map((f) => f.nation).sort()).toEqual(['COALITION', 'DEU', 'EST', 'FRA', 'GBR', 'USA']);
    expect(schema.Indicator).toEqual(expect.arrayContaining(['name', 'pattern', 'observable', 'source', 'sightings', 'marking']));
    expect(schema.Incident).toEqual(expect.arrayContaining(['victim', 'sector', 'description']));
    expect(schema.Sighting).toEqual(expect.arrayContaining(['firstSeen', 'lastSeen', 'whereSighted']));
  });
});

describe('the marking baseline, before any rule', () => {
  it('a German analyst cleared CONFIDENTIAL asks for a SECRET French indicator released to NATO and gets nothing of it', () => {
    const secret = object('Indicator', 'FRA', { marking: marking({ classification: 'SECRET' }) });
    expect(gets(caller('DEU', 'CONFIDENTIAL'), secret, 'name', 'Phishing domain')).toBe(WITHHELD);
    expect(why(caller('DEU', 'CONFIDENTIAL'), secret, 'name')).toBe('marking:clearance');
    expect(gets(caller('DEU', 'SECRET'), secret, 'name', 'Phishing domain')).toBe('Phishing domain');
  });

  it('a French analyst cleared CONFIDENTIAL gets nothing of France\'s own SECRET indicator either: owning is not clearance', () => {
    const secret = object('Indicator', 'FRA', { marking: marking({ classification: 'SECRET', releasableTo: [] }) });
    expect(gets(caller('FRA', 'CONFIDENTIAL'), secret, 'name', 'Phishing domain')).toBe(WITHHELD);
    expect(why(caller('FRA', 'CONFIDENTIAL'), secret, 'name')).toBe('marking:clearance');
  });

  it('a German analyst cleared TOP_SECRET asks for a TLP:RED French indicator released to Germany by name and gets nothing; a French analyst gets it', () => {
    const red = object('Indicator', 'FRA', { marking: marking({ tlp: 'RED', releasableTo: ['DEU', 'NATO'] }) });
    expect(gets(caller('DEU', 'TOP_SECRET'), red, 'name', 'C2 server')).toBe(WITHHELD);
    expect(why(caller('DEU', 'TOP_SECRET'), red, 'name')).toBe('marking:tlp-red');
    expect(gets(caller('FRA', 'CONFIDENTIAL'), red, 'name', 'C2 server')).toBe('C2 server');
  });

  it('a British analyst asks for a NOFORN French indicator released to the United Kingdom and gets nothing; a French analyst gets it', () => {
    const noforn = object('Indicator', 'FRA', { marking: marking({ releasableTo: ['GBR', 'NATO'], caveats: ['NOFORN'] }) });
    expect(gets(caller('GBR', 'SECRET'), noforn, 'name', 'Implant hash')).toBe(WITHHELD);
    expect(why(caller('GBR', 'SECRET'), noforn, 'name')).toBe('marking:noforn');
    expect(gets(caller('FRA', 'SECRET'), noforn, 'name', 'Implant hash')).toBe('Implant hash');
  });

  it('an Estonian analyst asks for a French indicator released to Estonia by name and gets it; a British analyst gets nothing of it', () => {
    const toEstonia = object('Indicator', 'FRA', { marking: marking({ releasableTo: ['EST'] }) });
    expect(gets(caller('EST', 'SECRET'), toEstonia, 'name', 'Botnet')).toBe('Botnet');
    expect(gets(caller('GBR', 'SECRET'), toEstonia, 'name', 'Botnet')).toBe(WITHHELD);
    expect(why(caller('GBR', 'SECRET'), toEstonia, 'name')).toBe('marking:releasability');
  });

  it('a German analyst asks for a French indicator released to the EU and gets it because the coalition says Germany is in the EU; a British analyst does not', () => {
    const toEu = object('Indicator', 'FRA', { marking: marking({ releasableTo: ['EU'] }) });
    expect(gets(caller('DEU', 'SECRET'), toEu, 'name', 'Botnet')).toBe('Botnet');
    expect(gets(caller('GBR', 'SECRET'), toEu, 'name', 'Botnet')).toBe(WITHHELD);
    expect(why(caller('GBR', 'SECRET'), toEu, 'name')).toBe('marking:releasability');
  });

  it('an American analyst whose token claims the EU gets nothing of a French indicator released to the EU: membership is the coalition\'s word, not the caller\'s', () => {
    const toEu = object('Indicator', 'FRA', { marking: marking({ releasableTo: ['EU'] }) });
    expect(gets(caller('USA', 'TOP_SECRET', { communities: ['NATO', 'FVEY', 'EU'] }), toEu, 'name', 'Botnet')).toBe(WITHHELD);
    // And a German analyst whose token does not claim the EU is not counted in it either.
    expect(gets(caller('DEU', 'SECRET', { communities: ['NATO'] }), toEu, 'name', 'Botnet')).toBe(WITHHELD);
  });

  it('an Estonian analyst gets a TLP:AMBER+STRICT French indicator released to the EU and Estonia by name; a German analyst, in the EU but not named, does not', () => {
    const strict = object('Indicator', 'FRA', { marking: marking({ tlp: 'AMBER_STRICT', releasableTo: ['EU', 'EST'] }) });
    expect(gets(caller('EST', 'SECRET'), strict, 'name', 'Wiper')).toBe('Wiper');
    expect(gets(caller('DEU', 'SECRET'), strict, 'name', 'Wiper')).toBe(WITHHELD);
    expect(why(caller('DEU', 'SECRET'), strict, 'name')).toBe('marking:releasability');
    // The same indicator at TLP:AMBER is released to Germany through the EU.
    const amber = object('Indicator', 'FRA', { marking: marking({ tlp: 'AMBER', releasableTo: ['EU', 'EST'] }) });
    expect(gets(caller('DEU', 'SECRET'), amber, 'name', 'Wiper')).toBe('Wiper');
  });

  it('a French analyst cleared SECRET sees France\'s own TLP:RED, NOFORN, SECRET indicator released to nobody', () => {
    const ownOnly = object('Indicator', 'FRA', { marking: marking({ classification: 'SECRET', tlp: 'RED', releasableTo: [], caveats: ['NOFORN'] }) });
    expect(gets(caller('FRA', 'SECRET'), ownOnly, 'name', 'Sensor alert')).toBe('Sensor alert');
    expect(gets(caller('DEU', 'TOP_SECRET'), ownOnly, 'name', 'Sensor alert')).toBe(WITHHELD);
  });

  it('a German analyst gets the name of a French incident released to NATO but not its victim, whose own marking releases it to France only', () => {
    const incident = object('Incident', 'FRA', { fieldMarkings: { victim: marking({ releasableTo: ['FRA'] }) } });
    expect(gets(caller('DEU', 'SECRET'), incident, 'name', 'Ransomware at a hospital')).toBe('Ransomware at a hospital');
    expect(gets(caller('DEU', 'SECRET'), incident, 'victim', 'CHU de Lille')).toBe(WITHHELD);
    expect(why(caller('DEU', 'SECRET'), incident, 'victim')).toBe('marking:releasability');
    expect(gets(caller('FRA', 'SECRET'), incident, 'victim', 'CHU de Lille')).toBe('CHU de Lille');
  });

  it('a field can only be more restricted than its object: an UNCLASSIFIED, TLP:CLEAR field of a SECRET, EU-only incident stays SECRET and EU-only', () => {
    const incident = object('Incident', 'FRA', {
      marking: marking({ classification: 'SECRET', releasableTo: ['EU'] }),
      fieldMarkings: { severity: marking({ classification: 'UNCLASSIFIED', tlp: 'CLEAR', releasableTo: ['NATO', 'EU', 'GBR', 'USA'] }) },
    });
    expect(gets(caller('DEU', 'CONFIDENTIAL'), incident, 'severity', 'high')).toBe(WITHHELD);
    expect(gets(caller('GBR', 'TOP_SECRET'), incident, 'severity', 'high')).toBe(WITHHELD);
    expect(gets(caller('DEU', 'SECRET'), incident, 'severity', 'high')).toBe('high');
  });

  it('a field marked SECRET inside a CONFIDENTIAL French incident is withheld from a German analyst cleared CONFIDENTIAL, who still gets the rest', () => {
    const incident = object('Incident', 'FRA', { fieldMarkings: { description: marking({ classification: 'SECRET' }) } });
    expect(gets(caller('DEU', 'CONFIDENTIAL'), incident, 'description', 'Initial access by VPN.')).toBe(WITHHELD);
    expect(why(caller('DEU', 'CONFIDENTIAL'), incident, 'description')).toBe('marking:clearance');
    expect(gets(caller('DEU', 'CONFIDENTIAL'), incident, 'severity', 'high')).toBe('high');
  });
});

describe('what is not known or not marked is denied', () => {
  const analyst = caller('FRA', 'TOP_SECRET');

  it('a French analyst asks for a field the contract does not have on a French indicator and gets nothing', () => {
    expect(gets(analyst, object('Indicator', 'FRA'), 'victim', 'x')).toBe(WITHHELD);
    expect(gets(analyst, object('Indicator', 'FRA'), 'secretSauce', 'x')).toBe(WITHHELD);
    expect(why(analyst, object('Indicator', 'FRA'), 'secretSauce')).toBe('unknown-field:Indicator.secretSauce');
  });

  it('a French analyst asks for a field of a type the contract does not have and gets nothing, even from France', () => {
    expect(gets(analyst, object('Malware', 'FRA'), 'name', 'x')).toBe(WITHHELD);
  });

  it('a French analyst asks for an unmarked French indicator and gets nothing of it', () => {
    expect(gets(analyst, object('Indicator', 'FRA', { marking: undefined }), 'name', 'x')).toBe(WITHHELD);
    expect(why(analyst, object('Indicator', 'FRA', { marking: undefined }), 'name')).toBe('marking:none');
    expect(engine.objectVisible(analyst, { type: 'Indicator', owner: 'FRA', marking: undefined })).toBe(false);
  });

  it('a Polish analyst asks for a Polish indicator and gets nothing: Poland has no rule file, and no rule means deny', () => {
    const polish = object('Indicator', 'POL', { marking: marking({ classification: 'UNCLASSIFIED', tlp: 'CLEAR' }) });
    expect(gets(caller('POL', 'TOP_SECRET', { communities: [] }), polish, 'name', 'x')).toBe(WITHHELD);
    expect(why(caller('POL', 'TOP_SECRET', { communities: [] }), polish, 'name')).toMatch(/^no-rule:POL/);
  });

  // Fail closed on a marking level the engine does not know (a lower-case or misspelt level from a
  // silo, an import or a misbehaving subgraph): issue 3 says "an error while deciding: deny".
  it('a German analyst cleared UNCLASSIFIED asks for a French indicator whose classification is not a known level and gets nothing of it', () => {
    for (const classification of ['COSMIC_TOP_SECRET', 'secret']) {
      const odd = object('Indicator', 'FRA', { marking: marking({ classification: classification as Classification, releasableTo: ['DEU'] }) });
      expect(gets(caller('DEU', 'UNCLASSIFIED'), odd, 'name', 'x'), classification).toBe(WITHHELD);
      expect(engine.objectVisible(caller('DEU', 'UNCLASSIFIED'), odd), classification).toBe(false);
    }
  });

  it('a German analyst asks for a French indicator whose TLP is not a known level (red, AMBER+STRICT) and gets nothing of it', () => {
    for (const [tlp, releasableTo] of [['red', ['DEU']], ['AMBER+STRICT', ['EU']]] as const) {
      const odd = object('Indicator', 'FRA', { marking: marking({ tlp: tlp as Tlp, releasableTo: [...releasableTo] }) });
      expect(gets(caller('DEU', 'SECRET'), odd, 'name', 'x'), tlp).toBe(WITHHELD);
    }
  });
});

describe('the demo rules, one story each', () => {
  const owners = ['FRA', 'DEU', 'EST', 'GBR', 'USA'];

  for (const owner of owners) {
    const { adjective } = NATION_WORDS[owner]!;
    const partner = owner === 'DEU' ? 'FRA' : 'DEU';
    const partnerWord = NATION_WORDS[partner]!.adjective;

    it(`${a(partnerWord)} analyst asks for ${a(adjective)} indicator released to NATO and gets its name and confidence (${owner}/release-what-markings-allow)`, () => {
      const indicator = object('Indicator', owner);
      expect(gets(caller(partner, 'SECRET'), indicator, 'name', 'Emotet loader')).toBe('Emotet loader');
      expect(gets(caller(partner, 'SECRET'), indicator, 'confidence', 80)).toBe(80);
      expect(why(caller(partner, 'SECRET'), indicator, 'name')).toBe(`${owner}/release-what-markings-allow`);
    });

    const sourcesRule = `sources-stay-in-${NATION_WORDS[owner]!.rulesSuffix}`;
    it(`${a(partnerWord)} analyst cleared TOP_SECRET asks for ${a(adjective)} indicator and gets its name but not its source; ${a(adjective)} analyst gets the source (${owner}/${sourcesRule})`, () => {
      const indicator = object('Indicator', owner, { marking: marking({ releasableTo: ['NATO', partner] }) });
      const source = { name: 'Sensor 12', kind: 'network-sensor' };
      expect(gets(caller(partner, 'TOP_SECRET'), indicator, 'name', 'Emotet loader')).toBe('Emotet loader');
      expect(gets(caller(partner, 'TOP_SECRET'), indicator, 'source', source)).toBe(WITHHELD);
      expect(why(caller(partner, 'TOP_SECRET'), indicator, 'source')).toBe(`${owner}/${sourcesRule}`);
      expect(gets(caller(owner, 'CONFIDENTIAL'), indicator, 'source', source)).toEqual(source);
    });
  }

  for (const owner of ['FRA', 'DEU', 'GBR', 'USA']) {
    const { adjective } = NATION_WORDS[owner]!;
    it(`a German analyst cleared CONFIDENTIAL asks for ${a(adjective)} incident and gets its name but only a mask for the victim; cleared SECRET, the victim (${owner}/victims-below-secret)`, () => {
      const incident = object('Incident', owner);
      expect(gets(caller('DEU', 'CONFIDENTIAL'), incident, 'name', 'Ransomware at a utility')).toBe('Ransomware at a utility');
      expect(gets(caller('DEU', 'CONFIDENTIAL'), incident, 'victim', 'Stadtwerke Musterstadt')).toBe(REDACTED);
      expect(why(caller('DEU', 'CONFIDENTIAL'), incident, 'victim')).toBe(`${owner}/victims-below-secret`);
      expect(gets(caller('DEU', 'SECRET'), incident, 'victim', 'Stadtwerke Musterstadt')).toBe('Stadtwerke Musterstadt');
    });
  }

  it('a British analyst asks for a French sighting and gets its count but not where it was sighted; a French analyst gets the place (FRA/sighting-places-stay-in-france)', () => {
    const sighting = object('Sighting', 'FRA');
    const places = [{ name: 'Paris SOC', kind: 'soc', country: 'FRA' }];
    expect(gets(caller('GBR', 'SECRET'), sighting, 'count', 3)).toBe(3);
    expect(gets(caller('GBR', 'SECRET'), sighting, 'whereSighted', places)).toBe(WITHHELD);
    expect(why(caller('GBR', 'SECRET'), sighting, 'whereSighted')).toBe('FRA/sighting-places-stay-in-france');
    expect(gets(caller('FRA', 'SECRET'), sighting, 'whereSighted', places)).toEqual(places);
  });

  it('an American analyst asks for a French indicator and gets its IPv4 observable and pattern generalised to the /24; a German analyst gets the address (FRA/partner-ips-outside-eu)', () => {
    const indicator = object('Indicator', 'FRA');
    expect(gets(caller('USA', 'SECRET'), indicator, 'observable', '203.0.113.7')).toBe('203.0.113.0/24');
    expect(gets(caller('USA', 'SECRET'), indicator, 'pattern', "[ipv4-addr:value = '203.0.113.7']")).toBe("[ipv4-addr:value = '203.0.113.0/24']");
    expect(engine.decide(caller('USA', 'SECRET'), indicator, 'observable')).toMatchObject({ effect: 'transform', transform: 'ipv4-slash24', reason: 'FRA/partner-ips-outside-eu' });
    expect(gets(caller('DEU', 'SECRET'), indicator, 'observable', '203.0.113.7')).toBe('203.0.113.7');
  });

  it('a French analyst asks for a German sighting and learns only the country where it was made; a German analyst gets the place (DEU/sighting-places-as-countries)', () => {
    const sighting = object('Sighting', 'DEU');
    const places = [{ name: 'Bonn SOC', kind: 'soc', country: 'DEU' }];
    expect(gets(caller('FRA', 'SECRET'), sighting, 'whereSighted', places)).toEqual([{ name: null, kind: null, country: 'DEU' }]);
    expect(why(caller('FRA', 'SECRET'), sighting, 'whereSighted')).toBe('DEU/sighting-places-as-countries');
    expect(gets(caller('DEU', 'SECRET'), sighting, 'whereSighted', places)).toEqual(places);
  });

  it('a British analyst asks for a German indicator and gets its IPv4 observable as the /24; an Estonian analyst gets the address (DEU/partner-ips-outside-eu)', () => {
    const indicator = object('Indicator', 'DEU');
    expect(gets(caller('GBR', 'SECRET'), indicator, 'observable', '198.51.100.23')).toBe('198.51.100.0/24');
    expect(why(caller('GBR', 'SECRET'), indicator, 'observable')).toBe('DEU/partner-ips-outside-eu');
    expect(gets(caller('EST', 'SECRET'), indicator, 'observable', '198.51.100.23')).toBe('198.51.100.23');
  });

  it('a German analyst asks for an Estonian sighting and gets its times only to the day; an Estonian analyst gets the exact times (EST/sighting-times-to-the-day)', () => {
    const sighting = object('Sighting', 'EST');
    expect(gets(caller('DEU', 'SECRET'), sighting, 'firstSeen', '2026-11-03T14:22:05.120Z')).toBe('2026-11-03T00:00:00.000Z');
    expect(gets(caller('DEU', 'SECRET'), sighting, 'lastSeen', '2026-11-04T09:01:00.000Z')).toBe('2026-11-04T00:00:00.000Z');
    expect(why(caller('DEU', 'SECRET'), sighting, 'firstSeen')).toBe('EST/sighting-times-to-the-day');
    expect(gets(caller('EST', 'SECRET'), sighting, 'firstSeen', '2026-11-03T14:22:05.120Z')).toBe('2026-11-03T14:22:05.120Z');
  });

  it('an American analyst asks for an Estonian incident in the energy sector and gets nothing of it, but gets one in finance; a German analyst gets both (EST/energy-sector-incidents)', () => {
    const energy = object('Incident', 'EST', { values: { sector: 'energy' } });
    const finance = object('Incident', 'EST', { values: { sector: 'finance' } });
    const american = caller('USA', 'SECRET');
    // Asked one after the other in the same engine: the cached decision for one must not answer the other.
    expect(gets(american, energy, 'name', 'Grid intrusion')).toBe(WITHHELD);
    expect(gets(american, finance, 'name', 'Bank DDoS')).toBe('Bank DDoS');
    expect(gets(american, energy, 'name', 'Grid intrusion')).toBe(WITHHELD);
    expect(gets(american, energy, 'sector', 'energy')).toBe(WITHHELD);
    expect(why(american, energy, 'name')).toBe('EST/energy-sector-incidents');
    expect(gets(caller('DEU', 'SECRET'), energy, 'name', 'Grid intrusion')).toBe('Grid intrusion');
    expect(gets(caller('DEU', 'SECRET'), finance, 'name', 'Bank DDoS')).toBe('Bank DDoS');
  });

  it('a French analyst asks for a British incident and gets only the first sentence of its description; an American analyst gets all of it (GBR/descriptions-outside-fvey)', () => {
    const incident = object('Incident', 'GBR');
    const description = 'Phishing against a ministry. The actor then moved to the domain controllers.';
    expect(gets(caller('FRA', 'SECRET'), incident, 'description', description)).toBe('Phishing against a ministry.');
    expect(why(caller('FRA', 'SECRET'), incident, 'description')).toBe('GBR/descriptions-outside-fvey');
    expect(gets(caller('USA', 'SECRET'), incident, 'description', description)).toBe(description);
  });

  it('a French analyst asks for an American sighting and gets its count but not where it was sighted; a British analyst gets the place (USA/sighting-places-outside-fvey)', () => {
    const sighting = object('Sighting', 'USA');
    const places = [{ name: 'Fort Meade', kind: 'soc', country: 'USA' }];
    expect(gets(caller('FRA', 'SECRET'), sighting, 'count', 2)).toBe(2);
    expect(gets(caller('FRA', 'SECRET'), sighting, 'whereSighted', places)).toBe(WITHHELD);
    expect(why(caller('FRA', 'SECRET'), sighting, 'whereSighted')).toBe('USA/sighting-places-outside-fvey');
    expect(gets(caller('GBR', 'SECRET'), sighting, 'whereSighted', places)).toEqual(places);
  });

  it('a German operator without the analyst role gets nothing of a TLP:AMBER French indicator but its TLP:GREEN one; even a French operator loses France\'s own AMBER indicator (COALITION/amber-needs-analyst)', () => {
    const amber = object('Indicator', 'FRA', { marking: marking({ tlp: 'AMBER' }) });
    const green = object('Indicator', 'FRA', { marking: marking({ tlp: 'GREEN' }) });
    const operator = caller('DEU', 'SECRET', { roles: ['operator'] });
    expect(gets(operator, amber, 'name', 'Loader')).toBe(WITHHELD);
    expect(why(operator, amber, 'name')).toBe('COALITION/amber-needs-analyst');
    expect(gets(operator, green, 'name', 'Loader')).toBe('Loader');
    expect(gets(caller('DEU', 'SECRET', { roles: ['operator', 'analyst'] }), amber, 'name', 'Loader')).toBe('Loader');
    expect(gets(caller('FRA', 'SECRET', { roles: ['policy-officer'] }), amber, 'name', 'Loader')).toBe(WITHHELD);
  });

  it('every demo rule has a story above', () => {
    const all = demoFiles.flatMap((f) => f.rules.map((r) => `${f.nation}/${r.id}`));
    expect(all.filter((id) => !decidedBy.has(id))).toEqual([]);
  });
});

describe('the coalition may only restrict', () => {
  const demoCoalition = demoFiles.find((f) => f.nation === 'COALITION')!;
  const generous: RuleFile = {
    ...demoCoalition,
    rules: [
      ...demoCoalition.rules,
      { id: 'release-everything', description: 'Tries to release every field to everybody.', match: { types: ['*'], fields: ['*'] }, effect: 'allow' },
    ],
  };
  const withGenerous = engineWith([...demoFiles.filter((f) => f.nation !== 'COALITION'), generous]);

  it('a coalition rule that tries to release every French source changes nothing: a German analyst still gets no source, and explain() says the allow was ignored', () => {
    const indicator = object('Indicator', 'FRA');
    expect(gets(caller('DEU', 'TOP_SECRET'), indicator, 'source', { name: 'Sensor 12' }, withGenerous)).toBe(WITHHELD);
    const explanation = withGenerous.explain(caller('DEU', 'TOP_SECRET'), indicator, 'source');
    expect(explanation.reason).toBe('FRA/sources-stay-in-france');
    expect(explanation.rules).toContainEqual({ rule: 'COALITION/release-everything', effect: 'allow', ignored: 'the coalition may only restrict' });
  });

  it('nor does it release what no owner rule releases: a Polish analyst still gets nothing of a Polish indicator', () => {
    const polish = object('Indicator', 'POL', { marking: marking({ classification: 'UNCLASSIFIED', tlp: 'CLEAR' }) });
    expect(gets(caller('POL', 'TOP_SECRET', { communities: [] }), polish, 'name', 'x', withGenerous)).toBe(WITHHELD);
  });

  it('nor what the marking withholds: a British analyst still gets nothing of a NOFORN French indicator', () => {
    const noforn = object('Indicator', 'FRA', { marking: marking({ caveats: ['NOFORN'] }) });
    expect(gets(caller('GBR', 'TOP_SECRET'), noforn, 'name', 'x', withGenerous)).toBe(WITHHELD);
  });

  it('nor does it undo a redaction: a German analyst cleared CONFIDENTIAL still gets a mask for a French victim', () => {
    expect(gets(caller('DEU', 'CONFIDENTIAL'), object('Incident', 'FRA'), 'victim', 'CHU de Lille', withGenerous)).toBe(REDACTED);
  });
});

describe('explain()', () => {
  it('for a German analyst cleared CONFIDENTIAL and a French victim: the redaction, every rule that matched and every marking check', () => {
    const explanation = engine.explain(caller('DEU', 'CONFIDENTIAL'), object('Incident', 'FRA'), 'victim');
    expect(explanation).toMatchObject({ effect: 'redact', reason: 'FRA/victims-below-secret' });
    expect(explanation.rules).toEqual([
      { rule: 'FRA/release-what-markings-allow', effect: 'allow' },
      { rule: 'FRA/victims-below-secret', effect: 'redact' },
    ]);
    expect(explanation.baseline?.passed).toBe(true);
    expect(explanation.baseline?.checks.map((c) => [c.check, c.held])).toEqual([
      ['clearance', true],
      ['tlp-red', true],
      ['noforn', true],
      ['releasability', true],
    ]);
    expect(explanation.baseline?.checks.find((c) => c.check === 'releasability')?.detail).toMatch(/NATO/);
  });

  it('for a British analyst and a NOFORN French indicator: the failed check, and no rule consulted', () => {
    const explanation = engine.explain(caller('GBR', 'SECRET'), object('Indicator', 'FRA', { marking: marking({ caveats: ['NOFORN'] }) }), 'name');
    expect(explanation).toMatchObject({ effect: 'deny', reason: 'marking:noforn', rules: [] });
    expect(explanation.baseline?.checks.find((c) => !c.held)).toMatchObject({ check: 'noforn' });
  });

  it('for a French analyst and France\'s own data: the owner check', () => {
    const explanation = engine.explain(caller('FRA', 'SECRET'), object('Indicator', 'FRA', { marking: marking({ tlp: 'RED', releasableTo: [] }) }), 'name');
    expect(explanation.effect).toBe('allow');
    expect(explanation.baseline?.checks.map((c) => c.check)).toEqual(['clearance', 'owner']);
  });

  it('for a German operator and an AMBER French indicator: the owner\'s allow and the coalition\'s deny', () => {
    const explanation = engine.explain(caller('DEU', 'SECRET', { roles: ['operator'] }), object('Indicator', 'FRA', { marking: marking({ tlp: 'AMBER' }) }), 'observable');
    expect(explanation.effect).toBe('deny');
    expect(explanation.rules).toEqual([
      { rule: 'FRA/release-what-markings-allow', effect: 'allow' },
      { rule: 'COALITION/amber-needs-analyst', effect: 'deny' },
    ]);
  });

  it('agrees with decide() for every field of every contract type, for a few callers and objects', () => {
    const callers = [caller('DEU', 'CONFIDENTIAL'), caller('USA', 'SECRET', { roles: ['operator'] }), caller('FRA', 'TOP_SECRET'), caller('GBR', 'RESTRICTED')];
    const markings = [marking(), marking({ tlp: 'AMBER', releasableTo: ['EU'] }), marking({ classification: 'SECRET', tlp: 'AMBER_STRICT', releasableTo: ['USA', 'DEU'] })];
    for (const principal of callers) {
      for (const owner of ['FRA', 'DEU', 'EST', 'GBR', 'USA']) {
        for (const m of markings) {
          for (const [type, fields] of Object.entries(schema)) {
            for (const field of fields) {
              const facts = object(type, owner, { marking: m, values: { sector: 'energy' } });
              const { effect, transform, reason } = engine.explain(principal, facts, field);
              expect(engine.decide(principal, facts, field)).toEqual({ effect, reason, ...(transform ? { transform } : {}) });
            }
          }
        }
      }
    }
  });
});
