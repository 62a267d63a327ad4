/**
 * A nation operator exports their silo as a STIX 2.1 bundle: it validates against the OASIS STIX 2.1
 * JSON Schemas, and a fresh silo that imports it holds exactly the same rows.
 */
import { readFileSync, readdirSync, statSync } from 'node:fs';
import { join } from 'node:path';
import Ajv2020 from 'ajv/dist/2020';
import addFormats from 'ajv-formats';
import type { ValidateFunction } from 'ajv';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { openSilo, type SiloDb } from '../../subgraphs/silo/db';
import { defaultMarkingFor, exportBundle, importBundle, type Bundle, type StixObject } from '../../subgraphs/stix';
import { generateNationBundle } from '../../subgraphs/seed/generate';
import { PUBLIC_DATA } from '../helpers/public-data';

const SCHEMAS = join(PUBLIC_DATA, 'stix2-json-schemas/schemas');
const SCHEMA_BASE = 'http://raw.githubusercontent.com/oasis-open/cti-stix2-json-schemas/stix2.1/schemas/';

/** The OASIS schemas are draft 2020-12 and refer to each other relatively: load them all by their $id. */
function loadSchemas(): Ajv2020 {
  // unicodeRegExp off: the schemas' patterns escape '-' outside classes, which the u flag refuses.
  const ajv = new Ajv2020({ strict: false, allErrors: true, unicodeRegExp: false, formats: { 'idn-hostname': true } });
  addFormats(ajv);
  const walk = (dir: string): string[] => readdirSync(dir).flatMap((f) => (statSync(join(dir, f)).isDirectory() ? walk(join(dir, f)) : f.endsWith('.json') ? [join(dir, f)] : []));
  for (const file of walk(SCHEMAS)) {
    const schema = JSON.parse(readFileSync(file, 'utf8'));
    expect(schema.$schema).toBe('https://json-schema.org/draft/2020-12/schema');
    ajv.addSchema(schema);
  }
  return ajv;
}

/**
 * The bundle schema, and each object against its own type's schema.
 *
 * bundle.json lists the schemas of most types but not incident, location, grouping, note, opinion or
 * extension-definition; those fall to its custom-object branch, which wants exactly one of core.json
 * and cyber-observable-core.json to match, and every SDO matches both (the same upstream defect as
 * oasis-open/cti-stix2-json-schemas#133, where infrastructure was missing). So objects of those types
 * are checked against their own schema, and the bundle schema checks the rest.
 */
function schemaErrors(ajv: Ajv2020, bundle: Bundle): string[] {
  const errors: string[] = [];
  const listed = bundleListedTypes();
  const validateBundle = ajv.getSchema(`${SCHEMA_BASE}common/bundle.json`)!;
  const envelope = { ...bundle, objects: bundle.objects.filter((o) => listed.has(o.type) || !schemaFor(ajv, o.type)) };
  if (!validateBundle(envelope)) {
    // The bundle schema's anyOf/oneOf reports every branch: name the objects, not the branches.
    const failing = new Set(validateBundle.errors!.map((e) => /^\/objects\/(\d+)/.exec(e.instancePath)?.[1] ?? e.instancePath));
    for (const index of failing) errors.push(`${envelope.objects[Number(index)]?.id ?? `bundle${index}`}: fails the bundle schema`);
  }
  for (const object of bundle.objects) {
    const validate = schemaFor(ajv, object.type);
    if (validate && !validate(object as unknown)) errors.push(`${object.id}: ${ajv.errorsText(validate.errors)}`);
  }
  return errors;
}

/** The types whose schemas bundle.json lists for its objects. */
function bundleListedTypes(): Set<string> {
  const text = readFileSync(join(SCHEMAS, 'common/bundle.json'), 'utf8');
  return new Set([...text.matchAll(/"\$ref": "\.\.\/\w+\/([a-z0-9-]+)\.json"/g)].map((m) => m[1]!));
}

function schemaFor(ajv: Ajv2020, type: string): ValidateFunction | undefined {
  for (const dir of ['sdos', 'sros', 'observables', 'common']) {
    const validate = ajv.getSchema(`${SCHEMA_BASE}${dir}/${type}.json`);
    if (validate) return validate;
  }
  return undefined;
}

