/**
 * The limits on parsed operations, without a coalition: the cost model's arithmetic, each document
 * limit on the hostile operations, and every query the project itself shows or sends (README, the
 * console, the tests, the benchmark) admitted by the defaults.
 */
import { readdirSync, readFileSync, statSync } from 'node:fs';
import { join } from 'node:path';
import ts from 'typescript';
import { getOperationAST, Kind, Lexer, parse, Source, TokenKind, validate, type DocumentNode, type GraphQLSchema } from 'graphql';
import { beforeAll, describe, expect, it } from 'vitest';
import { createCostModel, DEFAULT_LIMITS, documentLimitBroken, LIMIT_CODES, resolveLimits } from '../../gateway/limits';
import { coalitionApiSchema, readContractSdlFile } from '../../gateway/supergraph/api-schema';
import { HOSTILE_OPERATIONS } from '../helpers/hostile-operations';
import { nestedQuery } from '../bench/queries';

const NATIONS = ['USA', 'GBR', 'FRA', 'DEU', 'EST'];
const ROOT = join(import.meta.dirname, '../..');

let schema: GraphQLSchema;
const cost = createCostModel({ contractSdl: readContractSdlFile(), nations: NATIONS, limits: DEFAULT_LIMITS });
const costOf = (query: string, variables: Record<string, unknown> = {}) => {
  const document = parse(query);
  return cost.costOf(schema, document, getOperationAST(document)!, variables);
};

beforeAll(async () => {
  schema = await coalitionApiSchema();
}, 60_000);

describe('the cost model', () => {
  it('counts a root list as a probe of each nation it fans out to, then each edge of the merged page once', () => {
    // 5 probes of 10 cursors (5 × 11), then one connection of 10 edges, each edge's node and the node's id: 55 + 1 + 10 + 10 + 10.
    expect(costOf('{ indicators(first: 10) { edges { node { id } } } }')).toBe(86);
    expect(costOf('{ indicators(first: 10, filter: { nations: ["FRA", "FRA", "XXX"] }) { edges { node { id } } } }')).toBe(11 + 31);
    expect(costOf('query($f: ObjectFilter) { indicators(first: 10, filter: $f) { edges { node { id } } } }', { f: { nations: ['DEU', 'FRA'] } })).toBe(22 + 31);
  });

  it('takes the contract\'s default page size when no `first` is given, and the variable\'s when one is', () => {
    expect(costOf('{ indicators { edges { cursor } } }')).toBe(costOf('{ indicators(first: 20) { edges { cursor } } }'));
    expect(costOf('query($n: Int) { indicators(first: $n) { edges { cursor } } }', { n: 7 })).toBe(costOf('{ indicators(first: 7) { edges { cursor } } }'));
  });

  it('counts an unpaged list at the assumed size and a @crossNation reference as an entity fetch per target', () => {
    const { assumedListSize: n, entityFetchCost: e } = DEFAULT_LIMITS;
    // sighting(1) + sightingOf (1 object + 1 entity fetch) + its id
    expect(costOf('{ sighting(id: "FRA:x") { sightingOf { id } } }')).toBe(1 + (1 + e) + 1);
    // incident(1) + attributedTo (n objects, n fetches) + n × (id + incidents (n objects) × id)
    expect(costOf('{ incident(id: "FRA:x") { attributedTo { id incidents { id } } } }')).toBe(1 + n * (1 + e) + n * (1 + n + n));
  });

  it('costs a fragment as its fields, however often it is spread', () => {
    const spread = 'query { indicators(first: 3) { edges { node { ...F ...F } } } } fragment F on Indicator { id pattern }';
    expect(costOf(spread)).toBe(costOf('{ indicators(first: 3) { edges { node { id pattern id pattern } } } }'));
  });

  it('never lets a page the nations would refuse lower the cost of the rest', () => {
    expect(costOf('{ a: indicators(first: -1000000) { edges { node { id } } } b: me { nation } }')).toBeGreaterThan(0);
  });
});

describe('the settings', () => {
  it('refuses a limit that is not a positive integer, or a setting that does not exist, naming it', () => {
    expect(() => resolveLimits({ maxDepth: 0 })).toThrow(/limits.maxDepth must be a positive integer, got 0/);
    expect(() => resolveLimits({ introspection: 'yes' as unknown as boolean })).toThrow(/limits.introspection must be true or false/);
    expect(() => resolveLimits({ maxDeph: 3 } as never)).toThrow(/limits.maxDeph is not a setting/);
    expect(resolveLimits({ maxDepth: 4, maxCost: undefined })).toMatchObject({ maxDepth: 4, maxCost: DEFAULT_LIMITS.maxCost });
  });
});

describe('hostile operations, on the parsed document', () => {
  const documentCodes = new Set<string>([LIMIT_CODES.maxDepth, LIMIT_CODES.maxAliases, LIMIT_CODES.maxRootFields, LIMIT_CODES.maxDirectives, LIMIT_CODES.maxSelections]);
  for (const hostile of HOSTILE_OPERATIONS.filter((h) => documentCodes.has(h.code))) {
    it(`refuses ${hostile.name} with ${hostile.code}, quickly`, () => {
      const started = performance.now();
      const refused = documentLimitBroken(schema, parse(hostile.query), DEFAULT_LIMITS);
      expect(refused?.extensions).toMatchObject({ code: hostile.code });
      expect(performance.now() - started).toBeLessThan(1000); // counted, not expanded: nowhere near the planner's seconds
    });
  }

  it('says which limit and the allowed value', () => {
    const refused = documentLimitBroken(schema, parse(HOSTILE_OPERATIONS.find((h) => h.code === LIMIT_CODES.maxAliases)!.query), DEFAULT_LIMITS)!;
    expect(refused.extensions).toMatchObject({ code: 'MAX_ALIASES_EXCEEDED', limit: DEFAULT_LIMITS.maxAliases });
    expect(refused.message).toContain(`limit of ${DEFAULT_LIMITS.maxAliases}`);
  });
});

