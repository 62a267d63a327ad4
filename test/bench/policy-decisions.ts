/**
 * `npm run bench:policy`: policy decisions per second over realistic tuples (the demo rules, the
 * contract's types and fields, callers from the five demo nations, objects with the markings the
 * demo data carries):
 *   - cold: a fresh engine for each batch, every tuple in the batch distinct, so nothing is cached
 *     (the cost includes creating the engine and compiling the candidates it needs);
 *   - warm: one engine that has seen every tuple, so every decision is a cache hit.
 * Environment: BENCH_SECONDS per measurement (default 2), BENCH_BATCH tuples per cold batch (default 2000).
 */
import { readFileSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { buildASTSchema, isObjectType, parse } from 'graphql';
import { createPolicyEngine, loadRuleFolder, type Classification, type Marking, type ObjectFacts, type PolicyEngine, type Principal } from '../../policies';

const seconds = Number(process.env.BENCH_SECONDS ?? 2);
const batchSize = Number(process.env.BENCH_BATCH ?? 2000);

const files = loadRuleFolder(fileURLToPath(new URL('../../policies/rules', import.meta.url)));
const communities = { NATO: ['USA', 'GBR', 'FRA', 'DEU', 'EST'], EU: ['FRA', 'DEU', 'EST'], FVEY: ['USA', 'GBR'] };
const membership: Record<string, string[]> = { USA: ['NATO', 'FVEY'], GBR: ['NATO', 'FVEY'], FRA: ['NATO', 'EU'], DEU: ['NATO', 'EU'], EST: ['NATO', 'EU'] };
const nations = Object.keys(membership);

function contractSchema(): Record<string, string[]> {
  const sdl = readFileSync(new URL('../../subgraphs/contract/nation.graphql', import.meta.url), 'utf8');
  const stubs = [
    'directive @link(url: String, import: [String]) repeatable on SCHEMA',
    'directive @key(fields: String!, resolvable: Boolean = true) repeatable on OBJECT | INTERFACE',
    'directive @shareable on OBJECT | FIELD_DEFINITION',
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
const schema = contractSchema();

// Callers: every nation, two clearances, analysts and operators.
const principals: Principal[] = nations.flatMap((nation) =>
  (['CONFIDENTIAL', 'SECRET'] as Classification[]).flatMap((clearance) =>
    [['analyst'], ['operator']].map((roles) => ({ subject: `${nation}-${clearance}-${roles[0]}`, nation, clearance, roles, communities: membership[nation]! })),
  ),
);

// Objects: what the demo silos hold, with a granular marking on incident victims now and then.
const markings: Marking[] = [
  { classification: 'UNCLASSIFIED', tlp: 'CLEAR', releasableTo: ['NATO'], caveats: [] },
  { classification: 'RESTRICTED', tlp: 'GREEN', releasableTo: ['NATO'], caveats: [] },
  { classification: 'CONFIDENTIAL', tlp: 'AMBER', releasableTo: ['EU', 'GBR'], caveats: [] },
  { classification: 'SECRET', tlp: 'AMBER_STRICT', releasableTo: ['USA', 'GBR', 'DEU'], caveats: ['ORCON'] },
  { classification: 'CONFIDENTIAL', tlp: 'GREEN', releasableTo: ['FVEY'], caveats: ['NOFORN'] },
];
const objects: ObjectFacts[] = nations.flatMap((owner) =>
  markings.flatMap((marking, m) => [
    { type: 'Indicator', owner, marking, values: { indicatorTypes: ['malicious-activity'] } },
    { type: 'Sighting', owner, marking },
    // Only Estonia's rules look at the sector: elsewhere two sectors would be one cache key.
    ...(owner === 'EST' ? ['energy', 'finance'] : ['energy']).map((sector) => ({
      type: 'Incident',
      owner,
      marking,
      values: { sector },
      ...(m % 2 ? { fieldMarkings: { victim: { ...marking, classification: 'SECRET' as const } } } : {}),
    })),
    { type: 'ThreatActor', owner, marking },
  ]),
);

interface Tuple {
  principal: Principal;
  object: ObjectFacts;
  field: string;
}
const tuples: Tuple[] = [];
for (const principal of principals) for (const object of objects) for (const field of schema[object.type] ?? []) tuples.push({ principal, object, field });
// A fixed shuffle, so that batches mix callers, owners and types as a real response does.
let seed = 42;
const random = () => ((seed = (seed * 1103515245 + 12345) % 2 ** 31) / 2 ** 31);
for (let i = tuples.length - 1; i > 0; i--) {
  const j = Math.floor(random() * (i + 1));
  [tuples[i], tuples[j]] = [tuples[j]!, tuples[i]!];
}

const newEngine = (): PolicyEngine => createPolicyEngine({ files, communities, schema, cacheSize: tuples.length * 2 });
let sink = 0;
const checksum = (effect: string) => (sink = (sink + effect.length) | 0);

function measure(label: string, run: () => number): number {
  run(); // one untimed round, for the JIT
  let decisions = 0;
  const start = performance.now();
  let elapsed = 0;
  while (elapsed < seconds * 1000) {
    decisions += run();
    elapsed = performance.now() - start;
  }
  const perSecond = decisions / (elapsed / 1000);
  console.log(`${label.padEnd(46)} ${Math.round(perSecond).toLocaleString('en-US').padStart(12)} decisions/s  (${decisions.toLocaleString('en-US')} in ${(elapsed / 1000).toFixed(2)} s)`);
  return perSecond;
}

console.log(`policy decisions: ${tuples.length.toLocaleString('en-US')} distinct tuples (${principals.length} callers × ${objects.length} objects × their fields), ${files.length} rule files; ${seconds} s per measurement`);

let offset = 0;
const cold = measure(`cold (fresh engine per ${batchSize} distinct tuples)`, () => {
  const engine = newEngine();
  const end = Math.min(offset + batchSize, tuples.length);
  for (let i = offset; i < end; i++) checksum(engine.decide(tuples[i]!.principal, tuples[i]!.object, tuples[i]!.field).effect);
  const done = end - offset;
  offset = end === tuples.length ? 0 : end;
  if (engine.stats.cacheHits !== 0) throw new Error('a cold batch hit the cache: tuples are not distinct');
  return done;
});

const uncached = measure('uncached evaluation (explain, no cache)', () => {
  const engine = newEngine();
  const end = Math.min(offset + batchSize, tuples.length);
  for (let i = offset; i < end; i++) checksum(engine.explain(tuples[i]!.principal, tuples[i]!.object, tuples[i]!.field).effect);
  const done = end - offset;
  offset = end === tuples.length ? 0 : end;
  return done;
});

const warmEngine = newEngine();
for (const t of tuples) warmEngine.decide(t.principal, t.object, t.field);
const warm = measure('warm (every decision a cache hit)', () => {
  for (const t of tuples) checksum(warmEngine.decide(t.principal, t.object, t.field).effect);
  return tuples.length;
});
const { decisions, cacheHits } = warmEngine.stats;

console.log(`warm/cold ratio ${(warm / cold).toFixed(1)}×; warm engine hit rate ${((cacheHits / decisions) * 100).toFixed(2)}%; uncached/cold ${(uncached / cold).toFixed(2)}× (checksum ${sink})`);