async function snapshot(db: SiloDb) {
  return {
    objects: await db.query('SELECT * FROM stix_object ORDER BY id'),
    links: await db.query('SELECT * FROM stix_link ORDER BY source_id, kind, target_id'),
  };
}

let ajv: Ajv2020;
const silos: SiloDb[] = [];
async function silo(nation: string): Promise<SiloDb> {
  const db = await openSilo({ nation });
  silos.push(db);
  return db;
}

beforeAll(() => {
  ajv = loadSchemas();
});
afterAll(async () => {
  await Promise.all(silos.map((s) => s.close()));
});

describe('the OASIS schemas themselves', () => {
  it('catch what they should (so a passing export means something)', () => {
    const bad = { type: 'bundle', id: 'bundle--6f1d2b3c-4d5e-4f60-8a7b-9c0d1e2f3a4b', objects: [{ type: 'indicator', spec_version: '2.1', id: 'indicator--6f1d2b3c-4d5e-4f60-8a7b-9c0d1e2f3a4b', created: '2025-01-01T00:00:00Z', modified: '2025-01-01T00:00:00.000Z', pattern: 'x', pattern_type: 'stix', valid_from: '2025-01-01T00:00:00Z', severity: 'high' }] };
    expect(schemaErrors(ajv, bad as Bundle).length).toBeGreaterThan(0);
  });
});

describe('a German operator exports the seeded silo', () => {
  let original: SiloDb;
  let exported: Bundle;

  beforeAll(async () => {
    original = await silo('DEU');
    const report = await importBundle(original, generateNationBundle('DEU'), { nation: 'DEU', defaultMarking: defaultMarkingFor('DEU') });
    expect(report.rejected).toEqual([]);
    exported = await exportBundle(original, { nation: 'DEU' });
  });

  it('as a bundle the OASIS STIX 2.1 JSON Schemas accept, object by object', () => {
    expect(exported.id).toMatch(/^bundle--[0-9a-f-]{36}$/);
    expect(schemaErrors(ajv, exported)).toEqual([]);
  });

  it('that carries its own marking and extension definitions', () => {
    const ids = new Set(exported.objects.map((o) => o.id));
    for (const object of exported.objects) {
      for (const ref of (object.object_marking_refs as string[] | undefined) ?? []) expect(ids, `${object.id} refers to ${ref}`).toContain(ref);
      for (const key of Object.keys((object.extensions as object | undefined) ?? {})) {
        if (key !== 'extension-definition--60a3c5c5-0d10-413e-aab3-9e08dde9e88d') expect(ids).toContain(key);
      }
    }
  });

  it('which a fresh silo imports into exactly the same rows and links', async () => {
    const fresh = await silo('DEU');
    const report = await importBundle(fresh, exported, { nation: 'DEU', defaultMarking: defaultMarkingFor('DEU') });
    expect(report).toMatchObject({ rejected: [], updated: 0, unchanged: 0, definitionsAdded: 0 });
    expect(report.inserted).toBe(exported.objects.length);
    expect(await snapshot(fresh)).toEqual(await snapshot(original));
  });
});

describe('a French operator exports what they imported from elsewhere', () => {
  it('the APT1 report round-trips and validates, default markings included', async () => {
    const original = await silo('FRA');
    const apt1 = JSON.parse(readFileSync(join(PUBLIC_DATA, 'stix-apt1-bundle.json'), 'utf8'));
    await importBundle(original, apt1, { nation: 'FRA', defaultMarking: defaultMarkingFor('FRA') });
    const exported = await exportBundle(original, { nation: 'FRA' });
    expect(schemaErrors(ajv, exported)).toEqual([]);
    const unmarked = exported.objects.filter((o: StixObject) => !o.object_marking_refs && !o.type.endsWith('-definition'));
    expect(unmarked).toEqual([]);

    const fresh = await silo('FRA');
    await importBundle(fresh, exported, { nation: 'FRA', defaultMarking: defaultMarkingFor('FRA') });
    expect(await snapshot(fresh)).toEqual(await snapshot(original));
  });
});