describe('every query the project shows or sends', () => {
  const admitted: Array<{ where: string; document: DocumentNode; text: string }> = [];

  beforeAll(() => {
    const candidates = [
      ...fromReadme(readFileSync(join(ROOT, 'README.md'), 'utf8')).map((text) => ({ where: 'README.md', text })),
      ...stringsOf(join(ROOT, 'gateway/console/console.js')).map((text) => ({ where: 'gateway/console/console.js', text })),
      // The benchmark's query is built by a function, with the technique fields it is given.
      ...['id', 'id name tactics url parent { id name }'].map((fields) => ({ where: 'test/bench/queries.ts', text: nestedQuery(fields) })),
      ...sourceFiles(join(ROOT, 'test')).flatMap((file) => stringsOf(file).map((text) => ({ where: file.slice(ROOT.length + 1), text }))),
    ];
    for (const { where, text } of candidates) {
      const document = operationIn(text);
      if (document) admitted.push({ where, document, text });
    }
  });

  it('finds them: the README\'s, the console\'s, the tests\' and the benchmark\'s', () => {
    const places = new Set(admitted.map((a) => a.where));
    expect(places).toContain('README.md');
    expect(places).toContain('gateway/console/console.js');
    expect(places).toContain('test/bench/queries.ts');
    expect(admitted.length).toBeGreaterThan(40);
  });

  it('admits each within the default limits, with room to spare', () => {
    const refused: string[] = [];
    let most = { tokens: 0, cost: 0 };
    for (const { where, document, text } of admitted) {
      const broken = documentLimitBroken(schema, document, DEFAULT_LIMITS);
      const operation = getOperationAST(document)!;
      const found = { tokens: tokenCount(text), cost: cost.costOf(schema, document, operation, {}) };
      most = { tokens: Math.max(most.tokens, found.tokens), cost: Math.max(most.cost, found.cost) };
      if (broken) refused.push(`${where}: ${broken.extensions.code} for ${text.slice(0, 120)}`);
      if (found.tokens > DEFAULT_LIMITS.maxTokens) refused.push(`${where}: ${found.tokens} tokens for ${text.slice(0, 120)}`);
      if (found.cost > DEFAULT_LIMITS.maxCost) refused.push(`${where}: cost ${found.cost} for ${text.slice(0, 120)}`);
    }
    if (process.env.SHOW_COSTS) console.log(admitted.map((a) => `${cost.costOf(schema, a.document, getOperationAST(a.document)!, {})} ${a.where}`).sort((x, y) => parseInt(y) - parseInt(x)).slice(0, 12).join('\n'), most);
    expect(refused).toEqual([]);
    // Tighter defaults would do today; these leave room for the next query an app writes.
    expect(most.tokens * 2).toBeLessThan(DEFAULT_LIMITS.maxTokens);
    expect(most.cost * 2).toBeLessThan(DEFAULT_LIMITS.maxCost);
  });
});

/** A text that parses as an executable query document valid against the coalition's schema. */
function operationIn(text: string): DocumentNode | undefined {
  for (const candidate of [text, `{ ${text} }`]) {
    let document: DocumentNode;
    try {
      document = parse(candidate);
    } catch {
      continue;
    }
    if (!document.definitions.every((d) => d.kind === Kind.OPERATION_DEFINITION || d.kind === Kind.FRAGMENT_DEFINITION)) continue;
    const operation = getOperationAST(document);
    if (operation?.operation !== 'query' || operation.selectionSet.selections.every((s) => s.kind === Kind.FIELD && s.name.value === '__typename')) continue;
    if (validate(schema, document).length === 0) return document;
  }
  return undefined;
}

/** Inline code and JSON "query" strings of the README. */
function fromReadme(markdown: string): string[] {
  const inline = [...markdown.matchAll(/`([^`\n]+)`/g)].map((m) => m[1]!);
  const json = [...markdown.matchAll(/"query":"((?:[^"\\]|\\.)*)"/g)].map((m) => JSON.parse(`"${m[1]}"`) as string);
  return [...inline, ...json];
}

/** String literals and template literals of a source file, a template's substitutions read as 1. */
function stringsOf(file: string): string[] {
  const source = ts.createSourceFile(file, readFileSync(file, 'utf8'), ts.ScriptTarget.Latest, true);
  const strings: string[] = [];
  const visit = (node: ts.Node) => {
    if (ts.isStringLiteral(node) || ts.isNoSubstitutionTemplateLiteral(node)) strings.push(node.text);
    else if (ts.isTemplateExpression(node)) strings.push(node.head.text + node.templateSpans.map((s) => `1${s.literal.text}`).join(''));
    ts.forEachChild(node, visit);
  };
  visit(source);
  return strings;
}

function sourceFiles(dir: string): string[] {
  return readdirSync(dir).flatMap((name) => {
    const path = join(dir, name);
    if (statSync(path).isDirectory()) return name === 'fixtures' ? [] : sourceFiles(path);
    // The hostile operations are there to be refused.
    return /\.(ts|mjs|js)$/.test(name) && !name.startsWith('hostile-operations.') ? [path] : [];
  });
}

function tokenCount(text: string): number {
  const lexer = new Lexer(new Source(text));
  let count = 0;
  while (lexer.advance().kind !== TokenKind.EOF) count++;
  return count;
}
