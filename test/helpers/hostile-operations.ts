/**
 * Operations an analyst could send to exhaust the coalition, each with the code the gateway must
 * refuse it with before any nation is asked. Shared by the security test and the benchmark.
 */
import { LIMIT_CODES, OPERATION_TYPE_NOT_SUPPORTED, UNKNOWN_OPERATION } from '../../gateway/limits';

export interface HostileOperation {
  name: string;
  query: string;
  variables?: Record<string, unknown>;
  operationName?: string;
  /** The `extensions.code` of the one error the gateway answers with. */
  code: string;
}

/** `Incident.attributedTo → ThreatActor.incidents → …` `times` times: each level multiplies the work. */
export function referenceCycle(times: number): string {
  let inner = 'id name';
  for (let i = 0; i < times; i++) inner = `attributedTo { id incidents { id ${inner} } }`;
  return `{ incidents(first: 20) { edges { node { id ${inner} } } } }`;
}

/** Nineteen levels of fragments, each spreading the next twice: 1.5 KB of text, half a million selections. */
export function fragmentFanOut(levels: number): string {
  const fragments = ['fragment L0 on Indicator { id nation pattern }'];
  for (let i = 1; i <= levels; i++) fragments.push(`fragment L${i} on Indicator { ...L${i - 1} ...L${i - 1} }`);
  return `{ indicators(first: 5) { edges { node { ...L${levels} } } } }\n${fragments.join('\n')}`;
}

function aliases(count: number, field: string): string {
  return `{ ${Array.from({ length: count }, (_, i) => `a${i}: ${field}`).join(' ')} }`;
}

function nested(levels: number): string {
  let inner = 'id';
  for (let i = 0; i < levels; i++) inner = `sightingOf { sightings { ${inner} } }`;
  return `{ sightings(first: 1) { edges { node { ${inner} } } } }`;
}

const TEN_THOUSAND_NATIONS = Array.from({ length: 10_000 }, (_, i) => `N${String(i).padStart(4, '0')}`);

export const HOSTILE_OPERATIONS: readonly HostileOperation[] = [
  { name: 'a reference cycle followed twelve times', query: referenceCycle(12), code: LIMIT_CODES.maxDepth },
  { name: 'a reference cycle followed sixteen times', query: referenceCycle(16), code: LIMIT_CODES.maxDepth },
  { name: 'a reference cycle within the depth limit, but each level a list', query: referenceCycle(2).replace('first: 20', 'first: 100'), code: LIMIT_CODES.maxCost },
  { name: '500 aliases of indicators(first: 100): 5,000 nation requests in 7 KB', query: aliases(500, 'indicators(first: 100) { edges { node { id } } }'), code: LIMIT_CODES.maxTokens },
  { name: 'forty aliases of indicators(first: 100)', query: aliases(40, 'indicators(first: 100) { edges { node { id } } }'), code: LIMIT_CODES.maxAliases },
  { name: '5,000 aliases of me', query: aliases(5000, 'me { nation }'), code: LIMIT_CODES.maxTokens },
  { name: 'twenty-six root fields without aliases', query: `{ indicators { edges { cursor } } incidents { edges { cursor } } sightings { edges { cursor } } threatActors { edges { cursor } } ${'me { nation } '.repeat(22)}}`, code: LIMIT_CODES.maxRootFields },
  { name: 'nineteen levels of fragments, each spreading the next twice', query: fragmentFanOut(19), code: LIMIT_CODES.maxSelections },
  { name: 'twenty levels of fragments (where Apollo\'s own safeguard answered 500)', query: fragmentFanOut(20), code: LIMIT_CODES.maxSelections },
  { name: 'deep nesting through sightings and what they sight', query: nested(10), code: LIMIT_CODES.maxDepth },
  { name: 'a huge page', query: '{ indicators(first: 1000000) { edges { node { id pattern } } } }', code: LIMIT_CODES.maxCost },
  { name: 'a huge page through a variable', query: 'query($n: Int) { indicators(first: $n) { edges { node { id pattern } } } }', variables: { n: 1_000_000 }, code: LIMIT_CODES.maxCost },
  { name: 'ten thousand nations written in the filter', query: `{ indicators(first: 5, filter: { nations: ${JSON.stringify(TEN_THOUSAND_NATIONS)} }) { edges { node { id } } } }`, code: LIMIT_CODES.maxTokens },
  { name: 'ten thousand nations in a variable', query: 'query($f: ObjectFilter) { indicators(first: 5, filter: $f) { edges { node { id } } } }', variables: { f: { nations: TEN_THOUSAND_NATIONS } }, code: LIMIT_CODES.maxVariableValues },
  { name: 'a huge variable, in fields the filter does not have', query: 'query($f: ObjectFilter) { indicators(first: 1, filter: $f) { edges { cursor } } }', variables: { f: { technique: 'T1566', padding: Array.from({ length: 50_000 }, () => 'x') } }, code: LIMIT_CODES.maxVariableValues },
  { name: 'a directive on every field', query: `{ me { ${'nation @include(if: true) '.repeat(40)}} }`, code: LIMIT_CODES.maxDirectives },
  { name: 'a mutation', query: 'mutation { __typename }', code: OPERATION_TYPE_NOT_SUPPORTED },
  { name: 'a subscription', query: 'subscription { __typename }', code: OPERATION_TYPE_NOT_SUPPORTED },
  { name: 'an operation name the document does not hold', query: 'query Mine { me { nation } }', operationName: 'Theirs', code: UNKNOWN_OPERATION },
  { name: 'two operations and no operation name', query: 'query A { me { nation } } query B { me { nation } }', code: UNKNOWN_OPERATION },
];
